import OCISpec
import SwrunSys

/// One mounted cgroup hierarchy: a v1 controller hierarchy (`/sys/fs/cgroup/memory`) or the
/// v2 unified one (`/sys/fs/cgroup` on pure v2, `/sys/fs/cgroup/unified` on hybrid hosts).
public struct CgroupHierarchy: Equatable, Sendable {
    public var mountpoint: String
    public var root: String          // the mount's root within the hierarchy (field 4 of mountinfo)
    public var controllers: [String] // v1 controllers ("cpu", "cpuacct"); empty for v2
    public var isV2: Bool
    public var ownPath: String       // this process's cgroup in the hierarchy, relative to `root`

    public var name: String { isV2 ? "unified" : controllers.joinedText(",") }
}

/// Discovers hierarchies from /proc/self/mountinfo and /proc/self/cgroup, and maps a
/// container's cgroupsPath onto one directory per hierarchy (runc's fs manager rules).
public struct CgroupLayout: Sendable {
    public var hierarchies: [CgroupHierarchy]

    public var isPureV2: Bool { hierarchies.count == 1 && hierarchies[0].isV2 }

    /// Options of a v1 cgroup mount that are not controllers.
    static func isNonController(_ option: String) -> Bool {
        switch option {
        case "rw", "ro", "clone_children", "noprefix", "xattr", "nsdelegate", "cpuset_v2_mode", "favordynmods",
             "memory_recursiveprot", "memory_localevents", "memory_hugetlb_accounting", "pids_localevents": return true
        default: return false
        }
    }

    public static func discover() throws(SwrunError) -> CgroupLayout {
        let mountinfo = try sys { try Files.readString("/proc/self/mountinfo") }
        let selfCgroup = try sys { try Files.readString("/proc/self/cgroup") }
        return parse(mountinfo: mountinfo, selfCgroup: selfCgroup)
    }

    /// Pure parsing, unit-tested with this host's hybrid layout and a pure v2 one. By bytes:
    /// every create parses both files, and slice-by-slice `split` cost ~20% of a create's
    /// user-space instructions.
    public static func parse(mountinfo: String, selfCgroup: String) -> CgroupLayout {
        var v1Paths: [String: String] = [:]
        var v2Path: String?
        // /proc/self/cgroup: "hierarchy-id:controller,list:path" per line; "0::path" is v2.
        ByteText.forEachLine(Array(selfCgroup.utf8)) { line in
            guard let c1 = line.firstIndex(of: UInt8(ascii: ":")),
                  let c2 = line[(c1 + 1)...].firstIndex(of: UInt8(ascii: ":")) else { return }
            let path = String(decoding: line[(c2 + 1)...], as: UTF8.self)
            let ctrls = line[(c1 + 1)..<c2]
            if ctrls.isEmpty {
                if line[line.startIndex..<c1].elementsEqual("0".utf8) { v2Path = path }
                return
            }
            for c in words(ctrls, separator: UInt8(ascii: ",")) { v1Paths[String(decoding: c, as: UTF8.self)] = path }
        }
        var result: [CgroupHierarchy] = []
        var seen: [String] = [] // controllers already placed: a dozen, no Set
        // Only cgroup lines matter: a line is split into fields once the filesystem type
        // after its " - " says cgroup.
        forEachMountInfoLine(mountinfo) { before, after in
            guard after.starts(with: "cgroup".utf8) else { return }
            guard let type = word(after, 0, separator: UInt8(ascii: " ")), word(after, 1, separator: UInt8(ascii: " ")) != nil,
                  let rootField = word(before, 3, separator: UInt8(ascii: " ")), let mountField = word(before, 4, separator: UInt8(ascii: " ")) else { return }
            let isV2 = type.elementsEqual("cgroup2".utf8)
            guard isV2 || type.elementsEqual("cgroup".utf8) else { return }
            let root = String(decoding: rootField, as: UTF8.self)
            let mountpoint = unescape(String(decoding: mountField, as: UTF8.self))
            if isV2 {
                guard let own = v2Path, !seen.contains("unified") else { return }
                seen.append("unified")
                result.append(CgroupHierarchy(mountpoint: mountpoint, root: root, controllers: [], isV2: true, ownPath: relative(own, to: root)))
            } else {
                guard let superOptions = word(after, 2, separator: UInt8(ascii: " ")) ?? word(after, 1, separator: UInt8(ascii: " ")) else { return }
                let opts = words(superOptions, separator: UInt8(ascii: ",")).map { String(decoding: $0, as: UTF8.self) }
                if opts.contains(where: { $0.startsWithBytes("name=") }) { return } // named (systemd): left alone
                let ctrls = opts.filter { !isNonController($0) && !$0.utf8.contains(UInt8(ascii: "=")) }
                guard let first = ctrls.first, let own = v1Paths[first], !seen.contains(first) else { return }
                seen += ctrls
                result.append(CgroupHierarchy(mountpoint: mountpoint, root: root, controllers: ctrls, isV2: false, ownPath: relative(own, to: root)))
            }
        }
        return CgroupLayout(hierarchies: result)
    }

