import CSwrun
import Glibc

/// One end of a SOCK_SEQPACKET socketpair: every send is one message, every receive one whole
/// message, and a peer that dies reads as end-of-file. The sync channel between the runtime and
/// the container's init is built on it.
public final class PacketSocket {
    public let fd: OwnedFD

    public init(_ fd: OwnedFD) { self.fd = fd }

    public static func pair() throws(SyscallError) -> (PacketSocket, PacketSocket) {
        var fds: [Int32] = [0, 0]
        _ = try check("socketpair") {
            socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
        }
        return (PacketSocket(OwnedFD(fds[0])), PacketSocket(OwnedFD(fds[1])))
    }

    public func send(_ bytes: [UInt8]) throws(SyscallError) {
        _ = try check("send sync message") {
            bytes.withUnsafeBytes { Glibc.send(fd.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Returns nil on end-of-file (the peer closed or died). The message's real size is
    /// peeked first (MSG_PEEK|MSG_TRUNC), so a large one (a 70 kB annotation in the state,
    /// CVE-2021-43784's class) is never silently cut.
    public func receive() throws(SyscallError) -> [UInt8]? {
        let size = try check("receive sync message") { Glibc.recv(fd.raw, nil, 0, Int32(MSG_PEEK | MSG_TRUNC)) }
        // Every message has at least its type byte: 0 is end-of-file.
        if size == 0 { return nil }
        var buf = [UInt8](repeating: 0, count: size)
        let n = try check("receive sync message") {
            buf.withUnsafeMutableBytes { Glibc.recv(fd.raw, $0.baseAddress, $0.count, 0) }
        }
        if n != size { throw SyscallError("receive sync message (truncated)", nil, errno: EMSGSIZE) }
        return buf
    }

    /// One packet of at most `max` bytes and the descriptor it carries, if any (CRIU's RPC
    /// sends the orphaned pty master that way); nil at end-of-file.
    public func receiveWithDescriptor(max: Int, what: @autoclosure () -> String) throws(SyscallError) -> (
        bytes: [UInt8], fd: OwnedFD?
    )? {
        var buf = [UInt8](repeating: 0, count: max)
        var fd: Int32 = -1
        let n = try check(what()) {
            buf.withUnsafeMutableBytes { swrun_recv_packet_fd(self.fd.raw, $0.baseAddress!, $0.count, &fd) }
        }
        if n == 0 && fd < 0 { return nil }
        return (Array(buf[..<Int(n)]), fd >= 0 ? OwnedFD(fd) : nil)
    }

    public func send(_ bytes: [UInt8], what: @autoclosure () -> String) throws(SyscallError) {
        _ = try check(what()) {
            bytes.withUnsafeBytes { Glibc.send(fd.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// shutdown(SHUT_WR): the peer reads end-of-file, and may still answer.
    public func shutdownWrite() { _ = Glibc.shutdown(fd.raw, Int32(SHUT_WR)) }
}
