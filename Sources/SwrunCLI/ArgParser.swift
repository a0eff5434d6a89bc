import SwrunCore

/// A small table-driven parser with runc's (Go flag / urfave-cli) rules: `-x` and `--x` are the
/// same flag, values come as `--x value` or `--x=value`, booleans take `--x=false`, `--` ends
/// the flags. ArgumentParser costs ~1.5 ms a call (SWIFT-FACTS.md §1); this costs nothing.
public struct FlagSpec: Sendable {
    public let names: [String] // long first, then aliases ("bundle", "b")
    public let value: String? // placeholder; nil for a boolean flag
    public let help: String
    public let repeatable: Bool

    public init(_ names: [String], value: String? = nil, help: String, repeatable: Bool = false) {
        self.names = names
        self.value = value
        self.help = help
        self.repeatable = repeatable
    }

    var isBool: Bool { value == nil }
}

public struct UsageError: Error, Sendable, Equatable {
    public let message: String
    public let verb: String?
}

public struct ParsedArgs: Sendable {
    public var values: [String: [String]] = [:]
    public var positional: [String] = []

    public func bool(_ name: String) -> Bool {
        guard let v = values[name]?.last else { return false }
        return v == "true" || v == "1"
    }

    public func string(_ name: String) -> String? { values[name]?.last }
    public func strings(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { values[name] != nil }
}

public enum ArgParser {
    /// Parses `argv` against `flags`. With `stopAtPositional` (exec, and the global options
    /// before the verb) everything from the first positional argument on is positional.
    public static func parse(_ argv: ArraySlice<String>, flags: [FlagSpec], stopAtPositional: Bool, verb: String?)
        throws(UsageError) -> ParsedArgs
    {
        var out = ParsedArgs()
        var i = argv.startIndex
        while i < argv.endIndex {
            let arg = argv[i]
            if arg == "--" {
                out.positional += argv[(i + 1)...]
                return out
            }
            // By bytes, as Go's flag package reads them (len(s) < 2 || s[0] != '-'): no
            // Character walks, whose grapheme-breaking code is a page of text of its own.
            let bytes = arg.utf8
            guard bytes.count > 1, bytes.first == UInt8(ascii: "-") else {
                if stopAtPositional {
                    out.positional += argv[i...]
                    return out
                }
                out.positional.append(arg)
                i += 1
                continue
            }
            var start = bytes.index(after: bytes.startIndex)
            if bytes[start] == UInt8(ascii: "-") { start = bytes.index(after: start) }
            var end = bytes.endIndex
            var inline: String?
            if let eq = bytes[start...].firstIndex(of: UInt8(ascii: "=")) {
                inline = String(arg[bytes.index(after: eq)...])
                end = eq
            }
            let name = String(arg[start..<end])
            guard let spec = flags.first(where: { $0.names.contains(name) }) else {
                throw UsageError(
                    message:
                        "flag provided but not defined: -\(name.utf8.count > Quote.limit ? String(decoding: Array(name.utf8.prefix(Quote.limit)), as: UTF8.self) + "..." : name)",
                    verb: verb)
            }
            let key = spec.names[0]
            if spec.isBool {
                let v = inline ?? "true"
                guard ["true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"].contains(v) else {
                    throw UsageError(message: "invalid boolean value \(Quote.short(v)) for -\(name)", verb: verb)
                }
                out.values[key, default: []].append(["true", "1", "t", "TRUE", "True"].contains(v) ? "true" : "false")
            } else if let inline {
                out.values[key, default: []].append(inline)
            } else {
                guard i + 1 < argv.endIndex else {
                    throw UsageError(message: "flag needs an argument: -\(name)", verb: verb)
                }
                i += 1
                out.values[key, default: []].append(argv[i])
            }
            i += 1
        }
        return out
    }
}
