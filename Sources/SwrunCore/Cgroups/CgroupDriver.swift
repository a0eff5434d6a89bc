import OCISpec
import SwrunSys

/// Which driver manages a container's cgroups. Chosen at create, recorded in the state, and
/// used by every later verb: nothing after create tells drivers apart by probing files.
public enum CgroupDriverKind: String, Sendable {
    /// cgroupfs on a v1 host: one directory per controller hierarchy, plus the cgroup2
    /// unified mount's on a hybrid host (/sys/fs/cgroup/unified).
    case cgroupfsV1 = "cgroupfs-v1"
    /// cgroupfs on a pure cgroup v2 host: one directory.
    case cgroupfsV2 = "cgroupfs-v2"
    /// A transient systemd scope (StartTransientUnit, Delegate=yes) on a pure cgroup v2
    /// host, as runc's and crun's --systemd-cgroup.
    case systemd
}

/// The container's cgroups as its record names them: enough for every verb after create to
/// act without rediscovering the host.
public struct CgroupHandle: Equatable, Sendable {
    public var driver: CgroupDriverKind
    /// One directory per hierarchy, in the order of the host's CgroupLayout at create.
    public var leaves: [String]
    /// Every directory swrun made, outermost first (recorded before it is made).
    public var created: [String]
    /// cgroupfs v1: the freezer hierarchy's leaf (status and pause read only it).
    public var freezer: String?
    /// The unified hierarchy's leaf (hybrid v1: where there is one).
    public var unified: String?
    /// systemd: the unit ("prefix-name.scope", or a slice).
    public var unit: String?
    /// Rootless (--rootless, Identity.rootlessCgroups): the leaves of `leaves` this user
    /// could not make or join, left out as runc leaves them out (no cgroupsPath given, the
    /// hierarchy not writable); nothing is made, joined, written, frozen or removed there.
    public var skipped: [String]
    /// Made by a rootless swrun: device rules are not applied (an unprivileged user can
    /// neither write v1 devices files nor attach a BPF program; its container's devices
    /// are the host's nodes, bound with the host's permissions), as runc ignores them.
    public var rootless: Bool
    /// systemd: the unit existed before the container (runc joins an existing scope): the
    /// container's init is placed in its cgroup and the config's limits are set on it, but
    /// it is never stopped and its cgroup never removed by swrun, since it is not swrun's.
    public var joinedUnit = false

    public init(
        driver: CgroupDriverKind, leaves: [String] = [], created: [String] = [], freezer: String? = nil,
        unified: String? = nil, unit: String? = nil,
        skipped: [String] = [], rootless: Bool = false
    ) {
        self.driver = driver
        self.leaves = leaves
        self.created = created
        self.freezer = freezer
        self.unified = unified
        self.unit = unit
        self.skipped = skipped
        self.rootless = rootless
    }

    /// The leaves swrun manages: `leaves` without the skipped ones.
    public var active: [String] { skipped.isEmpty ? leaves : leaves.filter { !skipped.contains($0) } }
    /// Whether the container has a cgroup of its own at all (a rootless one may have none:
    /// then it is found through its init, RuntimeProcesses).
    public var hasCgroup: Bool { !active.isEmpty }
}

/// A container's cgroups, whichever way they are managed. A create walks the first three
/// calls in order; every later verb uses the rest on a driver made from the record
/// (`CgroupDrivers.attach`).
public protocol CgroupDriver {
    var handle: CgroupHandle { get }

    /// Before the init is cloned: make the cgroup and write its limits (cgroupfs); nothing
    /// for systemd, whose scope is made with the init in it. `handle.created` has been
    /// recorded by the caller before this runs (crash safety).
    func create(_ r: LinuxResources) throws(SwrunError)
    /// What the clone places a new process with (`dirs`: the leaves, or the sub-cgroups
    /// `exec --cgroup` names).
    func placement(_ dirs: [String]) throws(SwrunError) -> CgroupPlacement
    /// After the init's clone, before it goes on: where the clone could not place it, the
    /// parent does (cgroupfs); systemd starts the scope with the init in it, waits for the
    /// job and writes what systemd does not manage.
    /// `v2Left`: the cgroup2 directory the clone could not place it in (old kernels).
    func adopt(pid: Int32, v2Left: String?, resources: LinuxResources) throws(SwrunError)
    /// After an exec'd process's clone: the same for it.
    func join(pid: Int32, v2Left: String?) throws(SwrunError)

