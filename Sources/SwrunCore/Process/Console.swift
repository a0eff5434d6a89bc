import OCISpec
import SwrunSys

/// The container's terminal: a pty from the container's own devpts instance, made the
/// controlling terminal and stdio of the process, with its master sent over the console
/// socket (SCM_RIGHTS, the pty's name as payload) as runc does.
enum Console {
    /// Parent side: connect to --console-socket before the clone (the path is a host path).
    /// Returns the socket to hand the master to: --console-socket, or for a foreground
    /// run/exec without one, a private socketpair whose other end swrun relays.
    static func connect(_ path: String?, terminal: Bool, detached: Bool) throws(SwrunError) -> (
        socket: OwnedFD?, relay: TTYRelay?
    ) {
        guard terminal else {
            if path != nil { throw SwrunError(.usage, "--console-socket specified, but process.terminal is false") }
            return (nil, nil)
        }
        guard let path else {
            if detached {
                throw SwrunError(.usage, "cannot allocate tty if swrun will detach without setting console socket")
            }
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
            try sys("set console size") {
                try Terminal.setSize(master.raw, rows: plan.consoleSize[0], cols: plan.consoleSize[1])
            }
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
                    throw SwrunError(
                        .system,
                        "mount console: /dev/console in the container is neither a file nor a device (a symlink?)")
                }
            }
            let target = try root.createFile("/dev/console")
            let tree = try sys("mount console") {
                try Mount.cloneTree(dir: slave.raw, "", recursive: false, display: slavePath)
            }
            try sys("mount console") { try Mount.attach(tree.raw, onto: target.raw, display: "/dev/console") }
        }
        for fd: Int32 in [0, 1, 2] { try sys("dup console") { try Files.dup2(slave.raw, fd) } }
        try sys { try Terminal.setControllingTerminal(0) }
        try sys { try Terminal.sendFD(plan.consoleSocket, master.raw, payload: slavePath) }
    }
}
