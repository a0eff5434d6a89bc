import SwrunSys

/// The one error type of SwrunCore. `kind` is what callers branch on; `message` is what users
/// and clients read, built up with context at each layer (`mount proc to /proc: operation not
/// permitted`). The wording of notExist and notRunning is fixed: containerd greps for it.
public struct SwrunError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case notExist // "container does not exist"
        case notRunning // "container not running"
        case exists // "container with given ID already exists"
        case invalidConfig // a bad config.json or flag value
        case usage // a bad command line
        case badState // the verb does not apply in the container's current status
        case system // a syscall or child failure
        case peerGone // the other end of the sync socket closed: it reports (or died)
    }

    public let kind: Kind
    public let message: String
    /// The errno behind the failure (0 when there is none): kept through every layer and
    /// across the sync socket, so a caller can tell EACCES from ENOENT.
    public let errno: Int32

    public init(_ kind: Kind, _ message: String, errno: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    public static let notExist = SwrunError(.notExist, "container does not exist")
    public static let notRunning = SwrunError(.notRunning, "container not running")

    public static func config(_ message: String) -> SwrunError { SwrunError(.invalidConfig, message) }
    public static func system(_ e: SyscallError) -> SwrunError { SwrunError(.system, e.description, errno: e.errno) }

    /// Prepends context: `"\(context): \(message)"`, keeping the kind and the errno.
    public func wrapped(_ context: String) -> SwrunError { SwrunError(kind, "\(context): \(message)", errno: errno) }
}

/// Runs a SwrunSys call and turns its SyscallError into a SwrunError with optional context.
/// (Closures infer untyped throws in Swift 6.3, so the body is untyped and mapped here.)
/// The context is an autoclosure: built only on failure, not on every successful call.
@inline(__always)
func sys<T>(_ context: @autoclosure () -> String? = nil, _ body: () throws -> T) throws(SwrunError) -> T {
    do {
        return try body()
    } catch let error as SyscallError {
        let e = SwrunError.system(error)
        throw context().map { e.wrapped($0) } ?? e
    } catch let error as SwrunError {
        throw context().map { error.wrapped($0) } ?? error
    } catch {
        let e = SwrunError(.system, "\(error)")
        throw context().map { e.wrapped($0) } ?? e
    }
}
