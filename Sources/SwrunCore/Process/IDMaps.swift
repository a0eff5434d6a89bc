import SwrunSys

/// The id maps of a container's new user namespace, written by the parent before the init
/// goes on (runc's nsexec rules):
/// - the host's root writes uid_map and gid_map itself, any ranges;
/// - anyone else writes them itself where the kernel lets it (its own id, or ranges its own
///   user namespace maps, for root inside one) and otherwise runs newuidmap/newgidmap,
///   the setuid tools of Debian's uidmap package, which map the ranges /etc/subuid and
///   /etc/subgid give the user;
/// - an unprivileged user that maps only its own gid writes "deny" to setgroups first: the
///   kernel allows that gid_map only then (runc does the same; newgidmap decides by itself).
enum IDMaps {
    /// A gid map of one id, the creator's own: setgroups has to be denied in the namespace.
    static func deniesSetgroups(_ gids: [IDRange], egid: UInt32) -> Bool {
        gids.count == 1 && gids[0].hostID == egid && gids[0].size == 1
    }

    static func write(pid: Int32, plan: LaunchPlan) throws(SwrunError) {
        let creator = plan.creator
        try writeMap(pid, "uid_map", plan.uidMappings, tool: "newuidmap", creator: creator)
        if creator.rootlessEUID && deniesSetgroups(plan.gidMappings, egid: creator.egid) {
            try sys("write /proc/\(pid)/setgroups") { try Files.writeFile("/proc/\(pid)/setgroups", "deny") }
        }
        try writeMap(pid, "gid_map", plan.gidMappings, tool: "newgidmap", creator: creator)
    }

    /// Writes one map directly; where that is not permitted to a creator other than the
    /// host's root, runs `tool` for it.
    static func writeMap(_ pid: Int32, _ file: String, _ ranges: [IDRange], tool: String, creator: Identity)
        throws(SwrunError)
    {
        let path = "/proc/\(pid)/\(file)"
        let denied: SyscallError
        do {
            try Files.writeFile(path, IDRange.mapText(ranges))
            return
        } catch  where !creator.isHostRoot && error.errno == Errno.EPERM {
            denied = error
        } catch {
            throw SwrunError.system(error).wrapped("write \(file)")
        }
        let field = file == "uid_map" ? "linux.uidMappings" : "linux.gidMappings"
        guard let toolPath = Tools.find(tool) else {
            throw SwrunError(
                .system,
                "write \(file): \(denied) (swrun runs as uid \(creator.euid): \(field) \(IDRange.describe(ranges)) maps more than its own id, "
                    + "which needs \(tool) in PATH (Debian's uidmap package) and a range in /etc/sub\(file == "uid_map" ? "uid" : "gid"))",
                errno: denied.errno)
        }
        var args = [tool, String(pid)]
        for r in ranges { args += [String(r.containerID), String(r.hostID), String(r.size)] }
        Log.debug("\(file): \(args.joinedText(" "))")
        let (status, output) = try Tools.run(toolPath, args)
        guard status == .exited(0) else {
            let how: String
            switch status {
            case .exited(let c): how = "exit status \(c)"
            case .signaled(let s): how = "killed by signal \(s)"
            }
            throw SwrunError(
                .system,
                "\(tool) \(Array(args.dropFirst()).joinedText(" ")) (\(field)): \(how)"
                    + (output.isEmpty ? "" : ": \(output)"), errno: Errno.EPERM)
        }
    }
}

/// The maps of an existing user namespace (linux.namespaces[].path of type user): read at
/// /proc/<pid>/ where the path names a process's namespace (runc's fast path), else by a
/// short-lived child that joins the namespace and reads its own maps.
enum UserNamespaceMaps {
    static func read(_ path: String) throws(SwrunError) -> (uids: [IDRange], gids: [IDRange]) {
        if let pid = procPid(path),
            let u = try? Files.readString("/proc/\(pid)/uid_map"), let g = try? Files.readString("/proc/\(pid)/gid_map")
        {
            return (IDMapText.parse(u), IDMapText.parse(g))
        }
        let text = try readByJoining(path)
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw SwrunError.config("linux.namespaces: user namespace \(path): \(text)") }
        return (IDMapText.parse(String(parts[0])), IDMapText.parse(String(parts[1])))
    }

    /// The pid of "/proc/<pid>/ns/user", nil for any other path.
    static func procPid(_ path: String) -> Int32? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "proc", parts[3] == "ns", parts[4] == "user",
            parts[2].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let pid = Int32(parts[2]), pid > 0
        else { return nil }
        return pid
    }

    /// uid_map, NUL, gid_map as a process inside the namespace reads them; an error's text
    /// (without a NUL) when it could not join.
    static func readByJoining(_ path: String) throws(SwrunError) -> String {
        let ns = try sys("linux.namespaces: open user namespace") { try Files.open(path, OpenFlags.readOnly) }
        let pipe = try sys("linux.namespaces: pipe") { try Files.pipe() }
        let pid = try sys("linux.namespaces: read the maps of \(path)") { try Proc.fork(namespaces: 0) }
        if pid == 0 {
            pipe.read.close()
            var out = ""
            do {
                try Namespaces.setns(ns.raw, NamespaceFlag.user, display: path)
                out = try Files.readString("/proc/self/uid_map") + "\u{0}" + Files.readString("/proc/self/gid_map")
            } catch {
                out = "cannot read its id maps: \(error)"
            }
            _ = try? Files.writeAll(fd: pipe.write.raw, out)
            Proc.exit(0)
        }
        pipe.write.close()
        let bytes = (try? Files.readAll(fd: pipe.read.raw, max: 65536, display: path)) ?? []
        _ = try? Proc.waitpid(pid)
        return String(decoding: bytes, as: UTF8.self)
    }
}