    func freeze(_ frozen: Bool) throws(SwrunError)
    /// FROZEN, FREEZING or THAWED; nil where there is no freezer.
    func freezerState() -> String?
    func signalAll(_ sig: Int32) throws(SwrunError)
    func pids() -> [Int32]
    /// `update`: new limits on a live container.
    func update(_ r: LinuxResources) throws(SwrunError)
    /// `events --stats`, in runc's shape (types.Stats).
    func stats() -> JSON
    /// The OOM killer's count for the container's memory cgroup.
    func oomKills() -> UInt64
    /// The files whose modification the kernel notifies (inotify) when that count may have
    /// changed: v2's memory.events. Empty on v1, which is polled.
    var oomEventFiles: [String] { get }
    /// Kills what is left and removes what create made (idempotent: a second call after
    /// an interrupted one finishes it).
    func destroy() throws(SwrunError)
}

/// Choosing a driver at create, and making one from a record.
public enum CgroupDrivers {
    /// The driver a create uses on this host: systemd when asked (--systemd-cgroup), else
    /// cgroupfs v2 on a pure v2 host and v1 elsewhere.
    /// `rootless`: runc's rootless cgroup manager (Identity.rootlessCgroups): hierarchies
    /// this user cannot write are left out when no cgroupsPath was given, and the limits
    /// that would need them are refused here, before anything exists.
    public static func forCreate(
        layout: CgroupLayout, systemd: Bool, cgroupsPath: String?, id: String,
        rootless: Bool = false, resources: LinuxResources? = nil
    ) throws(SwrunError) -> any CgroupDriver {
        if systemd {
            return try SystemdDriver(layout: layout, cgroupsPath: cgroupsPath, id: id, rootless: rootless)
        }
        let leaves = try layout.directories(cgroupsPath: cgroupsPath, id: id)
        // runc: only a container without a cgroupsPath may go without its cgroups (one that
        // names its cgroup fails as root would, with the kernel's reason).
        let mayskip = rootless && (cgroupsPath ?? "").isEmpty
        if layout.isPureV2 {
            let d = CgroupfsV2Driver(
                leaf: leaves[0], created: nil, rootless: rootless, mayskip: mayskip, layout: layout)
            try d.checkRootless(resources ?? LinuxResources())
            return d
        }
        let d = CgroupfsV1Driver(layout: layout, leaves: leaves, rootless: rootless, mayskip: mayskip)
        try d.checkRootless(resources ?? LinuxResources())
        return d
    }

    /// The driver of a container, from its record.
    public static func attach(_ h: CgroupHandle) -> any CgroupDriver {
        switch h.driver {
        case .cgroupfsV1: return CgroupfsV1Driver(handle: h)
        case .cgroupfsV2: return CgroupfsV2Driver(handle: h)
        case .systemd: return SystemdDriver(handle: h)
        }
    }

    /// Whether the container is frozen, for status: read through `read(base, rest)` (list
    /// opens each cgroup's parent once). A v1 freezer only reports FROZEN once every task
    /// is frozen, and a frozen task reports uninterruptible sleep ('D') in /proc/<pid>/stat
    /// (the kernel says so of frozen tasks since the 6.1 freezer, and its refrigerator
    /// slept that way before): with the init in any other state `list` spares the read.
    static func isFrozen(_ h: CgroupHandle, initState: UInt8, read: (String, String) -> [UInt8]?) -> Bool {
        func at(_ leaf: String, _ file: String) -> [UInt8]? {
            let slash = leaf.lastIndex(of: "/") ?? leaf.startIndex
            return read(String(leaf[..<slash]), String(leaf[leaf.index(after: slash)...]) + "/" + file)
        }
        switch h.driver {
        case .cgroupfsV1:
            guard let f = h.freezer, initState == UInt8(ascii: "D"), let b = at(f, "freezer.state") else {
                return false
            }
            return trimWhitespace(String(decoding: b, as: UTF8.self)) == "FROZEN"
        case .cgroupfsV2, .systemd:
            guard let leaf = h.leaves.first, !h.skipped.contains(leaf), let b = at(leaf, "cgroup.freeze") else {
                return false
            }
            return b.first == UInt8(ascii: "1")
        }
    }
}
