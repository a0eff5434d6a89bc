import CSwrun
import Glibc

public enum ExitStatus: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    init(raw: Int32) {
        if swrun_wifexited(raw) != 0 {
            self = .exited(swrun_wexitstatus(raw))
        } else {
            self = .signaled(swrun_wtermsig(raw))
        }
    }

    /// The shell convention runc uses for `run`: the exit code, or 128 + signal.
    public var shellCode: Int32 {
        switch self {
        case .exited(let c): return c
        case .signaled(let s): return 128 + s
        }
    }
}

public enum Proc {
    public static func getpid() -> Int32 { Glibc.getpid() }
    public static func getppid() -> Int32 { Glibc.getppid() }

    /// argv, from what argv.c kept, made once (main and the CVE-2019-5736 re-execution both
    /// read it). Not CommandLine.arguments: its lazy globals are the only code `run` needs
    /// from a 64 KB stretch of the standard library's text (a page-fault window of its own,
    /// docs/performance.md "Text layout").
    public static let arguments: [String] = {
        var count: Int32 = 0
        let argv = _swift_stdlib_getUnsafeArgvArgc(&count)
        var out: [String] = []
        out.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            if let arg = argv[i] { out.append(String(cString: arg)) }
        }
        return out
    }()

    /// Fork-like clone with CLONE_NEW* flags. The single-thread invariant is checked first:
    /// forking a multi-threaded Swift process can leave runtime locks held in the child.
    public static func fork(namespaces flags: Int32) throws(SyscallError) -> Int32 {
        try ThreadGuard.assertSingleThreaded()
        fflush(nil)
        return try check("clone") { swrun_fork(flags) }
    }

    /// clone3 with CLONE_INTO_CGROUP; nil where the kernel has no clone3 or cannot place
    /// the child that way (then fork(namespaces:) and a cgroup.procs write are used).
    public static func fork(namespaces flags: Int32, intoCgroup cgroupFd: Int32) throws(SyscallError) -> Int32? {
        try ThreadGuard.assertSingleThreaded()
        fflush(nil)
        while true {
            let pid = swrun_fork_into_cgroup(flags, cgroupFd)
            if pid >= 0 { return pid }
            let e = errno
            if e == EINTR { continue }
            if e == ENOSYS || e == E2BIG || e == EINVAL || e == EOPNOTSUPP { return nil }
            throw SyscallError("clone3", nil, errno: e)
        }
    }

    public static func waitpid(_ pid: Int32, noHang: Bool = false) throws(SyscallError) -> ExitStatus? {
        var status: Int32 = 0
        let r = try check("waitpid") { Glibc.waitpid(pid, &status, noHang ? WNOHANG : 0) }
        if r == 0 { return nil }
        return ExitStatus(raw: status)
    }

    /// Sends a signal; returns false if the process does not exist.
    @discardableResult
    public static func kill(_ pid: Int32, _ sig: Int32) throws(SyscallError) -> Bool {
        if Glibc.kill(pid, sig) == 0 { return true }
        if errno == ESRCH { return false }
        throw SyscallError("kill", String(pid), errno: errno)
    }

    public static func exit(_ code: Int32) -> Never { _exit(code) }

    public static func setsid() throws(SyscallError) { _ = try check("setsid") { Glibc.setsid() } }

    public static func sleep(milliseconds: Int) {
        var ts = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var rem = timespec()
        while nanosleep(&ts, &rem) != 0 && errno == EINTR { ts = rem }
    }

    /// execve(2). Returns only on failure.
    public static func exec(_ path: String, _ args: [String], _ env: [String]) -> SyscallError {
        let cargs = cStrings(args), cenv = cStrings(env)
        Glibc.execve(path, cargs, cenv)
        let e = errno
        freeCStrings(cargs, args.count)
        freeCStrings(cenv, env.count)
        return SyscallError("exec", path, errno: e)
    }

    /// A NULL-terminated C array of copies of `strings` (argv, envp), built without Swift
    /// arrays of optional pointers: the init's last step costs no new generic metadata.
    static func cStrings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { p[i] = strdup(s) }
        p[strings.count] = nil
        return p
    }

    static func freeCStrings(_ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, _ count: Int) {
        for i in 0..<count { free(p[i]) }
        p.deallocate()
    }

    /// posix_spawn with stdin/stdout/stderr replaced by the given fds (-1 keeps ours).
    /// `cwd`: the child's working directory (ours when nil), set in the child only: the
    /// caller's own working directory never changes.
    public static func spawn(
        _ path: String, _ args: [String], _ env: [String], stdin: Int32, stdout: Int32, stderr: Int32,
        cwd: String? = nil
    ) throws(SyscallError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let cwd { _ = swrun_spawn_addchdir(&actions, cwd) }
        if stdin >= 0 { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        if stdout >= 0 { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if stderr >= 0 { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        return try spawn(path, args, env, actions: &actions)
    }

    /// posix_spawn with the caller's file actions. The child must not inherit swrun's
    /// blocked or ignored signals: an empty mask and every signal's default disposition.
    static func spawn(_ path: String, _ args: [String], _ env: [String], actions: inout posix_spawn_file_actions_t)
        throws(SyscallError) -> Int32
    {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cargs = cStrings(args), cenv = cStrings(env)
        defer {
            freeCStrings(cargs, args.count)
            freeCStrings(cenv, env.count)
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, cargs, cenv)
        if rc != 0 { throw SyscallError("spawn", path, errno: rc) }
        return pid
    }

    /// A fork-like clone of a sibling (CLONE_PARENT): 0 in the child; in the caller the
    /// child's pid (in the caller's PID namespace) and a pidfd for it, whose pid another
    /// process reads with `pid(ofPidfd:)` in its own namespace.
    public static func forkSibling(namespaces flags: Int32, proc: Int32) throws(SyscallError) -> (
        pid: Int32, pidfd: OwnedFD?
    ) {
        try ThreadGuard.assertSingleThreaded(proc: proc)
        fflush(nil)
        var fd: Int32 = -1
        let pid = try check("clone3(CLONE_PARENT)") { swrun_fork_sibling(flags, &fd) }
        return (pid, pid == 0 ? nil : OwnedFD(fd))
    }

    /// The pid a pidfd refers to, in this process's PID namespace (/proc/self/fdinfo's
    /// "Pid:" line); nil when the process is gone or not visible here.
    public static func pid(ofPidfd fd: Int32) -> Int32? {
        guard let text = try? Files.readString("/proc/self/fdinfo/\(fd)") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Pid:") {
            if let pid = Int32(trimWhitespace(line.dropFirst(4))), pid > 0 { return pid }
        }
        return nil
    }

    /// posix_spawn of `path` with exactly the descriptors `fds`: the child's descriptor i is
    /// `fds[i]`, or /dev/null where that is nil; nothing else is inherited (everything swrun
    /// opens is close-on-exec). Signals as `spawn` leaves them. criu swrk gets its RPC socket
    /// as descriptor 3 and the namespaces it must inherit after it, as runc hands them over.
    public static func spawn(_ path: String, _ args: [String], _ env: [String], fds: [Int32?]) throws(SyscallError)
        -> Int32
    {
        // Each source is duplicated above every target first: a dup2 onto a target that is
        // still another entry's source would close that source (and one onto itself would
        // leave it close-on-exec).
        var dups: [OwnedFD] = []
        for fd in fds {
            guard let fd else { dups.append(OwnedFD(-1)); continue }
            dups.append(
                OwnedFD(try check("spawn \(path): dup", nil) { fcntl(fd, F_DUPFD_CLOEXEC, Int32(max(fds.count, 3))) }))
        }
        defer { for d in dups { d.close() } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (i, d) in dups.enumerated() {
            if d.raw >= 0 {
                posix_spawn_file_actions_adddup2(&actions, d.raw, Int32(i))
            } else {
                posix_spawn_file_actions_addopen(&actions, Int32(i), "/dev/null", O_RDWR, 0)
            }
        }
        return try spawn(path, args, env, actions: &actions)
    }

    public static func pidfdOpen(_ pid: Int32) throws(SyscallError) -> OwnedFD {
        OwnedFD(try check("pidfd_open", String(pid)) { swrun_pidfd_open(pid) })
    }

    public static func forwardSignals(to pid: Int32) { _ = swrun_forward_signals_to(pid) }

    public static func resetSignalHandlers() { _ = swrun_reset_signal_dispositions() }

    /// Runs `body` with every signal blocked (around a fork: no handler may run in the child
    /// before it has reset its dispositions).
    public static func withSignalsBlocked<T>(_ body: () throws(SyscallError) -> T) throws(SyscallError) -> T {
        var old = sigset_t()
        _ = swrun_block_all_signals(&old, MemoryLayout<sigset_t>.size)
        defer { _ = swrun_restore_signals(&old) }
        return try body()
    }

    public static func unblockAllSignals() {
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
    }

    public static func ignoreSignal(_ sig: Int32) { signal(sig, SIG_IGN) }

    public static func environment() -> [String] {
        var out: [String] = []
        var p = environ
        while let s = p.pointee {
            out.append(String(cString: s))
            p += 1
        }
        return out
    }

    public static func getenv(_ name: String) -> String? {
        guard let v = Glibc.getenv(name) else { return nil }
        return String(cString: v)
    }
}

public enum ThreadGuard {
    /// Counts entries in /proc/self/task.
    public static func threadCount() -> Int {
        (try? Files.listDirectory("/proc/self/task").count) ?? -1
    }

    /// The same through a procfs handle (`proc`): after joining a mount namespace, /proc is
    /// another PID namespace's, where this process has no /proc/self.
    public static func threadCount(proc: Int32) -> Int {
        guard
            let task = try? Files.openat(
                proc, "self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, display: "/proc/self/task")
        else { return -1 }
        return (try? Files.listDirectory(fd: task.raw, display: "/proc/self/task").count) ?? -1
    }

    public static func assertSingleThreaded(proc: Int32? = nil) throws(SyscallError) {
        let n = proc.map { threadCount(proc: $0) } ?? threadCount()
        if n != 1 { throw SyscallError("refusing to fork with \(n) threads", nil, errno: EDEADLK) }
    }
}
