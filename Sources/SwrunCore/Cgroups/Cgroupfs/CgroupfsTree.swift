import OCISpec
import SwrunSys

/// How a new process enters the container's cgroups without the kernel's global
/// threadgroup lock. Writing a pid to cgroup.procs (or to v1 `tasks`) takes that lock for
/// writing, and its write side waits for an RCU grace period: 5 to 10 ms on this class of
/// machine, more than the rest of `swrun run` (docs/performance.md). Two ways skip it:
/// - v1: the process writes "0" to `<dir>/tasks` itself. Moving only the calling thread
///   needs no threadgroup stability, so the kernel takes no global lock; the descriptors
///   are opened here, by the parent, so that the kernel checks the opener's credentials
///   (the child may already be in its own user namespace).
/// - v2: clone3 CLONE_INTO_CGROUP with `v2`'s directory (fork takes the lock for reading);
///   where the kernel cannot, the parent falls back to a cgroup.procs write.
/// A systemd scope is made with the process already in it: its placement is empty.
public final class CgroupPlacement {
    /// v1 `tasks` files, open for writing; the freezer last, so that a process joining a
    /// frozen container has joined every other hierarchy before it stops.
    public let tasks: [(fd: OwnedFD, dir: String)]
    /// The cgroup2 directory, if one of the leaves is in the unified hierarchy.
    public let v2: String?
    public let v2Fd: OwnedFD?

    init(tasks: [(fd: OwnedFD, dir: String)] = [], v2: String? = nil, v2Fd: OwnedFD? = nil) {
        self.tasks = tasks
        self.v2 = v2
        self.v2Fd = v2Fd
    }

    /// Parent side, after the clone: the child holds its own copies.
    public func closeTasks() { for t in tasks { t.fd.close() } }

    /// Child side: this process (single-threaded) writes "0" to each v1 `tasks` file it was
    /// given, then closes them.
    public static func joinSelf(_ tasks: [(fd: OwnedFD, dir: String)]) throws(SwrunError) {
        for t in tasks {
            try sys("join cgroup \(t.dir)") { try Files.writeAll(fd: t.fd.raw, "0", path: t.dir + "/tasks") }
            t.fd.close()
        }
    }
}

/// Directory operations on cgroupfs, shared by the cgroupfs v1 and v2 drivers and by the
/// systemd driver's cgroup: make, place, list, signal, remove. Only directories swrun made
/// are ever removed, and nothing outside them is written.
enum CgroupfsTree {
    /// Creates `dirs` and returns every directory that did not exist before, outermost first.
    /// The caller records the list *before* calling (crash safety): see Launcher.
    /// `cpusetMounts`: the v1 cpuset hierarchy's mount point, whose new levels need their
    /// cpus and mems filled.
    static func create(_ dirs: [String], cpusetMount: String?) throws(SwrunError) -> [String] {
        var created: [String] = []
        for dir in dirs {
            let made = try sys("create cgroup \(dir)") { try Files.mkdirAll(dir) }
            created += made
            if let m = cpusetMount, dir.startsWithBytes(m + "/") { try initCpuset(ancestors(of: dir, below: m)) }
        }
        return created
    }

    /// `dir` and each of its parents below `mountpoint`, outermost first.
    static func ancestors(of dir: String, below mountpoint: String) -> [String] {
        var out: [String] = []
        var d = dir
        while d.startsWithBytes(mountpoint + "/") {
            out.insert(d, at: 0)
            d = String(d[..<(d.lastIndex(of: "/") ?? d.startIndex)])
        }
        return out
    }

    /// A new v1 cpuset cgroup starts with empty cpus/mems and rejects tasks until filled:
    /// copy the parent's, level by level from the top (runc's ensureParent), including
    /// levels another container made concurrently and has not filled yet.
    static func initCpuset(_ made: [String]) throws(SwrunError) {
        for dir in made {
            let parent = String(dir[..<(dir.lastIndex(of: "/") ?? dir.endIndex)])
            for file in ["cpuset.cpus", "cpuset.mems"] {
                guard let cur = try? Files.readString(dir + "/" + file), trimWhitespace(cur).isEmpty,
                    let val = try? Files.readString(parent + "/" + file)
                else { continue }
                try sys("initialise \(dir)/\(file)") { try Files.writeFile(dir + "/" + file, trimWhitespace(val)) }
            }
        }
    }

    /// The directories mkdir -p would create for `leaves`, outermost first. A hierarchy's
    /// mount point exists and is not asked (one access(2) per hierarchy less when the
    /// container's cgroup sits right under it).
    static func missingDirectories(_ leaves: [String], mounted: [String] = []) -> [String] {
        var out: [String] = []
        for leaf in leaves {
            var missing: [String] = []
            var dir = leaf
            while !dir.isEmpty, dir != "/", !mounted.contains(dir), !Files.exists(dir) {
                missing.insert(dir, at: 0)
                dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
            }
            out += missing
        }
        return out
    }

