import CSwrun
import Glibc

/// Pseudo-terminals and the console-socket handoff (runc's --console-socket contract).
public enum Terminal {
    /// Opens /dev/ptmx of the current mount namespace: returns the master and the slave path.
    public static func openPTY() throws(SyscallError) -> (master: OwnedFD, slavePath: String) {
        var name = [CChar](repeating: 0, count: 128)
        let fd = try check("open /dev/ptmx") { swrun_pty_open(&name, 128) }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (OwnedFD(fd), path)
    }

    /// The slave side, from the master fd (CVE-2025-52565: a path can be swapped).
    public static func peer(_ master: Int32) throws(SyscallError) -> OwnedFD {
        OwnedFD(try check("ioctl TIOCGPTPEER") { swrun_pty_peer(master) })
    }

    public static func setControllingTerminal(_ fd: Int32) throws(SyscallError) {
        _ = try check("ioctl TIOCSCTTY") { swrun_set_ctty(fd) }
    }

    public static func setSize(_ fd: Int32, rows: UInt16, cols: UInt16) throws(SyscallError) {
        _ = try check("ioctl TIOCSWINSZ") { swrun_set_winsize(fd, rows, cols) }
    }

    public static func size(_ fd: Int32) -> (rows: UInt16, cols: UInt16)? {
        var r: UInt16 = 0, c: UInt16 = 0
        return swrun_get_winsize(fd, &r, &c) == 0 ? (r, c) : nil
    }

    public static func connect(_ path: String) throws(SyscallError) -> OwnedFD {
        OwnedFD(try check("connect", path) { swrun_unix_connect(path) })
    }

    public static func sendFD(_ socket: Int32, _ fd: Int32, payload: String) throws(SyscallError) {
        let bytes = Array(payload.utf8)
        _ = try check("send console fd") {
            bytes.withUnsafeBytes { swrun_send_fd(socket, fd, $0.baseAddress!, $0.count) }
        }
    }
}

extension Terminal {
    public static func receiveFD(_ socket: Int32) throws(SyscallError) -> OwnedFD {
        OwnedFD(try check("receive console fd") { swrun_recv_fd(socket) })
    }

    public static func streamPair() throws(SyscallError) -> (OwnedFD, OwnedFD) {
        var fds: [Int32] = [0, 0]
        _ = try check("socketpair") { swrun_stream_pair(&fds) }
        return (OwnedFD(fds[0]), OwnedFD(fds[1]))
    }

    /// Puts a terminal in raw mode; returns what restores it (nil if fd is not a terminal).
    public static func makeRaw(_ fd: Int32) -> [UInt8]? {
        var saved = [UInt8](repeating: 0, count: 256)
        let ok = saved.withUnsafeMutableBytes { swrun_tty_make_raw(fd, $0.baseAddress!, $0.count) } == 0
        return ok ? saved : nil
    }

    /// Clears ONLCR (no "\n" -> "\r\n" on output), as runc sets up a container's pty.
    public static func clearONLCR(_ fd: Int32) throws(SyscallError) {
        _ = try check("tcsetattr") { swrun_tty_clear_onlcr(fd) }
    }

    public static func restore(_ fd: Int32, _ saved: [UInt8]) {
        _ = saved.withUnsafeBytes { swrun_tty_restore(fd, $0.baseAddress!) }
    }
}

extension Files {
    /// poll(2) for readability on several fds; returns which are readable or hung up.
    public static func pollReadable(_ fds: [Int32], timeoutMs: Int32) -> [Bool] {
        var p = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let n = Glibc.poll(&p, nfds_t(p.count), timeoutMs)
        if n <= 0 { return fds.map { _ in false } }
        return p.map { $0.revents != 0 }
    }

    /// One read(2); empty on end-of-file or error (EIO from a pty whose slave closed).
    public static func readSome(_ fd: Int32) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 16384)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buf[0..<n]) : []
    }
}

/// sd_notify sockets (datagrams).
public enum NotifySocket {
    public static func bind(_ path: String) throws(SyscallError) -> OwnedFD {
        OwnedFD(try check("bind notify socket", path) { swrun_unix_dgram_bind(path) })
    }

    public static func send(_ path: String, _ message: [UInt8]) throws(SyscallError) {
        _ = try check("send to notify socket", path) {
            message.withUnsafeBytes { swrun_unix_dgram_sendto(path, $0.baseAddress!, $0.count) }
        }
    }
}
