import OCISpec
import SwrunSys

/// runc-compatible logging. `--log FILE` (default stderr) and `--log-format text|json`.
/// JSON lines carry exactly `level`, `msg`, `time` (RFC 3339): containerd decodes them into a
/// Go struct and podman parses a failed create's whole log file as one object, so nothing but
/// the error line is written unless --debug is given.
public enum Log {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            }
        }
    }

    public enum Format: Sendable { case text, json }

    public struct Config: Sendable {
        public var fd: Int32 = 2
        public var format: Format = .text
        public var minimum: Level = .warning
        public var isStderr: Bool = true
        public init() {}
    }

    nonisolated(unsafe) public private(set) static var config = Config()

    /// Opens the log file (O_APPEND, created 0644) and sets the format and level.
    public static func configure(path: String?, format: Format, debug: Bool) throws(SwrunError) {
        var c = Config()
        c.format = format
        c.minimum = debug ? .debug : .warning
        if let path, path != "/dev/stderr", !path.isEmpty {
            let fd = try sys("open log file") {
                try Files.open(path, OpenFlags.writeOnly | OpenFlags.append | OpenFlags.create, mode: 0o644)
            }
            c.fd = fd.release()
            c.isStderr = false
        }
        config = c
    }

    public static func debug(_ msg: @autoclosure () -> String) {
        if config.minimum <= .debug { write(.debug, msg()) }
    }

    public static func warning(_ msg: String) { write(.warning, msg) }

    public static func error(_ msg: String) { write(.error, msg) }

    public static func line(_ level: Level, _ msg: String, format: Format) -> String {
        let time = Timestamp.rfc3339(nanoseconds: false)
        switch format {
        case .json:
            return "{\"level\":\"\(level.name)\",\"msg\":\(JSON.quoted(msg)),\"time\":\"\(time)\"}\n"
        case .text:
            return "time=\"\(time)\" level=\(level.name) msg=\(JSON.quoted(msg))\n"
        }
    }

    static func write(_ level: Level, _ msg: String) {
        guard level >= config.minimum else { return }
        try? Files.writeAll(fd: config.fd, line(level, msg, format: config.format))
    }
}