    /// Rootless: 0 when this process can make `leaf` and place a process in it, else the
    /// errno that says why not (EACCES, EPERM, EROFS). The nearest existing directory on the
    /// way must be writable (to make the rest), or the leaf's own `procsFile` (`tasks` on
    /// v1, `cgroup.procs` on v2) where it exists. On v2 the kernel also asks for write access
    /// to cgroup.procs of the common ancestor of where the process is (`own`, this process's
    /// cgroup) and where it goes; `own` is nil on v1, which does not.
    static func rootlessAccess(_ leaf: String, procsFile: String, own: String?) -> Int32 {
        var dir = leaf
        while !dir.isEmpty, dir != "/", !Files.exists(dir) {
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
        }
        if dir.isEmpty || dir == "/" { return Errno.ENOENT }
        let e = dir == leaf ? Files.writeAccess(leaf + "/" + procsFile) : Files.writeAccess(dir)
        if e != 0 { return e }
        guard let own else { return 0 }
        return Files.writeAccess(commonAncestor(own, leaf) + "/cgroup.procs")
    }

    /// The deepest directory both paths are in (by components).
    static func commonAncestor(_ a: String, _ b: String) -> String {
        let x = a.split(separator: "/"), y = b.split(separator: "/")
        var n = 0
        while n < x.count, n < y.count, x[n] == y[n] { n += 1 }
        return "/" + x.prefix(n).joined(separator: "/")
    }

    /// Opens what `CgroupPlacement` needs for `dirs` (one per hierarchy). `v2Dir`: which of
    /// them is the unified hierarchy's; every other one is a v1 hierarchy with a `tasks`
    /// file. `freezer`: the v1 freezer's, joined last.
    static func placement(_ dirs: [String], v2Dir: String?, freezer: String?) throws(SwrunError) -> CgroupPlacement {
        var tasks: [(fd: OwnedFD, dir: String)] = [], last: [(fd: OwnedFD, dir: String)] = []
        for dir in dirs where dir != v2Dir {
            let fd = try sys("join cgroup \(dir)") { try Files.open(dir + "/tasks", OpenFlags.writeOnly) }
            if dir == freezer { last.append((fd, dir)) } else { tasks.append((fd, dir)) }
        }
        let v2Fd = try v2Dir.map { d throws(SwrunError) in
            try sys("open cgroup \(d)") { try Files.open(d, OpenFlags.readOnly | OpenFlags.directory) }
        }
        return CgroupPlacement(tasks: tasks + last, v2: v2Dir, v2Fd: v2Fd)
    }

    /// `pid` into `dir` (cgroup.procs): where clone3 could not place a process.
    static func join(_ dir: String, pid: Int32) throws(SwrunError) {
        try sys("join cgroup \(dir)") {
            try Files.writeFile(dir + "/cgroup.procs", String(pid), flags: OpenFlags.writeOnly)
        }
    }

