import SwrunSys

/// What one mount option does. One table for every option runc's `features` lists.
public enum MountOptionEffect: Equatable, Sendable {
    case attr(set: UInt64, clear: UInt64) // per-mount attribute, top mount only
    case recursiveAttr(set: UInt64, clear: UInt64) // r* options: mount_setattr(AT_RECURSIVE)
    case propagation(UInt64, recursive: Bool)
    case bind(recursive: Bool)
    case superblockFlag(String) // passed to the filesystem (fsconfig flag)
    case tmpcopyup
    case idmap(recursive: Bool) // MOUNT_ATTR_IDMAP, by the parent (MountIDMap)
    case ignored // defaults, remount, loud: nothing to do
}

public enum MountOptions {
    static let atimeClear = MountAttr.atimeMask

    /// What option `name` does, nil if unknown. A switch rather than a dictionary: every
    /// create would otherwise hash some 70 keys to build it for a handful of lookups.
    public static func effect(_ name: String) -> MountOptionEffect? {
        switch name {
        case "bind": return .bind(recursive: false)
        case "rbind": return .bind(recursive: true)
        case "private": return .propagation(UInt64(MountFlags.privateProp), recursive: false)
        case "rprivate": return .propagation(UInt64(MountFlags.privateProp), recursive: true)
        case "shared": return .propagation(UInt64(MountFlags.shared), recursive: false)
        case "rshared": return .propagation(UInt64(MountFlags.shared), recursive: true)
        case "slave": return .propagation(UInt64(MountFlags.slave), recursive: false)
        case "rslave": return .propagation(UInt64(MountFlags.slave), recursive: true)
        case "unbindable": return .propagation(UInt64(MountFlags.unbindable), recursive: false)
        case "runbindable": return .propagation(UInt64(MountFlags.unbindable), recursive: true)
        case "tmpcopyup": return .tmpcopyup
        case "idmap": return .idmap(recursive: false)
        case "ridmap": return .idmap(recursive: true)
        case "defaults", "remount", "loud": return .ignored
        case "sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime", "iversion", "noiversion", "silent":
            return .superblockFlag(name)
        case "acl": return .superblockFlag("posixacl")
        case "noacl": return .superblockFlag("noposixacl")
        default: break
        }
        if let (set, clear) = attr(name) { return .attr(set: set, clear: clear) }
        // "r" + a per-mount attribute: the same, applied recursively (mount_setattr AT_RECURSIVE).
        // No attribute's own name is "r" + another's, so the direct match above comes first safely.
        if name.startsWithBytes("r"), let (set, clear) = attr(String(name.dropFirst())) {
            return .recursiveAttr(set: set, clear: clear)
        }
        return nil
    }

    /// The per-mount attribute an option sets and clears.
    static func attr(_ name: String) -> (UInt64, UInt64)? {
        switch name {
        case "ro": return (MountAttr.rdonly, 0)
        case "rw": return (0, MountAttr.rdonly)
        case "nosuid": return (MountAttr.nosuid, 0)
        case "suid": return (0, MountAttr.nosuid)
        case "nodev": return (MountAttr.nodev, 0)
        case "dev": return (0, MountAttr.nodev)
        case "noexec": return (MountAttr.noexec, 0)
        case "exec": return (0, MountAttr.noexec)
        case "nodiratime": return (MountAttr.nodiratime, 0)
        case "diratime": return (0, MountAttr.nodiratime)
        case "nosymfollow": return (MountAttr.nosymfollow, 0)
        case "symfollow": return (0, MountAttr.nosymfollow)
        // atime modes are one field: setting one clears the others.
        case "noatime": return (MountAttr.noatime, atimeClear)
        case "relatime": return (MountAttr.relatime, atimeClear)
        case "strictatime": return (MountAttr.strictatime, atimeClear)
        case "atime": return (0, MountAttr.noatime)
        case "norelatime": return (MountAttr.strictatime, atimeClear)
        case "nostrictatime": return (MountAttr.relatime, atimeClear)
        default: return nil
        }
    }

    static let attrNames = [
        "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "nodiratime", "diratime",
        "nosymfollow", "symfollow", "noatime", "relatime", "strictatime", "atime", "norelatime", "nostrictatime",
    ]

    /// Every option name `effect` knows, for `features`.
    public static var names: [String] {
        let others = [
            "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
            "tmpcopyup", "idmap", "ridmap", "defaults", "remount", "loud", "sync", "async", "dirsync", "mand", "nomand",
            "lazytime",
            "nolazytime", "iversion", "noiversion", "silent", "acl", "noacl",
        ]
        return (others + attrNames + attrNames.map { "r" + $0 }).sorted()
    }
}
