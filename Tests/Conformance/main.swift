// swrun-conformance: run as a container's process, it re-reads the bundle's config.json and
// checks from inside that every field the runtime applies is in effect (as youki's
// runtimetest and crun's tests/init.c do). A test oracle: it shares no code with the runtime
// but the spec model, and derives what the kernel should show from the kernel's own rules.
//
//   swrun-conformance CONFIG [HOSTNS]
//
// CONFIG is the bundle's config.json (bind-mounted in by the test), HOSTNS a file of
// "<type> <inode>" lines for the host's namespaces and "join <type> <inode>" lines for
// namespaces the config joins by path. Prints TAP; exits 0 when every check passed, 1 when
// one failed, 2 when the config cannot be read.
import Glibc
import OCISpec
import OCISpecCodable

nonisolated(unsafe) var checks = 0
nonisolated(unsafe) var failures = 0

/// dev_t as glibc encodes it (its makedev/major/minor are macros Swift cannot import).
func makedev(_ ma: UInt32, _ mi: UInt32) -> dev_t {
    let a = UInt64(ma), i = UInt64(mi)
    return dev_t(((a & 0xfff) << 8) | ((a & ~0xfff) << 32) | (i & 0xff) | ((i & ~0xff) << 12))
}
func major(_ d: dev_t) -> UInt64 { ((UInt64(d) >> 8) & 0xfff) | ((UInt64(d) >> 32) & ~0xfff) }
func minor(_ d: dev_t) -> UInt64 { (UInt64(d) & 0xff) | ((UInt64(d) >> 12) & ~0xff) }

// Variadic or unexported libc entry points, declared with their x86_64 integer ABI.
@_silgen_name("syscall") func rawSyscall(_ n: Int, _ a: Int, _ b: Int) -> Int
@_silgen_name("personality") func cPersonality(_ persona: UInt) -> Int32