    /// The next non-empty run of `b` between `separator` bytes, from `i` (moved past it).
    static func nextWord(_ b: ArraySlice<UInt8>, _ i: inout Int, separator: UInt8) -> ArraySlice<UInt8>? {
        while i < b.endIndex, b[i] == separator { i += 1 }
        let start = i
        while i < b.endIndex, b[i] != separator { i += 1 }
        return i > start ? b[start..<i] : nil
    }

    /// The `n`th non-empty run of `b` between `separator` bytes, without collecting the others.
    static func word(_ b: ArraySlice<UInt8>, _ n: Int, separator: UInt8) -> ArraySlice<UInt8>? {
        var i = b.startIndex
        for _ in 0..<n {
            if nextWord(b, &i, separator: separator) == nil { return nil }
        }
        return nextWord(b, &i, separator: separator)
    }

    /// The non-empty runs of `b` between `separator` bytes.
    static func words(_ b: ArraySlice<UInt8>, separator: UInt8) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = b.startIndex
        while let w = nextWord(b, &i, separator: separator) { out.append(w) }
        return out
    }

    static func relative(_ path: String, to root: String) -> String {
        if root == "/" { return path }
        if path == root { return "/" }
        if path.startsWithBytes(root + "/") { return String(path.dropFirst(root.count)) }
        return path
    }

    static func unescape(_ s: String) -> String {
        guard s.utf8.contains(UInt8(ascii: "\\")) else { return s }
        return s.replacingAll("\\040", with: " ").replacingAll("\\011", with: "\t").replacingAll("\\012", with: "\n").replacingAll("\\134", with: "\\")
    }

    /// Calls `body` with each line of a mountinfo text split at its " - " separator: the
    /// fields before it (id, parent, major:minor, root, mount point, options, optional
    /// fields) and after it (type, source, super options). Mount points escape spaces as
    /// \\040, so " - " is only ever the separator.
    static func forEachMountInfoLine(_ text: String, _ body: (ArraySlice<UInt8>, ArraySlice<UInt8>) -> Void) {
        ByteText.forEachLine(Array(text.utf8)) { line in
            var i = line.startIndex
            while i + 2 < line.endIndex, !(line[i] == UInt8(ascii: " ") && line[i + 1] == UInt8(ascii: "-") && line[i + 2] == UInt8(ascii: " ")) { i += 1 }
            if i + 2 < line.endIndex { body(line[line.startIndex..<i], line[(i + 3)...]) }
        }
    }

    /// The container's directory in each hierarchy. Absolute cgroupsPath: from the hierarchy's
    /// root; relative (or empty, meaning the container id): under this process's own cgroup.
    public func directories(cgroupsPath: String?, id: String) throws(SwrunError) -> [String] {
        var inner = cgroupsPath ?? ""
        if inner.isEmpty { inner = id }
        let bytes = Array(inner.utf8)
        if bytes.contains(UInt8(ascii: ":")) && bytes.first != UInt8(ascii: "/") {
            throw SwrunError.config("linux.cgroupsPath \(Quote.short(inner)): systemd-style slice:prefix:name paths need --systemd-cgroup, which is not supported")
        }
        let comps = CgroupLayout.words(bytes[...], separator: UInt8(ascii: "/"))
        if comps.contains(where: { $0.elementsEqual("..".utf8) }) {
            throw SwrunError.config("linux.cgroupsPath \(Quote.short(inner)): must not contain \"..\"")
        }
        let clean = comps.map { String(decoding: $0, as: UTF8.self) }.joinedText("/")
        if clean.isEmpty { throw SwrunError.config("linux.cgroupsPath \(Quote.short(inner)): names the root cgroup") }
        return hierarchies.map { h in
            let base = inner.startsWithBytes("/") ? "" : (h.ownPath == "/" ? "" : h.ownPath)
            return h.mountpoint + base + "/" + clean
        }
    }
}

