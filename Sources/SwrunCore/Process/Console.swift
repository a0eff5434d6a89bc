import OCISpec
import SwrunSys

/// The container's terminal: a pty from the container's own devpts instance, made the
/// controlling terminal and stdio of the process, with its master sent over the console
/// socket (SCM_RIGHTS, the pty's name as payload) as runc does.
enum Console {
    /// Parent side: connect to --console-socket before the clone (the path is a host path).
    /// Returns the socket to hand the master to: --console-socket, or for a foreground
    /// run/exec without one, a private socketpair whose other end swrun relays.
    static func connect(_ path: String?, terminal: Bool, detached: Bool) throws(SwrunError) -> (socket: OwnedFD?, relay: TTYRelay?) {
        guard terminal else {
            if path != nil { throw SwrunError(.usage, "--console-socket specified, but process.terminal is false") }
            return (nil, nil)
        }
        guard let path else {
            if detached { throw SwrunError(.usage, "cannot allocate tty if swrun will detach without setting console socket") }
            return (nil, try TTYRelay())
        }
        return (try sys("connect to console socket") { try Terminal.connect(path) }, nil)
    }

    /// A relayed terminal (no consoleSize in the config) starts at the size of swrun's own, set
    /// by the child when it makes the pty, before the process can ask; the relay follows later
    /// changes. (Set by the relay alone, a quick `stty size` could see 0 0.)
    static func startAtOurSize(_ plan: inout LaunchPlan, relay: TTYRelay?) {
        guard relay != nil, plan.consoleSize.isEmpty, Stdio.isatty(0), let size = Terminal.size(0) else { return }
        plan.consoleSize = [size.rows, size.cols]
    }

    /// Child side, after pivot_root (or setns into the mount namespace for exec).
    static func setUp(_ plan: LaunchPlan, bindDevConsole: Bool) throws(SwrunError) {
        guard plan.terminal, plan.consoleSocket >= 0 else { return }
        let (master, slavePath) = try sys("set up console") { try Terminal.openPTY() }
        if plan.consoleSize.count == 2 {
            try sys("set console size") { try Terminal.setSize(master.raw, rows: plan.consoleSize[0], cols: plan.consoleSize[1]) }
        }
        // CVE-2025-52565: the slave comes from the master fd, never from /dev/pts/N by path,
        // and must be a pty (major 136-143) before it is mounted or used.
        let slave = try sys("open console peer") { try Terminal.peer(master.raw) }
        // As runc: no "\r\n" for "\n" on the container's output.
        try sys("set up console") { try Terminal.clearONLCR(slave.raw) }
        let st = try sys { try Files.fstat(slave.raw, display: slavePath) }
        guard st.isCharDevice, (136...143).contains(Files.major(st.rdev)) else {
            throw SwrunError(.system, "console \(slavePath) is not a pty")
        }
        if bindDevConsole {
            let root = try SafePath(rootPath: "/")
            if let existing = try root.open("/dev/console", flags: OpenFlags.path | OpenFlags.noFollow) {
                let est = try sys("mount console") { try Files.fstat(existing.raw, display: "/dev/console") }
                if !est.isRegular && !est.isCharDevice {
                    throw SwrunError(.system, "mount console: /dev/console in the container is neither a file nor a device (a symlink?)")
                }
            }
            let target = try root.createFile("/dev/console")
            let tree = try sys("mount console") { try Mount.cloneTree(dir: slave.raw, "", recursive: false, display: slavePath) }
            try sys("mount console") { try Mount.attach(tree.raw, onto: target.raw, display: "/dev/console") }
        }
        for fd: Int32 in [0, 1, 2] { try sys("dup console") { try Files.dup2(slave.raw, fd) } }
        try sys { try Terminal.setControllingTerminal(0) }
        try sys { try Terminal.sendFD(plan.consoleSocket, master.raw, payload: slavePath) }
    }
}

/// The process's stdio given to the container's user (runc's fixStdioPermissions), so that
/// a non-root process can reopen /dev/stdout or its terminal: the pipes and sockets a client
/// passed (containerd's, conmon's), and the container's own pty. Never /dev/null, never a
/// regular file or another device (the caller's terminal, a host file it redirected to):
/// those stay the host's. Only the owner changes, as in runc; a file whose owner or group is
/// not mapped in the container's user namespace is left as it is.
enum StdioOwnership {
    static func give(_ plan: LaunchPlan) throws(SwrunError) {
        for fd: Int32 in [0, 1, 2] {
            guard let st = try? Files.fstat(fd), st.uid != plan.uid else { continue }
            let ours = plan.terminal && st.isCharDevice && (136...143).contains(Files.major(st.rdev))
            guard st.isFIFO || st.isSocket || ours else { continue }
            do { try Files.fchown(fd, uid: plan.uid) } catch where error.errno == Errno.EINVAL || error.errno == Errno.EPERM {
                continue
            } catch {
                throw SwrunError.system(error).wrapped("give stdio to the container's user")
            }
        }
    }
}

/// --pidfd-socket: a pidfd of the container's process, sent with SCM_RIGHTS (runc 1.2).
enum PidfdSocket {
    static func send(pid: Int32, to path: String) throws(SwrunError) {
        let pidfd = try sys("pidfd-socket") { try Proc.pidfdOpen(pid) }
        let sock = try sys("pidfd-socket: connect") { try Terminal.connect(path) }
        try sys("pidfd-socket: send") { try Terminal.sendFD(sock.raw, pidfd.raw, payload: "pidfd") }
    }
}

/// SCMP_ACT_NOTIFY: the seccomp listener fd goes to linux.seccomp.listenerPath with runc's
/// ContainerProcessState payload ({ociVersion, fds: ["seccompFd"], pid, metadata, state}).
enum SeccompNotify {
    /// Parent: connect before the clone (a host path, unreachable after pivot_root).
    static func connect(_ plan: LaunchPlan) throws(SwrunError) -> OwnedFD? {
        guard let path = plan.seccompListenerPath else { return nil }
        return try sys("connect to seccomp listener \(path)") { try Terminal.connect(path) }
    }

    /// Child: install the filter; with a listener, send its fd.
    static func install(_ plan: LaunchPlan, hostPid: Int32, stateJSON: String) throws(SwrunError) {
        guard let bpf = plan.seccompFilter else { return }
        let listener = try sys("install seccomp filter") { try SeccompBPF.install(bpf, flags: plan.seccompFlags) }
        guard let listener, plan.seccompListener >= 0 else { return }
        let state = stateJSON.isEmpty ? "{}" : stateJSON
        let payload = "{\"ociVersion\":\"\(Container.ociVersion)\",\"fds\":[\"seccompFd\"],\"pid\":\(hostPid),\"metadata\":\(JSON.quoted(plan.seccompListenerMetadata)),\"state\":\(state)}"
        try sys("send seccomp listener") { try Terminal.sendFD(plan.seccompListener, listener.raw, payload: payload) }
    }

    /// This process's pid in the host's /proc (read before any namespace or mount change),
    /// for the listener's message; 0 without a listener (nothing reads it then).
    static func hostPid(_ plan: LaunchPlan) -> Int32 {
        guard plan.seccompListener >= 0 else { return 0 }
        return ((try? Files.readlinkat(Files.atCWD, "/proc/self")).flatMap { Int32($0) }) ?? 0
    }
}