    static func pids(_ dir: String) -> [Int32] {
        guard let s = try? Files.readString(dir + "/cgroup.procs") else { return [] }
        return s.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Every process in the container's cgroups (the first hierarchy that lists any).
    static func allPids(_ dirs: [String]) -> [Int32] {
        for d in dirs {
            let p = pids(d)
            if !p.isEmpty { return p }
        }
        return []
    }

    /// Sends `sig` to every process in `dirs`; `v2Kill`: a cgroup2 directory whose
    /// cgroup.kill takes SIGKILL for the whole subtree at once (kernel 5.14+).
    static func signalAll(_ dirs: [String], _ sig: Int32, v2Kill: String?) throws(SwrunError) {
        if sig == Signals.kill, let v2 = v2Kill, Files.exists(v2 + "/cgroup.kill") {
            try sys("kill cgroup \(v2)") { try Files.writeFile(v2 + "/cgroup.kill", "1", flags: OpenFlags.writeOnly) }
        }
        for pid in allPids(dirs) { _ = try? Proc.kill(pid, sig) }
    }

    /// v1 freezer.state: FROZEN, FREEZING or THAWED.
    static func v1FreezerState(_ dir: String) -> String? {
        (try? Files.readSmall(dir + "/freezer.state")).map { trimWhitespace(String(decoding: $0, as: UTF8.self)) }
    }

    /// v2 cgroup.freeze, as the v1 freezer would say it.
    static func v2FreezerState(_ dir: String) -> String? {
        (try? Files.readSmall(dir + "/cgroup.freeze")).map { $0.first == UInt8(ascii: "1") ? "FROZEN" : "THAWED" }
    }

    static func freezeV1(_ d: String, _ frozen: Bool) throws(SwrunError) {
        try sys("freeze \(d)") { try Files.writeFile(d + "/freezer.state", frozen ? "FROZEN" : "THAWED") }
        // The v1 freezer moves through FREEZING; wait until it settles.
        for _ in 0..<500 {
            if v1FreezerState(d) == (frozen ? "FROZEN" : "THAWED") { return }
            Proc.sleep(milliseconds: 2)
        }
        throw SwrunError(.system, "freeze \(d): state did not settle")
    }

    static func freezeV2(_ d: String, _ frozen: Bool) throws(SwrunError) {
        try sys("freeze \(d)") { try Files.writeFile(d + "/cgroup.freeze", frozen ? "1" : "0") }
        // cgroup.events says when every task has actually stopped (or runs again).
        for _ in 0..<1000 {
            let events = (try? Files.readString(d + "/cgroup.events")) ?? ""
            if events.split(separator: "\n").contains(Substring(frozen ? "frozen 1" : "frozen 0")) { return }
            Proc.sleep(milliseconds: 2)
        }
        throw SwrunError(.system, "freeze \(d): cgroup.events did not report frozen \(frozen ? 1 : 0)")
    }

    /// Thaws (whichever freezer `dir` has) and kills what is in `dir`.
    static func thawAndKill(_ dirs: [String], v2Kill: String?) {
        for d in dirs {
            if v1FreezerState(d) == "FROZEN" { try? freezeV1(d, false) }
            if v2FreezerState(d) == "FROZEN" { try? freezeV2(d, false) }
        }
        try? signalAll(dirs, Signals.kill, v2Kill: v2Kill)
    }

    /// Removes every cgroup below `dir` (not `dir` itself), deepest first, killing what runs
    /// in each. Only directories are cgroups in cgroupfs; nothing is followed.
    static func removeChildren(_ dir: String, depth: Int, failures: inout [String]) {
        guard depth < 64, let names = try? Files.listDirectory(dir) else { return }
        for name in names {
            let child = dir + "/" + name
            guard let st = try? Files.lstat(child), st.isDirectory else { continue }
            removeChildren(child, depth: depth + 1, failures: &failures)
            thawAndKill([child], v2Kill: child)
            if let e = rmdirWaiting(child, killEvery: 1) { failures.append(e.description) }
        }
    }

    /// rmdir, retried while the kernel reaps what was in the cgroup (about a second);
    /// what is left is killed every `killEvery` tries. nil once it is gone.
    static func rmdirWaiting(_ dir: String, killEvery: Int) -> SyscallError? {
        var last: SyscallError?
        for attempt in 0..<200 {
            do {
                try Files.rmdir(dir)
                return nil
            } catch {
                if error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR { return nil }
                last = error
                if attempt % killEvery == 0 { for pid in pids(dir) { _ = try? Proc.kill(pid, Signals.kill) } }
                Proc.sleep(milliseconds: 5)
            }
        }
        return last
    }

    /// runc's checks before a process is placed in the container's cgroups: a frozen cgroup
    /// would freeze the init before it can answer (create would wait forever) and is
    /// refused; one that already holds processes gets runc's warning.
    static func checkBeforePlacement(_ dirs: [String], frozen: Bool) throws(SwrunError) {
        if frozen { throw SwrunError(.system, "container's cgroup unexpectedly frozen") }
        let present = allPids(dirs)
        if !present.isEmpty { Log.warning("container's cgroup is not empty: \(present.count) process(es) found") }
    }

    /// Removes the container's cgroups: kills what is left, rmdirs each leaf (retrying while
    /// the kernel reaps), then the parents swrun created (only if they are empty).
    /// A leaf that existed before the container (a cgroupsPath naming an existing cgroup) is
    /// neither emptied nor removed: swrun only removes what it created.
    static func destroy(leaves: [String], created: [String], v2Kill: String?) throws(SwrunError) {
        var failures: [String] = []
        // The common case first: the container's processes are gone and each leaf goes with
        // one rmdir (which fails with EBUSY while a task is left, so nothing live is lost).
        // Only leaves still busy are thawed, killed and retried below.
        var existing: [String] = []
        for leaf in leaves where created.contains(leaf) { // a dozen at most: no Set
            do { try Files.rmdir(leaf) } catch {
                // Only a busy cgroup (tasks or child cgroups left) is worth waiting for. One
                // that never existed (a cgroupsPath the kernel refused, or one through a
                // file) is gone already; anything else is reported at once.
                switch error.errno {
                case Errno.ENOENT, Errno.ENOTDIR: continue
                case Errno.EBUSY, Errno.ENOTEMPTY: existing.append(leaf)
                default: failures.append(error.description)
                }
            }
        }
        if !existing.isEmpty { thawAndKill(existing, v2Kill: existing.contains(v2Kill ?? "") ? v2Kill : nil) }
        for leaf in existing {
            // Cgroups made inside the container's (a nested runtime, systemd in a container)
            // go first, deepest first, as runc removes them; a leaf with children cannot go.
            removeChildren(leaf, depth: 0, failures: &failures)
            if let e = rmdirWaiting(leaf, killEvery: 20) { failures.append(e.description) }
        }
        for dir in created.reversed() where !leaves.contains(dir) {
            do { try Files.rmdir(dir) } catch {
                // A parent shared with other containers stays; only report real failures.
                if ![Errno.ENOENT, Errno.ENOTDIR, Errno.EBUSY, Errno.ENOTEMPTY].contains(error.errno) {
                    failures.append(error.description)
                }
            }
        }
        if !failures.isEmpty { throw SwrunError(.system, "remove cgroups: " + failures.joinedText("; ")) }
    }
}
