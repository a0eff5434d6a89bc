// A small JSON value with ordered objects, for output whose key order and spacing are part
// of the contract (state JSON, list, features). Encoding is hand-written so that it costs no
// Codable metadata work at start-up and prints exactly what runc prints.

public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.uint(let x), .uint(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Compact (`{"a":1}`) or indented with `indent` per level (`"a": 1`), as Go's encoding/json.
    public func encoded(indent: String? = nil) -> String {
        String(decoding: encodedBytes(indent: indent), as: UTF8.self)
    }

    /// `encoded` as UTF-8 bytes, built byte by byte (state.json is written on every create
    /// and start; String appends one scalar at a time cost ~10 times more).
    public func encodedBytes(indent: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(into: &out, indent: indent.map { Array($0.utf8) }, level: 0)
        return out
    }

    private func write(into out: inout [UInt8], indent: [UInt8]?, level: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i):
            if i < 0 { out.append(UInt8(ascii: "-")) }
            JSON.appendDecimal(i.magnitude, into: &out)
        case .uint(let u): JSON.appendDecimal(u, into: &out)
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.newline(&out, indent, level + 1)
                item.write(into: &out, indent: indent, level: level + 1)
            }
            JSON.newline(&out, indent, level)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.newline(&out, indent, level + 1)
                JSON.quote(k, into: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                v.write(into: &out, indent: indent, level: level + 1)
            }
            JSON.newline(&out, indent, level)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: [UInt8]?, _ level: Int) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<level { out.append(contentsOf: indent) }
    }

    private static func appendDecimal(_ value: UInt64, into out: inout [UInt8]) {
        var p: UInt64 = 1
        while value / p >= 10 { p *= 10 }
        var v = value
        while true {
            out.append(UInt8(truncatingIfNeeded: v / p) &+ 0x30)
            v %= p
            if p == 1 { break }
            p /= 10
        }
    }

    /// JSON string quoting as Go's encoder does it (<, >, & escaped; control characters and
    /// U+2028/U+2029 as \uXXXX), over the UTF-8 bytes: unescaped runs are copied whole.
    public static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var run = 0, i = 0
            func flush(_ end: Int) {
                if end > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<end])) }
            }
            while i < u.count {
                let c = u[i]
                let escape: StaticString?
                var width = 1
                switch c {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case UInt8(ascii: "\n"): escape = "\\n"
                case UInt8(ascii: "\r"): escape = "\\r"
                case UInt8(ascii: "\t"): escape = "\\t"
                case UInt8(ascii: "<"): escape = "\\u003c"
                case UInt8(ascii: ">"): escape = "\\u003e"
                case UInt8(ascii: "&"): escape = "\\u0026"
                case 0..<0x20: escape = nil
                // U+2028 and U+2029: E2 80 A8 / E2 80 A9.
                case 0xE2 where i + 2 < u.count && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9):
                    escape = u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    width = 3
                default:
                    i += 1
                    continue
                }
                flush(i)
                if let escape {
                    out.append(
                        contentsOf: UnsafeBufferPointer(start: escape.utf8Start, count: escape.utf8CodeUnitCount))
                } else {
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex[Int(c >> 4)])
                    out.append(hex[Int(c & 0xF)])
                }
                i += width
                run = i
            }
            flush(u.count)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `quote` appending to a String (log lines and hand-built JSON).
    public static func quote(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 2)
        quote(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    public static func quoted(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }
}
