/// One problem `swrun check` found: where (a field of config.json, "bundle", "host"), how
/// bad (an error is one create would stop at; a warning is one it lets pass), what, and a
/// one-line fix.
public struct Finding: Sendable, Equatable {
    public enum Severity: String, Sendable { case error, warning }
    public var path: String
    public var severity: Severity
    public var message: String
    public var hint: String

    public init(path: String, severity: Severity = .error, message: String, hint: String = "") {
        self.path = path
        self.severity = severity
        self.message = message
        self.hint = hint
    }

    /// A create error as a finding: its text is "FIELD: what is wrong" when it names a
    /// field (every config error does), and the field becomes the path.
    public init(_ e: SwrunError, severity: Severity = .error) {
        let (path, rest) = Finding.split(e.message)
        self.init(path: path, severity: severity, message: rest, hint: Hints.hint(path: path, message: rest))
    }

    /// "linux.namespaces[1].type: unknown ..." -> ("linux.namespaces[1].type", "unknown ...").
    /// A prefix with a space in it is prose, not a field.
    static func split(_ text: String) -> (String, String) {
        let u = Array(text.utf8)
        var i = 0
        while i + 1 < u.count, !(u[i] == UInt8(ascii: ":") && u[i + 1] == UInt8(ascii: " ")) { i += 1 }
        guard i + 1 < u.count else { return ("", text) }
        let head = String(decoding: u[..<i], as: UTF8.self)
        guard !head.isEmpty, !head.contains(" ") || head.hasPrefix("linux.sysctl[") else { return ("", text) }
        return (head == "(root)" ? "config.json" : head, String(decoding: u[(i + 2)...], as: UTF8.self))
    }
}

/// Where the checks of a create report. `create` makes them with `collecting` false: a
/// check's error is thrown at once, exactly as before. `check` makes the same checks with
/// `collecting` true: each one's error is recorded and the next check runs. Both go through
/// the same code (PlanBuilder, Validation), so what check reports cannot drift from what
/// create refuses.
public struct Findings: Sendable {
    public private(set) var list: [Finding] = []
    public let collecting: Bool

    public init(collecting: Bool) { self.collecting = collecting }

    public var hasErrors: Bool { list.contains { $0.severity == .error } }

    /// One check. A closure that does not escape: create pays a call, nothing more.
    /// (Closures infer untyped throws in Swift 6.3; the error is always a SwrunError.)
    @inline(__always)
    public mutating func step(_ body: () throws -> Void) throws(SwrunError) {
        do { try body() } catch {
            let e = error as? SwrunError ?? SwrunError(.system, "\(error)")
            guard collecting else { throw e }
            list.append(Finding(e))
        }
    }

    public mutating func add(_ f: Finding) { list.append(f) }

    public mutating func error(_ path: String, _ message: String, hint: String? = nil) {
        list.append(
            Finding(
                path: path, severity: .error, message: message, hint: hint ?? Hints.hint(path: path, message: message)))
    }

    public mutating func warning(_ path: String, _ message: String, hint: String? = nil) {
        list.append(
            Finding(
                path: path, severity: .warning, message: message, hint: hint ?? Hints.hint(path: path, message: message)
            ))
    }

    /// Drops findings about fields that failed to decode (what they would say repeats the
    /// decode error) and exact repeats.
    mutating func dropWithin(_ failed: [String]) {
        var seen: [Finding] = []
        for f in list where !failed.contains(where: { !$0.isEmpty && Findings.within(f.path, $0) }) && !seen.contains(f)
        { seen.append(f) }
        list = seen
    }

    static func within(_ path: String, _ prefix: String) -> Bool {
        if path == prefix { return true }
        return path.hasPrefix(prefix + ".") || path.hasPrefix(prefix + "[")
    }
}
