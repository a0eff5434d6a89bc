import Glibc

/// A minimal synchronous D-Bus client transport: an AF_UNIX stream socket, the SASL
/// handshake, and whole messages as bytes in and out. The wire format of a message (its
/// header fields and body) is SwrunCore's (Cgroups/Systemd/DBusMessage.swift); this file
/// only knows enough of the fixed header to cut the byte stream into messages.
///
/// Why not libsystemd or libdbus: swrun is one static executable, and the systemd cgroup
/// driver needs a handful of method calls and one signal. Why synchronous: swrun is single-threaded
/// (no Dispatch, no async; docs/architecture.md). Every wait is a poll(2) against one
/// deadline on CLOCK_MONOTONIC, so a systemd that hangs, or a peer that sends half a
/// message, costs at most the caller's timeout, never an unbounded block.
///
/// Two kinds of peer:
/// - systemd's private socket (/run/systemd/private, root only): a direct peer-to-peer
///   connection; no bus daemon, so no Hello, and systemd sends its signals to every direct
///   connection without a Subscribe.
/// - a message bus (the system bus, /run/dbus/system_bus_socket; a user's session bus):
///   the first message must be org.freedesktop.DBus.Hello (the caller sends it: it is an
///   ordinary method call).
public final class DBusConnection {
    public let fd: OwnedFD
    /// The socket's path, for error messages.
    public let path: String
    /// Bytes received and not yet handed out as a message (or as the SASL reply line): those
    /// of `inbox` from `inboxStart` on. (An offset rather than removeFirst: on systemd's
    /// private socket dozens of signals arrive in one read, and each removal would move
    /// the rest.)
    private var inbox: [UInt8] = []
    private var inboxStart = 0
    /// One read's buffer, reused.
    private var scratch: [UInt8] = []
    /// The server's "OK <guid>" line has not been read yet (the first messages went out
    /// with the handshake, see `connect`): the first receive consumes it before any message.
    private var awaitingAuthReply = false
    /// Messages received so far (signals included): systemd's private socket carries every
    /// signal systemd emits, the bus only those matched.
    public private(set) var messagesReceived = 0
    /// The last serial handed out by `nextSerial()`; 0 is never a valid serial.
    private var lastSerial: UInt32 = 0
    /// Called with every chunk of bytes written (`sent` true) and every whole message read
    /// (`sent` false), the SASL lines included: the probe records real exchanges with it
    /// (test fixtures), and a debug log can show them. Nil in normal runs.
    public var transcript: ((_ sent: Bool, _ bytes: [UInt8]) -> Void)?

    /// The errnos that SwrunCore's D-Bus code reports or tells apart (it does not import
    /// Glibc): a malformed message, a peer that did not answer in time, a socket nobody
    /// listens on.
    public static let badMessageErrno = EBADMSG
    public static let timedOutErrno = ETIMEDOUT
    public static let connectionRefusedErrno = ECONNREFUSED

    public static let systemdPrivateSocket = "/run/systemd/private"
    public static let systemBusSocket = "/run/dbus/system_bus_socket"

    /// The largest message accepted: far above anything systemd sends (its largest, a
    /// unit's PropertiesChanged, is a few kB), well below the specification's 128 MiB. A
    /// peer that announces more is refused at once rather than read.
    public static let maxMessageBytes = 16 << 20
    /// The longest SASL line read from the server ("OK" and a 32-digit GUID in practice).
    static let maxAuthLine = 1024