func cstr(_ buf: [CChar]) -> String {
    String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func check(_ ok: Bool, _ what: String, _ detail: @autoclosure () -> String = "") {
    checks += 1
    if ok {
        print("ok \(checks) - \(what)")
    } else {
        failures += 1
        let d = detail()
        print("not ok \(checks) - \(what)" + (d.isEmpty ? "" : ": \(d)"))
    }
}

func expectEqual<T: Equatable>(_ got: T?, _ want: T, _ what: String) {
    check(got == want, what, "expected \(want), got \(got.map { "\($0)" } ?? "nothing")")
}

func skip(_ what: String, _ why: String) { print("# skip \(what): \(why)") }

// MARK: - Reading the kernel's view

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n < 0 { return nil }
        if n == 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func trimmed(_ s: String) -> String {
    var t = Substring(s)
    while let c = t.first, c == " " || c == "\n" || c == "\t" { t.removeFirst() }
    while let c = t.last, c == " " || c == "\n" || c == "\t" { t.removeLast() }
    return String(t)
}

/// One field of /proc/self/status.
func status(_ key: String) -> String? {
    guard let s = readFile("/proc/self/status") else { return nil }
    for line in s.split(separator: "\n") where line.hasPrefix(key + ":") {
        return trimmed(String(line.dropFirst(key.count + 1)))
    }
    return nil
}

struct MountEntry {
    var mountPoint: String
    var perMount: Set<String>
    var optional: [String]
    var fsType: String
    var superOptions: [String: String]
}

/// /proc/self/mountinfo, with its octal escapes undone.
func mountTable() -> [MountEntry] {
    func unescape(_ s: Substring) -> String {
        var out: [UInt8] = []
        var b = Array(s.utf8)[...]
        while let c = b.first {
            if c == UInt8(ascii: "\\"), b.count >= 4,
                let v = UInt8(String(decoding: b.dropFirst().prefix(3), as: UTF8.self), radix: 8)
            {
                out.append(v)
                b = b.dropFirst(4)
            } else {
                out.append(c)
                b = b.dropFirst()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
    var table: [MountEntry] = []
    for line in (readFile("/proc/self/mountinfo") ?? "").split(separator: "\n") {
        let f = line.split(separator: " ")
        guard let dash = f.firstIndex(of: "-"), dash >= 6, f.count >= dash + 4 else { continue }
        var sup: [String: String] = [:]
        for o in f[dash + 3].split(separator: ",") {
            let kv = o.split(separator: "=", maxSplits: 1)
            sup[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        table.append(
            MountEntry(
                mountPoint: unescape(f[4]), perMount: Set(f[5].split(separator: ",").map(String.init)),
                optional: f[6..<dash].map(String.init), fsType: String(f[dash + 1]), superOptions: sup))
    }
    return table
}

/// The host's id for `id` of this user namespace, from a uid_map or gid_map.
func hostID(_ id: UInt32, _ mapFile: String) -> UInt32? {
    for line in (readFile(mapFile) ?? "").split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true).compactMap { UInt64($0) }
        if f.count == 3, UInt64(id) >= f[0], UInt64(id) < f[0] + f[2] { return UInt32(f[1] + UInt64(id) - f[0]) }
    }
    return nil
}

func clean(_ path: String) -> String {
    var parts: [Substring] = []
    for p in path.split(separator: "/") where p != "." && !p.isEmpty {
        if p == ".." { _ = parts.popLast() } else { parts.append(p) }
    }
    return "/" + parts.joined(separator: "/")
}

// MARK: - Capabilities, by the kernel's numbering

let capabilityNames = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]

/// The capabilities this kernel knows (CapBnd of a process that has them all reads the same).
let lastCap: Int = Int(trimmed(readFile("/proc/sys/kernel/cap_last_cap") ?? "40")) ?? 40

func mask(_ names: [String]?) -> UInt64 {
    var m: UInt64 = 0
    for n in names ?? [] {
        guard let i = capabilityNames.firstIndex(of: n.uppercased().replacing("CAP_", with: "")), i <= lastCap else {
            continue
        }
        m |= 1 << UInt64(i)
    }
    return m
}

func names(_ m: UInt64) -> String {
    (0...lastCap).filter { m & (1 << UInt64($0)) != 0 }.map { "CAP_" + capabilityNames[$0] }.joined(separator: ",")
}

// MARK: - The checks, one group per spec section

func checkProcess(_ p: Process) {
    // env: every configured variable, exactly.
    for e in p.env ?? [] {
        guard let eq = e.firstIndex(of: "=") else { continue }
        let k = String(e[..<eq]), v = String(e[e.index(after: eq)...])
        expectEqual(getenv(k).map { String(cString: $0) }, v, "process.env \(k)")
    }
    // cwd
    var buf = [CChar](repeating: 0, count: 4096)
    expectEqual(getcwd(&buf, buf.count).map { _ in cstr(buf) }, clean(p.cwd), "process.cwd")
    // user
    expectEqual(getuid(), p.user.uid, "process.user.uid (real)")
    expectEqual(geteuid(), p.user.uid, "process.user.uid (effective)")
    expectEqual(getgid(), p.user.gid, "process.user.gid (real)")
    expectEqual(getegid(), p.user.gid, "process.user.gid (effective)")
    var groups = [gid_t](repeating: 0, count: 256)
    let n = getgroups(Int32(groups.count), &groups)
    let have = Set(groups.prefix(Int(max(n, 0))))
    let want = Set(p.user.additionalGids ?? [])
    if p.user.username == nil {
        check(have == want, "process.user.additionalGids", "expected \(want.sorted()), got \(have.sorted())")
    } else {
        check(
            have.isSuperset(of: want), "process.user.additionalGids (with username)",
            "expected \(want.sorted()) among \(have.sorted())")
    }
    expectEqual(status("Umask").flatMap { UInt32($0, radix: 8) }, p.user.umask ?? 0o022, "process.user.umask")
    // terminal: a pty on stdio and on /dev/console, sized as consoleSize says
    expectEqual(isatty(0) == 1, p.terminal ?? false, "process.terminal")
    if p.terminal == true {
        var st = stat()
        check(
            stat("/dev/console", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR && (136...143).contains(major(st.st_rdev)),
            "process.terminal: /dev/console is the pty", "got \(major(st.st_rdev)):\(minor(st.st_rdev))")
        if let size = p.consoleSize {
            var ws = winsize()
            _ = ioctl(0, UInt(TIOCGWINSZ), &ws)
            check(
                UInt32(ws.ws_row) == size.height && UInt32(ws.ws_col) == size.width, "process.consoleSize",
                "expected \(size.height)x\(size.width), got \(ws.ws_row)x\(ws.ws_col)")
        }
    }
    // capabilities, as execve leaves them (capabilities(7)): for uid 0 the permitted set is
    // the bounding set plus the inheritable and ambient sets, and effective equals it; for
    // any other uid only the ambient set survives.
    let caps = p.capabilities
    let hex = { (k: String) -> UInt64? in status(k).flatMap { UInt64($0, radix: 16) } }
    let bnd = mask(caps?.bounding), inh = mask(caps?.inheritable), amb = mask(caps?.ambient) & inh
    let prm: UInt64 = p.user.uid == 0 ? (bnd | inh | amb) : amb
    for (key, field, want) in [
        ("CapBnd", "bounding", bnd), ("CapInh", "inheritable", inh), ("CapAmb", "ambient", amb),
        ("CapPrm", "permitted (after execve)", prm), ("CapEff", "effective (after execve)", prm),
    ] {
        let got = hex(key)
        check(got == want, "process.capabilities.\(field)", "expected [\(names(want))], got [\(got.map(names) ?? "?")]")
    }
    // rlimits
    let resources: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]
    for r in p.rlimits ?? [] {
        guard let res = resources[r.type] else { check(false, "process.rlimits \(r.type)", "unknown type"); continue }
        var l = rlimit()
        _ = getrlimit(__rlimit_resource_t(UInt32(res)), &l)
        check(
            UInt64(l.rlim_cur) == r.soft && UInt64(l.rlim_max) == r.hard, "process.rlimits \(r.type)",
            "expected \(r.soft)/\(r.hard), got \(l.rlim_cur)/\(l.rlim_max)")
    }
    expectEqual(status("NoNewPrivs"), (p.noNewPrivileges ?? false) ? "1" : "0", "process.noNewPrivileges")
    if let adj = p.oomScoreAdj {
        expectEqual(readFile("/proc/self/oom_score_adj").map(trimmed), String(adj), "process.oomScoreAdj")
    }
    // scheduler, I/O priority
    if let s = p.scheduler {
        let policies = [
            "SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_ISO": 4, "SCHED_IDLE": 5,
            "SCHED_DEADLINE": 6,
        ]
        expectEqual(sched_getscheduler(0) & ~0x4000_0000, Int32(policies[s.policy] ?? -1), "process.scheduler.policy")
        if s.policy == "SCHED_OTHER" || s.policy == "SCHED_BATCH" {
            expectEqual(getpriority(__priority_which_t(0), 0), s.nice ?? 0, "process.scheduler.nice")
        }
        if s.policy == "SCHED_FIFO" || s.policy == "SCHED_RR" {
            var sp = sched_param()
            _ = sched_getparam(0, &sp)
            expectEqual(sp.sched_priority, s.priority ?? 0, "process.scheduler.priority")
        }
    }
    if let io = p.ioPriority {
        let classes = ["IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3]
        expectEqual(
            rawSyscall(252 /* ioprio_get */, 1, 0), (classes[io.class] ?? -1) << 13 | Int(io.priority ?? 0),
            "process.ioPriority")
    }
    // No descriptor beyond stdio reaches the container (CVE-2024-21626). The listing's own
    // fd is the one extra entry.
    if let d = opendir("/proc/self/fd") {
        var fds: [Int32] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name) { fds.append(fd) }
        }
        let own = dirfd(d)
        closedir(d)
        let extra = fds.filter { $0 > 2 && $0 != own }
        check(extra.isEmpty, "no descriptor leaked into the container", "open: \(extra)")
    }
}

func checkNamespaces(_ spec: Spec, hostNS: [String: UInt64], joined: [String: UInt64]) {
    let kernelName = [
        "pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup", "time": "time",
        "user": "user",
    ]
    let configured = Dictionary((spec.linux?.namespaces ?? []).map { ($0.type, $0) }, uniquingKeysWith: { a, _ in a })
    for (type, k) in kernelName.sorted(by: { $0.key < $1.key }) {
        var st = stat()
        guard stat("/proc/self/ns/\(k)", &st) == 0 else {
            skip("linux.namespaces \(type)", "no /proc/self/ns/\(k)"); continue
        }
        guard let host = hostNS[k] else { skip("linux.namespaces \(type)", "host inode not given"); continue }
        if let ns = configured[type] {
            if ns.path != nil {
                if let want = joined[k] {
                    expectEqual(UInt64(st.st_ino), want, "linux.namespaces \(type) joined by path")
                }
            } else {
                check(UInt64(st.st_ino) != host, "linux.namespaces \(type) is new", "inode \(st.st_ino) is the host's")
            }
        } else {
            expectEqual(UInt64(st.st_ino), host, "linux.namespaces without \(type): the runtime's")
        }
    }
    var u = utsname()
    _ = uname(&u)
    let field = { (t: Any) -> String in
        withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    if let h = spec.hostname, configured["uts"] != nil { expectEqual(field(u.nodename), h, "hostname") }
    if let d = spec.domainname, configured["uts"] != nil { expectEqual(field(u.__domainname), d, "domainname") }
    if let offsets = spec.linux?.timeOffsets, let text = readFile("/proc/self/timens_offsets") {
        for (clock, o) in offsets {
            let line = text.split(separator: "\n").first { $0.split(separator: " ").first.map(String.init) == clock }
            let f = line?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
            check(
                f.count == 3 && Int64(f[1]) == (o.secs ?? 0) && UInt32(f[2]) == (o.nanosecs ?? 0),
                "linux.timeOffsets.\(clock)", "got \(line.map(String.init) ?? "nothing")")
        }
    }
}

func checkMounts(_ spec: Spec) {
    let table = mountTable()
    let readonlyPaths = Set((spec.linux?.readonlyPaths ?? []).map(clean))
    for (i, m) in (spec.mounts ?? []).enumerated() {
        let dest = clean(m.destination)
        let what = "mounts[\(i)] \(dest)"
        guard let e = table.last(where: { $0.mountPoint == dest }) else { check(false, what, "not mounted"); continue }
        let opts = m.options ?? []
        let isBind = m.type == "bind" || opts.contains("bind") || opts.contains("rbind")
        if !isBind, let type = m.type {
            // A v1 cgroup view is a tmpfs of per-controller mounts (as runc makes it).
            let ok = type == "cgroup" ? ["cgroup", "cgroup2", "tmpfs"].contains(e.fsType) : e.fsType == type
            check(ok, "\(what) type", "expected \(type), got \(e.fsType)")
        }
        var flags: [(String, Bool)] = [("ro", opts.contains("ro") || readonlyPaths.contains(dest))]
        for f in ["nosuid", "nodev", "noexec", "noatime", "nodiratime"] where opts.contains(f) {
            flags.append((f, true))
        }
        for f in ["suid", "dev", "exec", "atime", "diratime"] where opts.contains(f) { flags.append(("no" + f, false)) }
        if opts.contains("strictatime") { flags.append(("relatime", false)); flags.append(("noatime", false)) }
        if opts.contains("relatime") { flags.append(("relatime", true)) }
        for (flag, want) in flags {
            check(
                e.perMount.contains(flag) == want, "\(what) \(want ? "" : "not ")\(flag)",
                "mount options \(e.perMount.sorted())")
        }
        let shared = e.optional.contains { $0.hasPrefix("shared:") },
            slave = e.optional.contains { $0.hasPrefix("master:") }
        for o in opts {
            switch o {
            case "private", "rprivate": check(!shared && !slave, "\(what) \(o)", "propagation \(e.optional)")
            case "shared", "rshared": check(shared, "\(what) \(o)", "propagation \(e.optional)")
            // A slave of a private mount stays private: "receives nothing back" is what shows.
            case "slave", "rslave": check(!shared, "\(what) \(o)", "propagation \(e.optional)")
            case "unbindable", "runbindable":
                check(e.optional.contains("unbindable"), "\(what) \(o)", "propagation \(e.optional)")
            default: break
            }
        }
        // Filesystem data the kernel echoes back (tmpfs, devpts): modes compared as numbers.
        if !isBind {
            for o in opts {
                let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, ["mode", "ptmxmode", "gid", "uid"].contains(kv[0]) else { continue }
                let octal = kv[0].hasSuffix("mode")
                let want = octal ? UInt32(kv[1], radix: 8) : UInt32(kv[1])
                // The kernel leaves out what equals its default (tmpfs: mode 1777, ids 0).
                let shown = e.superOptions[kv[0]] ?? (e.fsType == "tmpfs" ? (kv[0] == "mode" ? "1777" : "0") : nil)
                let got = shown.flatMap { octal ? UInt32($0, radix: 8) : UInt32($0) }
                // Ids in superblock options read in the host's terms (in a user namespace).
                let hostWant = want.flatMap { w in
                    kv[0] == "uid"
                        ? hostID(w, "/proc/self/uid_map") : kv[0] == "gid" ? hostID(w, "/proc/self/gid_map") : w
                }
                check(
                    got == want || got == hostWant, "\(what) \(o)", "superblock options \(e.superOptions.keys.sorted())"
                )
            }
        }
    }
    // root.readonly and rootfsPropagation
    if let root = table.last(where: { $0.mountPoint == "/" }) {
        expectEqual(root.perMount.contains("ro"), spec.root?.readonly ?? false, "root.readonly")
        if let prop = spec.linux?.rootfsPropagation {
            let shared = root.optional.contains { $0.hasPrefix("shared:") },
                slave = root.optional.contains { $0.hasPrefix("master:") }
            switch prop {
            case "shared", "rshared": check(shared, "linux.rootfsPropagation \(prop)", "\(root.optional)")
            case "slave", "rslave": check(!shared, "linux.rootfsPropagation \(prop)", "\(root.optional)")
            case "private", "rprivate": check(!shared && !slave, "linux.rootfsPropagation \(prop)", "\(root.optional)")
            case "unbindable", "runbindable":
                check(root.optional.contains("unbindable"), "linux.rootfsPropagation \(prop)", "\(root.optional)")
            default: check(false, "linux.rootfsPropagation \(prop)", "unknown value")
            }
        }
    } else {
        check(false, "root mount", "no / in mountinfo")
    }
    // maskedPaths: a directory is an empty read-only tmpfs, anything else reads as /dev/null.
    for p in spec.linux?.maskedPaths ?? [] {
        var st = stat()
        guard lstat(p, &st) == 0 else { continue }
        if st.st_mode & S_IFMT == S_IFDIR {
            let e = table.last { $0.mountPoint == clean(p) }
            check(
                e?.fsType == "tmpfs" && e?.perMount.contains("ro") == true, "linux.maskedPaths \(p)",
                "mount \(e.map { "\($0.fsType) \($0.perMount.sorted())" } ?? "none")")
        } else {
            check(
                st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == makedev(1, 3), "linux.maskedPaths \(p)", "not /dev/null"
            )
        }
    }
    // readonlyPaths: whatever is there refuses writes.
    for p in spec.linux?.readonlyPaths ?? [] {
        var st = stat(), vfs = statvfs()
        guard lstat(p, &st) == 0 else { continue }
        check(statvfs(p, &vfs) == 0 && vfs.f_flag & UInt(ST_RDONLY) != 0, "linux.readonlyPaths \(p)", "writable")
    }
}

func checkDevices(_ spec: Spec) {
    // The default devices of config-linux.md, and its /dev symlinks.
    let defaults: [(String, UInt32, UInt32)] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ]
    for (path, maj, min) in defaults {
        var st = stat()
        check(
            stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == makedev(maj, min),
            "default device \(path)")
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"), ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        var buf = [CChar](repeating: 0, count: 256)
        let n = readlink(link, &buf, buf.count - 1)
        expectEqual(n > 0 ? cstr(buf) : nil, target, "/dev symlink \(link)")
    }
    var st = stat()
    check(lstat("/dev/ptmx", &st) == 0, "/dev/ptmx exists")
    for d in spec.linux?.devices ?? [] {
        var st = stat()
        guard lstat(d.path, &st) == 0 else { check(false, "linux.devices \(d.path)", "missing"); continue }
        let fmt: mode_t = ["c": S_IFCHR, "u": S_IFCHR, "b": S_IFBLK, "p": S_IFIFO][d.type] ?? 0
        check(st.st_mode & S_IFMT == fmt, "linux.devices \(d.path) type \(d.type)")
        if d.type != "p" {
            check(
                st.st_rdev == makedev(UInt32(d.major ?? 0), UInt32(d.minor ?? 0)),
                "linux.devices \(d.path) \(d.major ?? 0):\(d.minor ?? 0)",
                "got \(major(st.st_rdev)):\(minor(st.st_rdev))")
        }
        if let m = d.fileMode {
            expectEqual(UInt32(st.st_mode & 0o7777), m & 0o7777, "linux.devices \(d.path) fileMode")
        }
        if let u = d.uid { expectEqual(st.st_uid, u, "linux.devices \(d.path) uid") }
        if let g = d.gid { expectEqual(st.st_gid, g, "linux.devices \(d.path) gid") }
    }
}

func checkKernelSettings(_ spec: Spec) {
    if let per = spec.linux?.personality {
        expectEqual(cPersonality(0xffff_ffff) & 0xff, per.domain == "LINUX32" ? 8 : 0, "linux.personality.domain")
    }
    for (k, v) in (spec.linux?.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
        let got = readFile("/proc/sys/" + k.replacing(".", with: "/"))
        let words = { (s: String) in
            s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
        }
        expectEqual(got.map(words), words(v), "linux.sysctl \(k)")
    }
    if spec.linux?.seccomp != nil {
        expectEqual(status("Seccomp"), "2", "linux.seccomp (filter mode)")
    } else {
        expectEqual(status("Seccomp"), "0", "no linux.seccomp")
    }
}

func checkCgroups(_ spec: Spec) {
    let lines = (readFile("/proc/self/cgroup") ?? "").split(separator: "\n").map {
        $0.split(separator: ":", maxSplits: 2).map(String.init)
    }
    let cgroupNS = spec.linux?.namespaces?.contains { $0.type == "cgroup" && $0.path == nil } ?? false
    if cgroupNS {
        // Rooted at the container's own cgroup, in every hierarchy it was placed in.
        let placed = lines.filter { $0.count == 3 && !$0[1].hasPrefix("name=") }
        check(
            !placed.isEmpty && placed.allSatisfy { $0[2] == "/" }, "cgroup namespace rooted at the container's cgroup",
            "\(placed.map { $0.joined(separator: ":") })")
    } else if let path = spec.linux?.cgroupsPath, !path.contains(":") {
        let suffix = clean(path)
        check(
            lines.contains { $0.count == 3 && ($0[2] == suffix || $0[2].hasSuffix(suffix)) },
            "linux.cgroupsPath \(path)",
            "\(lines.map { $0.joined(separator: ":") })")
    }
    // Limits, where the container can see its own cgroup (a cgroup namespace and mount).
    guard cgroupNS, let mount = spec.mounts?.first(where: { $0.type == "cgroup" }).map({ clean($0.destination) }),
        let r = spec.linux?.resources
    else { return }
    let v2 = mountTable().last { $0.mountPoint == mount }?.fsType == "cgroup2"
    func value(_ v1: String, _ v2file: String) -> String? { readFile(mount + "/" + (v2 ? v2file : v1)).map(trimmed) }
    if let p = r.pids?.limit {
        expectEqual(value("pids/pids.max", "pids.max"), p > 0 ? String(p) : "max", "linux.resources.pids.limit")
    }
    if let m = r.memory?.limit {
        expectEqual(
            value("memory/memory.limit_in_bytes", "memory.max"),
            m > 0 ? String(m) : (v2 ? "max" : "9223372036854771712"), "linux.resources.memory.limit")
    }
    if let q = r.cpu?.quota, let per = r.cpu?.period, q > 0 {
        if v2 {
            expectEqual(value("", "cpu.max"), "\(q) \(per)", "linux.resources.cpu quota/period")
        } else {
            expectEqual(value("cpu/cpu.cfs_quota_us", ""), String(q), "linux.resources.cpu.quota")
        }
    }
    if let s = r.cpu?.shares, s > 0, !v2 {
        expectEqual(value("cpu/cpu.shares", ""), String(s), "linux.resources.cpu.shares")
    }
}

// MARK: - main

let argv = CommandLine.arguments
guard argv.count >= 2, let text = readFile(argv[1]) else {
    print("Bail out! usage: swrun-conformance CONFIG [HOSTNS]; cannot read the config")
    exit(2)
}
let spec: Spec
// The independent Codable model (JSONDecoder), not the runtime's own decoder: a slip in
// SpecMapper cannot pass both the runtime and its checker.
do { spec = try SpecLoader.decodeSpec(Array(text.utf8)) } catch {
    print("Bail out! \(argv[1]): \(error)")
    exit(2)
}
var hostNS: [String: UInt64] = [:], joined: [String: UInt64] = [:]
if argv.count >= 3 {
    for line in (readFile(argv[2]) ?? "").split(separator: "\n") {
        let f = line.split(separator: " ").map(String.init)
        if f.count == 2, let i = UInt64(f[1]) { hostNS[f[0]] = i }
        if f.count == 3, f[0] == "join", let i = UInt64(f[2]) { joined[f[1]] = i }
    }
}
print("TAP version 13")
if let p = spec.process { checkProcess(p) } else { check(false, "process", "missing from the config") }
checkNamespaces(spec, hostNS: hostNS, joined: joined)
checkMounts(spec)
checkDevices(spec)
checkKernelSettings(spec)
checkCgroups(spec)
print("1..\(checks)")
print("# \(checks - failures) passed, \(failures) failed")
exit(failures == 0 ? 0 : 1)
