// A small JSON reader for the hot path of `create`: a cold JSONDecoder spends most of its
// time in Swift's runtime type lookups, not in the JSON (SWIFT-FACTS.md §2). This reader
// builds a plain tree; SpecMapper turns it into the same Codable structs by hand. Tests
// hold the two decoders to identical results on runc-, docker-, containerd- and
// podman-shaped configurations.

public enum JValue: Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JValue])
    case object([(String, JValue)])

    public subscript(_ key: String) -> JValue? {
        guard case .object(let m) = self else { return nil }
        return m.last { $0.0 == key }?.1
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var array: [JValue]? { if case .array(let a) = self { return a } else { return nil } }
    @inlinable public func integer<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        if case .number(let n) = self { return T(n) } else { return nil }
    }

    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

public struct JSONReader {
    let b: [UInt8]
    var i = 0
    /// Values a tree may hold: a tree node costs tens of bytes, so a hostile 64 MB file of
    /// empty arrays must fail here, not exhaust memory (the file size is bounded by the
    /// caller; nesting by `value(depth:)`).
    var budget = JSONReader.maxValues
    public static let maxValues = 1 << 22

    public init(_ bytes: [UInt8]) { b = bytes }

    public static func parse(_ bytes: [UInt8]) throws(SpecError) -> JValue {
        var r = JSONReader(bytes)
        r.skipSpace()
        let v = try r.value(depth: 0)
        r.skipSpace()
        if r.i != r.b.count { throw r.error("unexpected data after the top-level value") }
        return v
    }

