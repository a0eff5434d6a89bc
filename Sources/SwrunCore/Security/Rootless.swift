import OCISpec
import SwrunSys

/// Who swrun runs as, and what follows from it: runc's rootless rules. swrun is "rootless"
/// unless it is the host's root (effective uid 0 in the initial user namespace): an
/// unprivileged user (runc's RootlessEUID), or root inside a user namespace (rootless
/// Podman, rootlesskit), whose "root" has no privilege over the host's cgroups, devices or
/// id ranges beyond what that namespace maps.
public struct Identity: Sendable, Equatable {
    public var euid: UInt32
    public var egid: UInt32
    /// swrun runs in a user namespace other than the host's (its uid_map is not the
    /// identity map "0 0 4294967295").
    public var inUserNamespace: Bool
    /// The host's uid of our effective uid (our uid_map read backwards): what a D-Bus peer
    /// outside our user namespace sees us as. Our euid where there is no user namespace.
    public var outsideUid: UInt32

    public init(euid: UInt32, egid: UInt32, inUserNamespace: Bool, outsideUid: UInt32? = nil) {
        self.euid = euid
        self.egid = egid
        self.inUserNamespace = inUserNamespace
        self.outsideUid = outsideUid ?? euid
    }

    /// Effective uid 0 in the host's user namespace: every other identity is rootless.
    public var isHostRoot: Bool { euid == 0 && !inUserNamespace }
    /// runc's RootlessEUID: an unprivileged user, whatever namespace it is in.
    public var rootlessEUID: Bool { euid != 0 }

    /// This process's identity, read once per process.
    public static let current: Identity = {
        let map = (try? Files.readString("/proc/self/uid_map")) ?? ""
        let euid = Creds.geteuid()
        return Identity(
            euid: euid, egid: Creds.getegid(), inUserNamespace: !isIdentityMap(map),
            outsideUid: IDMapText.outside(map, euid))
    }()

    /// "0 0 4294967295" (spaces as the kernel pads them), the initial user namespace's map.
    /// An unreadable or empty map (no procfs) counts as the host's: nothing to adapt to.
    public static func isIdentityMap(_ text: String) -> Bool {
        let lines = IDMapText.parse(text)
        return lines.isEmpty || lines == [IDRange(containerID: 0, hostID: 0, size: UInt32.max)]
    }

    /// runc's shouldHonorXDGRuntimeDir: an unprivileged user, or root in a user namespace
    /// that is not the user "root" (rootless Podman keeps $USER), keeps its state under
    /// $XDG_RUNTIME_DIR; the host's root keeps /run/swrun even where XDG_RUNTIME_DIR is set
    /// (/run/user/0), as runc does.
    public func honorsXDGRuntimeDir(user: String?) -> Bool {
        if euid != 0 { return true }
        if !inUserNamespace { return false }
        return user != "root"
    }

    /// runc's shouldUseRootlessCgroupManager for `--rootless auto`: anyone but the host's
    /// root may find the cgroup hierarchies unwritable and goes on without them (cgroupfs),
    /// or talks to its own systemd instance. Root in a user namespace using the systemd
    /// driver is rootless when the manager it reaches is not root's (runc asks busctl for
    /// the bus owner; swrun reads it from where the bus is: DBusEndpoint).
    public func rootlessCgroups(_ flag: RootlessFlag) -> Bool {
        switch flag {
        case .yes: return true
        case .no: return false
        case .auto: return !isHostRoot
        }
    }
}

/// The global --rootless: true, false or auto (runc's parseBoolOrAuto).
public enum RootlessFlag: Sendable, Equatable {
    case yes, no, auto

    public static func parse(_ s: String?) -> RootlessFlag? {
        switch s {
        case nil, "auto"?, ""?: return .auto
        case "true"?, "1"?, "t"?, "T"?, "TRUE"?, "True"?: return .yes
        case "false"?, "0"?, "f"?, "F"?, "FALSE"?, "False"?: return .no
        default: return nil
        }
    }
}

/// uid_map and gid_map text: "inside outside count" lines.
public enum IDMapText {
    /// By bytes: every create reads /proc/self/uid_map (Identity.current), and Character
    /// walks over it would map more of the standard library's text on the start path.
    public static func parse(_ text: String) -> [IDRange] {
        var out: [IDRange] = []
        ByteText.forEachLine(Array(text.utf8)) { line in
            let f = MountInfo.words(line, separator: UInt8(ascii: " "))
            guard f.count == 3, let c = UserDB.decimal(f[0]), let h = UserDB.decimal(f[1]), let n = UserDB.decimal(f[2])
            else { return }
            out.append(IDRange(containerID: c, hostID: h, size: n))
        }
        return out
    }

    /// The outside id of `inside` under `text`'s map; nil where it is not mapped (or the
    /// map cannot be read: then the id is taken to be the host's own).
    public static func outside(_ text: String, _ inside: UInt32) -> UInt32? {
        let ranges = parse(text)
        if ranges.isEmpty { return inside }
        for r in ranges
        where UInt64(inside) >= UInt64(r.containerID) && UInt64(inside) < UInt64(r.containerID) + UInt64(r.size) {
            return UInt32(UInt64(r.hostID) + UInt64(inside) - UInt64(r.containerID))
        }
        return nil
    }
}
