import SwrunSys

/// What one mount option does. One table for every option runc's `features` lists.
public enum MountOptionEffect: Equatable, Sendable {
    case attr(set: UInt64, clear: UInt64)           // per-mount attribute, top mount only
    case recursiveAttr(set: UInt64, clear: UInt64)  // r* options: mount_setattr(AT_RECURSIVE)
    case propagation(UInt64, recursive: Bool)
    case bind(recursive: Bool)
    case superblockFlag(String)                     // passed to the filesystem (fsconfig flag)
    case tmpcopyup
    case ignored                                    // defaults, remount, loud: nothing to do
}

public enum MountOptions {
    static let atimeClear = MountAttr.atimeMask

    public static let table: [String: MountOptionEffect] = {
        var t: [String: MountOptionEffect] = [
            "bind": .bind(recursive: false), "rbind": .bind(recursive: true),
            "private": .propagation(UInt64(MountFlags.privateProp), recursive: false),
            "rprivate": .propagation(UInt64(MountFlags.privateProp), recursive: true),
            "shared": .propagation(UInt64(MountFlags.shared), recursive: false),
            "rshared": .propagation(UInt64(MountFlags.shared), recursive: true),
            "slave": .propagation(UInt64(MountFlags.slave), recursive: false),
            "rslave": .propagation(UInt64(MountFlags.slave), recursive: true),
            "unbindable": .propagation(UInt64(MountFlags.unbindable), recursive: false),
            "runbindable": .propagation(UInt64(MountFlags.unbindable), recursive: true),
            "tmpcopyup": .tmpcopyup,
            "defaults": .ignored, "remount": .ignored, "loud": .ignored,
            "sync": .superblockFlag("sync"), "async": .superblockFlag("async"),
            "dirsync": .superblockFlag("dirsync"), "mand": .superblockFlag("mand"),
            "nomand": .superblockFlag("nomand"), "lazytime": .superblockFlag("lazytime"),
            "nolazytime": .superblockFlag("nolazytime"), "iversion": .superblockFlag("iversion"),
            "noiversion": .superblockFlag("noiversion"), "silent": .superblockFlag("silent"),
            "acl": .superblockFlag("posixacl"), "noacl": .superblockFlag("noposixacl"),
        ]
        let pairs: [(String, String, UInt64)] = [
            ("ro", "rw", MountAttr.rdonly), ("nosuid", "suid", MountAttr.nosuid),
            ("nodev", "dev", MountAttr.nodev), ("noexec", "exec", MountAttr.noexec),
            ("nodiratime", "diratime", MountAttr.nodiratime), ("nosymfollow", "symfollow", MountAttr.nosymfollow),
        ]
        for (on, off, bit) in pairs {
            t[on] = .attr(set: bit, clear: 0)
            t[off] = .attr(set: 0, clear: bit)
            t["r" + on] = .recursiveAttr(set: bit, clear: 0)
            t["r" + off] = .recursiveAttr(set: 0, clear: bit)
        }
        // atime modes are one field: setting one clears the others.
        let atimes: [(String, UInt64)] = [("noatime", MountAttr.noatime), ("relatime", MountAttr.relatime), ("strictatime", MountAttr.strictatime)]
        for (name, bit) in atimes {
            t[name] = .attr(set: bit, clear: atimeClear)
            t["r" + name] = .recursiveAttr(set: bit, clear: atimeClear)
        }
        t["atime"] = .attr(set: 0, clear: MountAttr.noatime)
        t["ratime"] = .recursiveAttr(set: 0, clear: MountAttr.noatime)
        t["norelatime"] = .attr(set: MountAttr.strictatime, clear: atimeClear)
        t["rnorelatime"] = .recursiveAttr(set: MountAttr.strictatime, clear: atimeClear)
        t["nostrictatime"] = .attr(set: MountAttr.relatime, clear: atimeClear)
        t["rnostrictatime"] = .recursiveAttr(set: MountAttr.relatime, clear: atimeClear)
        return t
    }()

    /// Every option name the table knows, for `features`.
    public static var names: [String] { table.keys.sorted() }
}