    func error(_ what: String) -> SpecError {
        // Line and column, as a reader of config.json would look for them.
        var line = 1, col = 1
        for k in 0..<min(i, b.count) {
            if b[k] == 0x0A { line += 1; col = 1 } else { col += 1 }
        }
        return SpecError("(root): invalid JSON at line \(line), column \(col): \(what)")
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws(SpecError) -> JValue {
        guard depth < 512 else { throw error("nesting too deep") }
        budget -= 1
        guard budget >= 0 else { throw error("more than \(JSONReader.maxValues) values") }
        guard i < b.count else { throw error("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    mutating func literal(_ word: StaticString) throws(SpecError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw error("unexpected end of input") }
        let ok = word.withUTF8Buffer { w in (0..<n).allSatisfy { b[i + $0] == w[$0] } }
        guard ok else { throw error("invalid literal") }
        i += n
    }

    /// A number as RFC 8259 writes it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// Nothing else is a number (`+1`, `01`, `.5`, `1.`, `1e` are syntax errors).
    mutating func number() throws(SpecError) -> JValue {
        let start = i
        func digit(_ k: Int) -> Bool { k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { throw error(start == i ? "unexpected character" : "invalid number") }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if digit(i) { throw error("invalid number: leading zero") }
        } else {
            while digit(i) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { throw error("invalid number: no digits after the decimal point") }
            while digit(i) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { throw error("invalid number: no digits in the exponent") }
            while digit(i) { i += 1 }
        }
        return .number(String(decoding: b[start..<i], as: UTF8.self))
    }

    mutating func string() throws(SpecError) -> String {
        i += 1 // opening quote
        // Fast path: no escapes (nearly every string in a config).
        var j = i
        var ascii = true
        while j < b.count, b[j] != UInt8(ascii: "\""), b[j] != UInt8(ascii: "\\"), b[j] >= 0x20 {
            if b[j] >= 0x80 { ascii = false }
            j += 1
        }
        if j < b.count, b[j] == UInt8(ascii: "\"") {
            // ASCII needs no validation; String(validating:) is generic and, unspecialized
            // here, costs a runtime metadata lookup per call (list parses thousands).
            let s: String
            if ascii {
                s = String(decoding: b[i..<j], as: UTF8.self)
            } else {
                guard let v = String(validating: b[i..<j], as: UTF8.self) else {
                    throw error("invalid UTF-8 in string")
                }
                s = v
            }
            i = j + 1
            return s
        }
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw error("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw error("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw error("unterminated string") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw error("invalid escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
        return s
    }

    mutating func hex4() throws(SpecError) -> UInt32 {
        guard i + 4 <= b.count else { throw error("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    // The tree's containers go through the streaming readers below (one grammar).
    mutating func array(depth: Int) throws(SpecError) -> JValue {
        var items: [JValue] = []
        try readArray { r throws(SpecError) in
            r.skipSpace()
            items.append(try r.value(depth: depth + 1))
        }
        return .array(items)
    }

    mutating func object(depth: Int) throws(SpecError) -> JValue {
        var members: [(String, JValue)] = []
        try readObject { (r, key) throws(SpecError) in
            r.skipSpace()
            members.append((key, try r.value(depth: depth + 1)))
        }
        return .object(members)
    }
}

// Streaming: members and elements read in place, no tree (state.json, read for every
// container by `list`). Each reader consumes exactly one value at the cursor.
extension JSONReader {
    /// Calls `member` with each key of the object at the cursor; `member` reads its value.
    public mutating func readObject(_ member: (inout JSONReader, String) throws(SpecError) -> Void) throws(SpecError) {
        try readMembers { (r, key) throws(SpecError) in try member(&r, key.string) }
    }

    /// readObject with the key as bytes (JSONKey): a `switch` over string literals compares
    /// bytes and no String is made for a key (`list` reads ~15 keys per container).
    public mutating func readMembers(_ member: (inout JSONReader, JSONKey) throws(SpecError) -> Void) throws(SpecError)
    {
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { throw error("expected an object") }
        i += 1
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a key string") }
            let key = JSONKey(bytes: try stringBytes())
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected : after key") }
            i += 1
            try member(&self, key)
            skipSpace()
            guard i < b.count else { throw error("unterminated object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return }
            throw error("expected , or } in object")
        }
    }

    /// The string at the cursor (a key or a value) as bytes: a slice of the text when it is
    /// plain ASCII (no escapes), else the decoded (and validated) string's bytes.
    mutating func stringBytes() throws(SpecError) -> ArraySlice<UInt8> {
        var j = i + 1
        while j < b.count, b[j] != UInt8(ascii: "\""), b[j] != UInt8(ascii: "\\"), b[j] >= 0x20, b[j] < 0x80 { j += 1 }
        if j < b.count, b[j] == UInt8(ascii: "\"") {
            defer { i = j + 1 }
            return b[(i + 1)..<j]
        }
        return Array(try string().utf8)[...]
    }

    /// Calls `element` for each element of the array at the cursor.
    public mutating func readArray(_ element: (inout JSONReader) throws(SpecError) -> Void) throws(SpecError) {
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "[") else { throw error("expected an array") }
        i += 1
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return }
        while true {
            try element(&self)
            skipSpace()
            guard i < b.count else { throw error("unterminated array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return }
            throw error("expected , or ] in array")
        }
    }

    public mutating func readString() throws(SpecError) -> String {
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string") }
        return try string()
    }

    /// The next value if it is a string; any other value is stepped over (nil). No tree.
    public mutating func readStringIfAny() throws(SpecError) -> String? {
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "\"") { return try string() }
        try skipValue()
        return nil
    }

    /// readStringIfAny as bytes (no String made for plain ASCII text).
    public mutating func readStringBytesIfAny() throws(SpecError) -> ArraySlice<UInt8>? {
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "\"") { return try stringBytes() }
        try skipValue()
        return nil
    }

    /// A decimal integer that fits `T` (no fraction, no exponent).
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws(SpecError) -> T {
        let (negative, magnitude) = try readDecimal()
        if !negative {
            guard let v = T(exactly: magnitude) else { throw integerError() }
            return v
        }
        guard magnitude <= UInt64(Int64.max) else {
            guard magnitude == UInt64(Int64.max) + 1, let v = T(exactly: Int64.min) else { throw integerError() }
            return v
        }
        guard let v = T(exactly: -Int64(magnitude)) else { throw integerError() }
        return v
    }

    @usableFromInline
    func integerError() -> SpecError { error("expected an integer") }

    /// The sign and digits of an integer at the cursor, parsed in place (no text).
    @usableFromInline
    mutating func readDecimal() throws(SpecError) -> (Bool, UInt64) {
        skipSpace()
        var negative = false
        if i < b.count, b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var v: UInt64 = 0, digits = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b[i] - 0x30))
            if o1 || o2 { throw error("integer out of range") }
            v = a
            digits += 1
            i += 1
        }
        if digits == 0 { throw error("expected an integer") }
        if digits > 1, b[i - digits] == UInt8(ascii: "0") { throw error("invalid number: leading zero") }
        if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            throw error("expected an integer")
        }
        return (negative, v)
    }

    public mutating func readBool() throws(SpecError) -> Bool {
        skipSpace()
        guard case .bool(let v) = try value(depth: 1) else { throw error("expected a boolean") }
        return v
    }

    /// Any value, as a tree (for what is read rarely or passed on whole).
    public mutating func readValue() throws(SpecError) -> JValue {
        skipSpace()
        return try value(depth: 1)
    }

    /// Steps over the value at the cursor, checking its syntax, without building it.
    public mutating func skipValue(depth: Int = 1) throws(SpecError) {
        skipSpace()
        guard depth < 512 else { throw error("nesting too deep") }
        guard i < b.count else { throw error("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"):
            try readObject { (r, _) throws(SpecError) in try r.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try readArray { r throws(SpecError) in try r.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                if b[i] < 0x20 { throw error("control character in string") }
                i += b[i] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard i < b.count else { throw error("unterminated string") }
            i += 1
        default:
            _ = try value(depth: depth)
        }
    }

    /// Nothing but white space may follow the top-level value.
    public mutating func finish() throws(SpecError) {
        skipSpace()
        if i != b.count { throw error("unexpected data after the top-level value") }
    }
}

/// An object key as UTF-8 bytes, matched against string literals without making a String:
/// `switch key { case "id": ... }`.
public struct JSONKey {
    public let bytes: ArraySlice<UInt8>

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    @inlinable
    public static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        let n = pattern.utf8CodeUnitCount
        guard n == key.bytes.count else { return false }
        let p = pattern.utf8Start
        return key.bytes.withUnsafeBufferPointer { k in
            for j in 0..<n where k[j] != p[j] { return false }
            return true
        }
    }
}
