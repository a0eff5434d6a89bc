import SwrunSys

/// Id-mapped bind mounts (MountIDMap), made by the parent: mount_setattr(MOUNT_ATTR_IDMAP)
/// needs CAP_SYS_ADMIN in the user namespace that owns the file system (the host's), which
/// the init no longer has once it is in its own. The parent clones the source's tree
/// (open_tree OPEN_TREE_CLONE, recursive for rbind), sets the id map on it, and hands the
/// detached tree to the init, which attaches it where it goes (RootfsSequence). runc 1.2
/// makes them in its parent the same way.
enum IDMappedMounts {
    /// The detached, id-mapped tree of `op`'s source. `pid`: the init, whose user namespace
    /// maps a mount without maps of its own; `made`: user namespaces already made for a
    /// set of maps (one per distinct set, for the whole create).
    static func tree(
        _ op: MountOp, index i: Int, source: String, recursive: Bool, pid: Int32,
        made: inout [(map: MountIDMap, ns: OwnedFD)]
    ) throws(SwrunError) -> OwnedFD {
        guard let m = op.idmap else { throw SwrunError(.system, "mounts[\(i)]: not an id-mapped mount") }
        let what = "mounts[\(i)]: id-mapped mount of \(Quote.short(source))"
        let tree = try sys(what) { try Mount.cloneTree(source, recursive: recursive) }
        let userns: Int32
        let held: OwnedFD
        if m.usesContainerNamespace {
            held = try sys(what) { try Files.open("/proc/" + Digits.decimal(pid) + "/ns/user", OpenFlags.readOnly) }
            userns = held.raw
        } else if let hit = made.first(where: { $0.map.uids == m.uids && $0.map.gids == m.gids }) {
            held = hit.ns
            userns = hit.ns.raw
        } else {
            held = try userNamespace(uids: m.uids, gids: m.gids, what: what)
            made.append((m, held))
            userns = held.raw
        }
        do {
            try Mount.setIDMap(tree.raw, userns: userns, recursive: m.recursive, display: source)
        } catch  where error.errno == Errno.EINVAL {
            throw SwrunError(
                .system, "\(what): \(error) (maybe the file system does not support id-mapped mounts on this kernel?)",
                errno: error.errno)
        } catch {
            throw SwrunError.system(error).wrapped(what)
        }
        withExtendedLifetime(held) {}
        return tree
    }

    /// A user namespace with these maps, for mount_setattr: a child cloned into a new user
    /// namespace waits while its maps are written and its namespace is opened, then goes.
    static func userNamespace(uids: [IDRange], gids: [IDRange], what: String) throws(SwrunError) -> OwnedFD {
        let hold = try sys(what) { try Files.pipe() }
        let pid = try sys(what) { try Proc.fork(namespaces: NamespaceFlag.user) }
        if pid == 0 {
            hold.write.close()
            _ = try? Files.read(hold.read.raw, max: 1, display: "pipe")
            Proc.exit(0)
        }
        hold.read.close()
        defer {
            hold.write.close()
            _ = try? Proc.waitpid(pid)
        }
        let proc = "/proc/" + Digits.decimal(pid)
        try sys("\(what): write uid_map") { try Files.writeFile(proc + "/uid_map", IDRange.mapText(uids)) }
        try sys("\(what): write gid_map") { try Files.writeFile(proc + "/gid_map", IDRange.mapText(gids)) }
        return try sys(what) { try Files.open(proc + "/ns/user", OpenFlags.readOnly) }
    }
}
