import Glibc

/// One end of a SOCK_SEQPACKET socketpair: every send is one message, every receive one whole
/// message, and a peer that dies reads as end-of-file. The sync channel between the runtime and
/// the container's init is built on it.
public final class PacketSocket {
    public let fd: OwnedFD

    public init(_ fd: OwnedFD) { self.fd = fd }

    public static func pair() throws(SyscallError) -> (PacketSocket, PacketSocket) {
        var fds: [Int32] = [0, 0]
        _ = try check("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (PacketSocket(OwnedFD(fds[0])), PacketSocket(OwnedFD(fds[1])))
    }

    public func send(_ bytes: [UInt8]) throws(SyscallError) {
        _ = try check("send sync message") {
            bytes.withUnsafeBytes { Glibc.send(fd.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Returns nil on end-of-file (the peer closed or died).
    public func receive() throws(SyscallError) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = try check("receive sync message") {
            buf.withUnsafeMutableBytes { Glibc.recv(fd.raw, $0.baseAddress, $0.count, 0) }
        }
        if n == 0 { return nil }
        return Array(buf[0..<n])
    }
}