    private init(fd: OwnedFD, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Connects to the socket at `path` and authenticates with SASL EXTERNAL as `uid` (the
    /// server checks it against SO_PEERCRED): the NUL byte, `AUTH EXTERNAL <hex of the
    /// uid's decimal digits>` and `BEGIN` go out in one write, as sd-bus sends them.
    /// NEGOTIATE_UNIX_FD is not sent: no file descriptors are passed.
    ///
    /// With `pipelineMessages` the server's `OK <guid>` is not waited for here: the caller
    /// sends its first messages at once and the first `receiveMessage` reads the OK line,
    /// a round trip saved. The specification allows it (the stream of messages starts right
    /// after BEGIN's CRLF) and dbus-daemon handles it; systemd's private socket does not,
    /// reliably: sd-bus (252) leaves message bytes that arrived in the same read as BEGIN in
    /// its buffer until more input comes, so a first call sent with the handshake can go
    /// unanswered (seen in the test VM: one connection in a few dozen waited out its
    /// timeout). Without it (systemd's private socket) the OK line is read before this
    /// returns; a rejection throws EACCES either way.
    ///
    /// A stream socket's connect can wait for the listener's backlog: the socket is
    /// non-blocking, and EAGAIN is retried until `deadline` (milliseconds on
    /// `Clock.monotonicMilliseconds()`). `transcript`, if given, sees the handshake too.
    public static func connect(
        path: String, uid: UInt32, deadline: Int, pipelineMessages: Bool = false,
        transcript: ((_ sent: Bool, _ bytes: [UInt8]) -> Void)? = nil
    ) throws(SyscallError) -> DBusConnection {
        let raw = try check("socket") {
            Glibc.socket(
                AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        let conn = DBusConnection(fd: OwnedFD(raw), path: path)
        conn.transcript = transcript
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        // The path and its terminating NUL must fit; a NUL inside would name another socket.
        guard !pathBytes.isEmpty, pathBytes.count < capacity, !pathBytes.contains(0) else {
            throw SyscallError("connect", path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in
            for (i, b) in pathBytes.enumerated() { dst[i] = b }
            dst[pathBytes.count] = 0
        }
        // sun_path follows the family field.
        let len = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + 1)
        while true {
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(raw, $0, len) }
            }
            if r == 0 { break }
            let e = Glibc.errno
            if e == EINTR { continue }
            if e == EAGAIN {
                // The listener's backlog is full (systemd busy): wait a little, bounded.
                if Clock.monotonicMilliseconds() >= deadline { throw SyscallError("connect", path, errno: ETIMEDOUT) }
                Proc.sleep(milliseconds: 2)
                continue
            }
            if e == EINPROGRESS {
                try conn.waitFor(Int16(POLLOUT), deadline: deadline, op: "connect")
                var soError: Int32 = 0
                var soLen = socklen_t(MemoryLayout<Int32>.size)
                _ = try check("getsockopt", path) { getsockopt(raw, SOL_SOCKET, SO_ERROR, &soError, &soLen) }
                if soError != 0 { throw SyscallError("connect", path, errno: soError) }
                break
            }
            throw SyscallError("connect", path, errno: e)
        }
        try conn.send(authBytes(uid: uid), deadline: deadline)
        conn.awaitingAuthReply = true
        if !pipelineMessages { try conn.readAuthReply(deadline: deadline) }
        return conn
    }

    /// The client's side of the handshake: "\0AUTH EXTERNAL <hex>\r\nBEGIN\r\n", where
    /// <hex> is the uid's decimal text, each byte as two lowercase hex digits (uid 0 is
    /// "30", 1000 is "31303030").
    public static func authBytes(uid: UInt32) -> [UInt8] {
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for b in Digits.decimal(uid).utf8 {
            hex.append(hexDigits[Int(b >> 4)])
            hex.append(hexDigits[Int(b & 0xf)])
        }
        return [0] + Array("AUTH EXTERNAL ".utf8) + hex + Array("\r\nBEGIN\r\n".utf8)
    }

    /// A fresh serial for an outgoing message: 1, 2, 3... (wrapping past 0).
    public func nextSerial() -> UInt32 {
        lastSerial = lastSerial == UInt32.max ? 1 : lastSerial + 1
        return lastSerial
    }

    public func close() { fd.close() }

    /// Writes all of `bytes`, waiting (bounded) while the socket's buffer is full.
    /// MSG_NOSIGNAL: a peer that went away is an EPIPE error, not a SIGPIPE.
    public func send(_ bytes: [UInt8], deadline: Int) throws(SyscallError) {
        transcript?(true, bytes)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return Glibc.send(fd.raw, base + offset, buf.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { offset += n; continue }
            let e = n < 0 ? Glibc.errno : EPIPE
            if e == EINTR { continue }
            if e == EAGAIN {
                try waitFor(Int16(POLLOUT), deadline: deadline, op: "send D-Bus message")
                continue
            }
            throw SyscallError("send D-Bus message", path, errno: e)
        }
    }

    /// The next whole message, as its bytes, read before `deadline`. The fixed header is
    /// checked just enough to know the length: the endianness mark ('l' or 'B'), protocol
    /// version 1, and the announced total (16 bytes, the header fields padded to 8, the
    /// body) against `maxMessageBytes`. Everything else is the decoder's job.
    /// Throws ETIMEDOUT at the deadline, ECONNRESET when the peer closes (mid-message
    /// included), EBADMSG for a stream that is not D-Bus, EACCES when authentication
    /// was rejected.
    public func receiveMessage(deadline: Int) throws(SyscallError) -> [UInt8] {
        if awaitingAuthReply { try readAuthReply(deadline: deadline) }
        while inbox.count - inboxStart < 16 { try fill(deadline: deadline) }
        let total = try DBusConnection.messageLength(Array(inbox[inboxStart..<(inboxStart + 16)]))
        while inbox.count - inboxStart < total { try fill(deadline: deadline) }
        let message = Array(inbox[inboxStart..<(inboxStart + total)])
        inboxStart += total
        messagesReceived += 1
        transcript?(false, message)
        return message
    }

    /// The total length of the message whose first 16 bytes begin `header`.
    public static func messageLength(_ header: [UInt8]) throws(SyscallError) -> Int {
        guard header.count >= 16 else {
            throw SyscallError("receive D-Bus message", nil, errno: EBADMSG, reason: "short header")
        }
        let big: Bool
        switch header[0] {
        case UInt8(ascii: "l"): big = false
        case UInt8(ascii: "B"): big = true
        default:
            throw SyscallError(
                "receive D-Bus message", nil, errno: EBADMSG,
                reason: "not a D-Bus message (endianness byte \(header[0]))")
        }
        guard header[3] == 1 else {
            throw SyscallError(
                "receive D-Bus message", nil, errno: EBADMSG, reason: "unsupported D-Bus protocol version \(header[3])")
        }
        func u32(_ at: Int) -> Int {
            let b = (0..<4).map { Int(header[at + $0]) }
            return big ? (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) : (b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
        }
        let bodyLength = u32(4), fieldsLength = u32(12)
        // Each is at most 2^32-1, so the sum cannot overflow an Int.
        let total = 16 + ((fieldsLength + 7) & ~7) + bodyLength
        guard total <= maxMessageBytes else {
            throw SyscallError(
                "receive D-Bus message", nil, errno: EMSGSIZE,
                reason: "message of \(total) bytes announced, more than \(maxMessageBytes)")
        }
        return total
    }

    /// Reads the server's reply to the pipelined AUTH: one line. "OK <guid>" lets the
    /// messages follow; REJECTED, ERROR or anything else fails the connection.
    private func readAuthReply(deadline: Int) throws(SyscallError) {
        while true {
            if let end = crlf(in: inbox, from: inboxStart) {
                let line = Array(inbox[inboxStart..<end])
                inboxStart = end + 2
                transcript?(false, line + [13, 10])
                awaitingAuthReply = false
                if line.starts(with: Array("OK ".utf8)) { return }
                let said = String(decoding: line.prefix(200), as: UTF8.self)
                throw SyscallError("authenticate to D-Bus", path, errno: EACCES, reason: "the server answered \(said)")
            }
            if inbox.count - inboxStart > DBusConnection.maxAuthLine {
                throw SyscallError(
                    "authenticate to D-Bus", path, errno: EBADMSG,
                    reason: "no authentication reply line in \(inbox.count - inboxStart) bytes")
            }
            try fill(deadline: deadline)
        }
    }

    private func crlf(in b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < b.count {
            if b[i] == 13 && b[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// One read of what is available into the inbox, after waiting (bounded) for it.
    private func fill(deadline: Int) throws(SyscallError) {
        if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: 65536) }
        // What was handed out goes before more comes in.
        if inboxStart > 0 {
            inbox.removeFirst(inboxStart)
            inboxStart = 0
        }
        while true {
            let n = scratch.withUnsafeMutableBytes { Glibc.recv(fd.raw, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                inbox += scratch[0..<n]
                return
            }
            if n == 0 {
                throw SyscallError(
                    "receive D-Bus message", path, errno: ECONNRESET,
                    reason: inbox.isEmpty
                        ? "connection closed by the peer" : "connection closed by the peer in the middle of a message")
            }
            let e = Glibc.errno
            if e == EINTR { continue }
            if e == EAGAIN {
                try waitFor(Int16(POLLIN), deadline: deadline, op: "receive D-Bus message")
                continue
            }
            throw SyscallError("receive D-Bus message", path, errno: e)
        }
    }

    /// poll(2) for `events` until the deadline. A hang-up or error condition returns, so
    /// that the next read or write reports it with its own errno.
    private func waitFor(_ events: Int16, deadline: Int, op: String) throws(SyscallError) {
        while true {
            let left = deadline - Clock.monotonicMilliseconds()
            if left <= 0 { throw SyscallError(op, path, errno: ETIMEDOUT, reason: "no answer in time") }
            var p = pollfd(fd: fd.raw, events: events, revents: 0)
            let n = Glibc.poll(&p, 1, Int32(Swift.min(left, Int(Int32.max))))
            if n > 0 { return }
            if n < 0 {
                let e = Glibc.errno
                if e == EINTR { continue }
                throw SyscallError("poll", path, errno: e)
            }
        }
    }
}