/// The cgroup side of a container's life: create the directories, place the init process,
/// freeze, signal everything, and remove what was created. Only directories swrun created are
/// ever removed, and nothing outside them is written.
public enum CgroupManager {
    /// Creates `dirs` and returns every directory that did not exist before, outermost first.
    /// The caller records the list *before* calling (crash safety): see Launcher.
    public static func create(_ dirs: [String], layout: CgroupLayout) throws(SwrunError) -> [String] {
        var created: [String] = []
        for (dir, h) in zip(dirs, layout.hierarchies) {
            let made = try sys("create cgroup \(dir)") { try Files.mkdirAll(dir) }
            created += made
            if h.controllers.contains("cpuset") { try initCpuset(ancestors(of: dir, below: h.mountpoint)) }
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
                      let val = try? Files.readString(parent + "/" + file) else { continue }
                try sys("initialise \(dir)/\(file)") { try Files.writeFile(dir + "/" + file, trimWhitespace(val)) }
            }
        }
    }

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
    public final class Placement {
        /// v1 `tasks` files, open for writing; the freezer last, so that a process joining a
        /// frozen container has joined every other hierarchy before it stops.
        public let tasks: [(fd: OwnedFD, dir: String)]
        /// The cgroup2 directory, if one of the leaves is in the unified hierarchy.
        public let v2: String?
        public let v2Fd: OwnedFD?

        init(tasks: [(fd: OwnedFD, dir: String)], v2: String?, v2Fd: OwnedFD?) {
            self.tasks = tasks
            self.v2 = v2
            self.v2Fd = v2Fd
        }

        /// Parent side, after the clone: the child holds its own copies.
        public func closeTasks() { for t in tasks { t.fd.close() } }
    }

    /// Opens what `Placement` needs for `dirs` (one per hierarchy). A leaf with a `tasks`
    /// file is v1; one without is the unified (v2) hierarchy's.
    public static func placement(_ dirs: [String]) throws(SwrunError) -> Placement {
        var tasks: [(fd: OwnedFD, dir: String)] = [], freezer: [(fd: OwnedFD, dir: String)] = []
        var v2: String?
        for dir in dirs {
            do {
                let fd = try Files.open(dir + "/tasks", OpenFlags.writeOnly)
                if isV1FreezerPath(dir) { freezer.append((fd, dir)) } else { tasks.append((fd, dir)) }
            } catch where error.errno == Errno.ENOENT {
                v2 = dir
            } catch {
                throw SwrunError.system(error).wrapped("join cgroup \(dir)")
            }
        }
        let v2Fd = try v2.map { d throws(SwrunError) in try sys("open cgroup \(d)") { try Files.open(d, OpenFlags.readOnly | OpenFlags.directory) } }
        return Placement(tasks: tasks + freezer, v2: v2, v2Fd: v2Fd)
    }

    /// Child side: this process (single-threaded) writes "0" to each v1 `tasks` file it was
    /// given, then closes them.
    public static func joinSelf(_ tasks: [(fd: OwnedFD, dir: String)]) throws(SwrunError) {
        for t in tasks {
            try sys("join cgroup \(t.dir)") { try Files.writeAll(fd: t.fd.raw, "0", path: t.dir + "/tasks") }
            t.fd.close()
        }
    }

    public static func join(_ dirs: [String], pid: Int32) throws(SwrunError) {
        for dir in dirs {
            try sys("join cgroup \(dir)") { try Files.writeFile(dir + "/cgroup.procs", String(pid), flags: OpenFlags.writeOnly) }
        }
    }

    public static func pids(_ dir: String) -> [Int32] {
        guard let s = try? Files.readString(dir + "/cgroup.procs") else { return [] }
        return s.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Every process in the container's cgroups (the first hierarchy that lists any).
    public static func allPids(_ dirs: [String]) -> [Int32] {
        for d in dirs {
            let p = pids(d)
            if !p.isEmpty { return p }
        }
        return []
    }

    /// Sends `sig` to every process in the cgroups; SIGKILL on v2 uses cgroup.kill.
    public static func signalAll(_ dirs: [String], _ sig: Int32) throws(SwrunError) {
        if sig == Signals.kill, let v2 = dirs.first(where: { Files.exists($0 + "/cgroup.kill") }) {
            try sys("kill cgroup \(v2)") { try Files.writeFile(v2 + "/cgroup.kill", "1", flags: OpenFlags.writeOnly) }
        }
        for pid in allPids(dirs) { _ = try? Proc.kill(pid, sig) }
    }

    /// Removes every cgroup below `dir` (not `dir` itself), deepest first, killing what runs
    /// in each. Only directories are cgroups in cgroupfs; nothing is followed.
    static func removeChildren(_ dir: String, depth: Int, failures: inout [String]) {
        guard depth < 64, let names = try? Files.listDirectory(dir) else { return }
        for name in names {
            let child = dir + "/" + name
            guard let st = try? Files.lstat(child), st.isDirectory else { continue }
            removeChildren(child, depth: depth + 1, failures: &failures)
            if freezerState([child]) == "FROZEN" { try? freeze([child], false) }
            try? signalAll([child], Signals.kill)
            var last: SyscallError?
            for _ in 0..<200 {
                do { try Files.rmdir(child); last = nil; break } catch where error.errno == Errno.ENOENT { last = nil; break } catch {
                    last = error
                    for pid in pids(child) { _ = try? Proc.kill(pid, Signals.kill) }
                    Proc.sleep(milliseconds: 5)
                }
            }
            if let last { failures.append(last.description) }
        }
    }

    /// runc's checks before a process is placed in the container's cgroups: a frozen cgroup
    /// would freeze the init before it can answer (create would wait forever) and is
    /// refused; one that already holds processes gets runc's warning.
    public static func checkBeforePlacement(_ dirs: [String]) throws(SwrunError) {
        let state = freezerState(dirs)
        if state == "FROZEN" || state == "FREEZING" { throw SwrunError(.system, "container's cgroup unexpectedly frozen") }
        let present = allPids(dirs)
        if !present.isEmpty { Log.warning("container's cgroup is not empty: \(present.count) process(es) found") }
    }

    /// A directory of the v1 freezer hierarchy, by its path (`/sys/fs/cgroup/freezer/...`).
    static func isV1FreezerPath(_ d: String) -> Bool { d.containsText("/freezer/") }

    /// FROZEN, THAWED (or FREEZING) from the v1 freezer, else from v2 cgroup.freeze. The v1
    /// freezer's directory is tried first by name: `list` asks this of every container.
    public static func freezerState(_ dirs: [String]) -> String? {
        let ordered = dirs.filter(isV1FreezerPath) + dirs.filter { !isV1FreezerPath($0) }
        for d in ordered {
            if let b = try? Files.readSmall(d + "/freezer.state") { return trimWhitespace(String(decoding: b, as: UTF8.self)) }
            if let b = try? Files.readSmall(d + "/cgroup.freeze") { return b.first == UInt8(ascii: "1") ? "FROZEN" : "THAWED" }
        }
        return nil
    }

    public static func freeze(_ dirs: [String], _ frozen: Bool) throws(SwrunError) {
        if let d = dirs.first(where: { Files.exists($0 + "/freezer.state") }) {
            try sys("freeze \(d)") { try Files.writeFile(d + "/freezer.state", frozen ? "FROZEN" : "THAWED") }
            // The v1 freezer moves through FREEZING; wait until it settles.
            for _ in 0..<500 {
                let s = freezerState([d]) ?? ""
                if s == (frozen ? "FROZEN" : "THAWED") { return }
                Proc.sleep(milliseconds: 2)
            }
            throw SwrunError(.system, "freeze \(d): state did not settle")
        } else if let d = dirs.first(where: { Files.exists($0 + "/cgroup.freeze") }) {
            try sys("freeze \(d)") { try Files.writeFile(d + "/cgroup.freeze", frozen ? "1" : "0") }
            // cgroup.events says when every task has actually stopped (or runs again).
            for _ in 0..<1000 {
                let events = (try? Files.readString(d + "/cgroup.events")) ?? ""
                if events.split(separator: "\n").contains(Substring(frozen ? "frozen 1" : "frozen 0")) { return }
                Proc.sleep(milliseconds: 2)
            }
            throw SwrunError(.system, "freeze \(d): cgroup.events did not report frozen \(frozen ? 1 : 0)")
        } else {
            throw SwrunError(.system, "no freezer available for the container's cgroup")
        }
    }

    /// Removes the container's cgroups: kills what is left, rmdirs each leaf (retrying while
    /// the kernel reaps), then the parents swrun created (only if they are empty).
    /// A leaf that existed before the container (a cgroupsPath naming an existing cgroup) is
    /// neither emptied nor removed: swrun only removes what it created.
    public static func destroy(leaves: [String], created: [String]) throws(SwrunError) {
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
        if !existing.isEmpty {
            if freezerState(existing) == "FROZEN" { try? freeze(existing, false) }
            try? signalAll(existing, Signals.kill)
        }
        for leaf in existing {
            // Cgroups made inside the container's (a nested runtime, systemd in a container)
            // go first, deepest first, as runc removes them; a leaf with children cannot go.
            removeChildren(leaf, depth: 0, failures: &failures)
            var lastError: SyscallError?
            for attempt in 0..<200 {
                do {
                    try Files.rmdir(leaf)
                    lastError = nil
                    break
                } catch {
                    if error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR { lastError = nil; break }
                    lastError = error
                    if attempt % 20 == 0 { for pid in pids(leaf) { _ = try? Proc.kill(pid, Signals.kill) } }
                    Proc.sleep(milliseconds: 5)
                }
            }
            if let lastError { failures.append(lastError.description) }
        }
        for dir in created.reversed() where !leaves.contains(dir) {
            do { try Files.rmdir(dir) } catch {
                // A parent shared with other containers stays; only report real failures.
                if ![Errno.ENOENT, Errno.ENOTDIR, Errno.EBUSY, Errno.ENOTEMPTY].contains(error.errno) { failures.append(error.description) }
            }
        }
        if !failures.isEmpty { throw SwrunError(.system, "remove cgroups: " + failures.joinedText("; ")) }
    }
}
