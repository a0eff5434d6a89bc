import Glibc

/// A failed system call with the context needed to act on it:
/// `mount /proc: operation not permitted`.
///
/// The text after the colon is the errno text in lowercase, as Go (runc) prints it,
/// because clients match it (docker and podman look for "no such file or directory").
public struct SyscallError: Error, CustomStringConvertible, Sendable {
    public let op: String
    public let path: String?
    public let errno: Int32
    /// Said instead of the errno's text where the errno alone would mislead ("not a regular
    /// file" for a FIFO given as config.json).
    public let reason: String?

    public init(_ op: String, _ path: String? = nil, errno: Int32, reason: String? = nil) {
        self.op = op
        self.path = path
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        let why = reason ?? Errno.text(errno)
        if let path { return "\(op) \(path): \(why)" }
        return "\(op): \(why)"
    }
}

public enum Errno {
    public static var current: Int32 { Glibc.errno }

    /// Lowercased strerror text, as Go's syscall.Errno.Error() prints it.
    public static func text(_ code: Int32) -> String {
        guard let p = strerror(code) else { return "errno \(code)" }
        return String(cString: p).lowercased()
    }

    public static let ENOENT = Glibc.ENOENT
    public static let EEXIST = Glibc.EEXIST
    public static let EINTR = Glibc.EINTR
    public static let ESRCH = Glibc.ESRCH
    public static let EBUSY = Glibc.EBUSY
    public static let ENOTEMPTY = Glibc.ENOTEMPTY
    public static let EPERM = Glibc.EPERM
    public static let EACCES = Glibc.EACCES
    public static let EROFS = Glibc.EROFS
    public static let EINVAL = Glibc.EINVAL
    public static let ENOSYS = Glibc.ENOSYS
    public static let ENOTDIR = Glibc.ENOTDIR
    public static let ECHILD = Glibc.ECHILD
    public static let EAGAIN = Glibc.EAGAIN
    public static let ENXIO = Glibc.ENXIO
    public static let ELOOP = Glibc.ELOOP
    public static let EXDEV = Glibc.EXDEV
    public static let EIO = Glibc.EIO
    public static let EFBIG = Glibc.EFBIG
    public static let EMSGSIZE = Glibc.EMSGSIZE
}

/// Calls `body` until it does not fail with EINTR; throws a SyscallError with context otherwise.
/// This is the one place that reads errno after a call.
@inline(__always)
public func check<T: BinaryInteger>(
    _ op: @autoclosure () -> String, _ path: @autoclosure () -> String? = nil, _ body: () -> T
) throws(SyscallError) -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = Glibc.errno
        if e == Glibc.EINTR { continue }
        // (The texts are autoclosures: built on failure only.)
        throw SyscallError(op(), path(), errno: e)
    }
}
