import OCISpec
import SwrunSys

// The D-Bus wire format (the "marshalling" chapter of the D-Bus specification), as much as
// the systemd cgroup driver needs, written for little-endian output and read in either
// byte order. The transport is SwrunSys.DBusConnection; SystemdManager.swift makes the calls.
//
// Decoding is strict and bounded: every length is checked against the bytes that are
// there before anything is read or allocated, padding must be zero, booleans 0 or 1,
// strings valid UTF-8 without NUL, signatures and object paths valid, nesting at most 64
// deep and at most `DBusLimits.maxValues` values per message. A malformed or hostile
// message throws a SwrunError; nothing in here traps on input.

/// One D-Bus value. Its D-Bus type is its `signature`.
public indirect enum DBusValue: Equatable, Sendable {
    case byte(UInt8) // y
    case bool(Bool) // b
    case int16(Int16) // n
    case uint16(UInt16) // q
    case int32(Int32) // i
    case uint32(UInt32) // u
    case int64(Int64) // x
    case uint64(UInt64) // t
    case double(Double) // d
    case string(String) // s
    case objectPath(String) // o
    case signature(String) // g
    case unixFD(UInt32) // h: an index into the message's fds (none are passed here)
    /// `ay`. The decoder always returns a byte array as `.bytes` (one value, not one per
    /// byte: AllowedCPUs is one); `.array(element: "y", ...)` encodes the same way.
    case bytes([UInt8])
    /// `a<element>`: `element` is one complete type, given explicitly so that an empty
    /// array has a type. Every value must have that signature.
    case array(element: String, [DBusValue])
    /// `(...)`: one or more fields.
    case structure([DBusValue])
    /// `{kv}`: only as the element of an array (`a{sv}`); the key is a basic type.
    case dictEntry(DBusValue, DBusValue)
    /// `v`: a value that carries its own signature.
    case variant(DBusValue)

    /// The value's D-Bus type signature.
    public var signature: String {
        switch self {
        case .byte: return "y"
        case .bool: return "b"
        case .int16: return "n"
        case .uint16: return "q"
        case .int32: return "i"
        case .uint32: return "u"
        case .int64: return "x"
        case .uint64: return "t"
        case .double: return "d"
        case .string: return "s"
        case .objectPath: return "o"
        case .signature: return "g"
        case .unixFD: return "h"
        case .bytes: return "ay"
        case .array(let element, _): return "a" + element
        case .structure(let fields): return "(" + fields.map(\.signature).joinedText() + ")"
        case .dictEntry(let k, let v): return "{" + k.signature + v.signature + "}"
        case .variant: return "v"
        }
    }

    public var stringValue: String? {
        switch self {
        case .string(let s), .objectPath(let s), .signature(let s): return s
        default: return nil
        }
    }

    public var uint32Value: UInt32? {
        if case .uint32(let v) = self { return v }
        return nil
    }

    /// The value inside a variant (or the value itself).
    public var unwrapped: DBusValue {
        if case .variant(let v) = self { return v.unwrapped }
        return self
    }
}

/// The specification's bounds, and this decoder's own.
public enum DBusLimits {
    /// An array's byte length (2^26, the specification's).
    public static let maxArrayBytes = 1 << 26
    /// A whole message (2^27, the specification's; the transport refuses much less).
    public static let maxMessageBytes = 1 << 27
    /// A signature's length in bytes.
    public static let maxSignatureBytes = 255
    /// Arrays, and structs, nested in one signature (32 each, the specification's).
    public static let maxSignatureDepth = 32
    /// Containers nested in a value, variants included (the reference implementation's 64).
    public static let maxValueDepth = 64
    /// Values decoded from one message: a message of a million tiny elements is refused
    /// rather than turned into a million enum cases (systemd's replies hold dozens).
    public static let maxValues = 1 << 20
}

/// A D-Bus type, parsed from a signature.
indirect enum DBusType: Equatable {
    case basic(UInt8)
    case array(DBusType)
    case structure([DBusType])
    case dictEntry(DBusType, DBusType)
    case variant

    /// The alignment of the type's values, in bytes.
    var alignment: Int {
        switch self {
        case .basic(let c):
            switch c {
            case UInt8(ascii: "y"), UInt8(ascii: "g"): return 1
            case UInt8(ascii: "n"), UInt8(ascii: "q"): return 2
            case UInt8(ascii: "x"), UInt8(ascii: "t"), UInt8(ascii: "d"): return 8
            default: return 4 // b i u s o h
            }
        case .array: return 4
        case .structure, .dictEntry: return 8
        case .variant: return 1
        }
    }
}

/// Signatures: parsing with the specification's rules.
public enum DBusSignature {
    static let basicCodes = Array("ybnqiuxtdsogh".utf8)

    /// Whether `s` is a valid signature (any number of complete types).
    public static func isValid(_ s: String) -> Bool { (try? parse(Array(s.utf8))) != nil }

    /// The complete types of `sig`, or an error saying what is wrong.
    static func parse(_ sig: [UInt8]) throws(SwrunError) -> [DBusType] {
        guard sig.count <= DBusLimits.maxSignatureBytes else { throw invalid(sig, "longer than 255 bytes") }
        var i = 0
        var out: [DBusType] = []
        while i < sig.count { out.append(try complete(sig, &i, arrays: 0, structs: 0)) }
        return out
    }

    /// Exactly one complete type.
    static func single(_ sig: [UInt8]) throws(SwrunError) -> DBusType {
        let types = try parse(sig)
        guard types.count == 1 else { throw invalid(sig, "not a single complete type") }
        return types[0]
    }

    static func complete(_ sig: [UInt8], _ i: inout Int, arrays: Int, structs: Int) throws(SwrunError) -> DBusType {
        guard i < sig.count else { throw invalid(sig, "ends inside a type") }
        let c = sig[i]
        i += 1
        if basicCodes.contains(c) { return .basic(c) }
        switch c {
        case UInt8(ascii: "v"):
            return .variant
        case UInt8(ascii: "a"):
            guard arrays < DBusLimits.maxSignatureDepth else { throw invalid(sig, "arrays nested more than 32 deep") }
            if i < sig.count, sig[i] == UInt8(ascii: "{") {
                i += 1
                guard structs < DBusLimits.maxSignatureDepth else {
                    throw invalid(sig, "structs nested more than 32 deep")
                }
                guard i < sig.count, basicCodes.contains(sig[i]) else {
                    throw invalid(sig, "a dict entry's key must be a basic type")
                }
                let key = DBusType.basic(sig[i])
                i += 1
                let value = try complete(sig, &i, arrays: arrays + 1, structs: structs + 1)
                guard i < sig.count, sig[i] == UInt8(ascii: "}") else {
                    throw invalid(sig, "a dict entry holds exactly two types")
                }
                i += 1
                return .array(.dictEntry(key, value))
            }
            return .array(try complete(sig, &i, arrays: arrays + 1, structs: structs))
        case UInt8(ascii: "("):
            guard structs < DBusLimits.maxSignatureDepth else { throw invalid(sig, "structs nested more than 32 deep") }
            var fields: [DBusType] = []
            while true {
                guard i < sig.count else { throw invalid(sig, "unclosed struct") }
                if sig[i] == UInt8(ascii: ")") { i += 1; break }
                fields.append(try complete(sig, &i, arrays: arrays, structs: structs + 1))
            }
            guard !fields.isEmpty else { throw invalid(sig, "empty struct") }
            return .structure(fields)
        default:
            throw invalid(sig, "unexpected \(Quote.short(String(decoding: [c], as: UTF8.self)))")
        }
    }

    static func invalid(_ sig: [UInt8], _ why: String) -> SwrunError {
        SwrunError(
            .system, "invalid D-Bus signature \(Quote.short(String(decoding: sig, as: UTF8.self))): \(why)",
            errno: DBusConnection.badMessageErrno)
    }
}

/// Names and paths as the specification defines them.
public enum DBusNames {
    /// An object path: "/", or "/" followed by elements of [A-Za-z0-9_] separated by single
    /// slashes, with no trailing slash.
    public static func isObjectPath(_ s: String) -> Bool { isObjectPath(Array(s.utf8)[...]) }

    static func isObjectPath(_ b: ArraySlice<UInt8>) -> Bool {
        guard b.first == UInt8(ascii: "/") else { return false }
        if b.count == 1 { return true }
        guard b.last != UInt8(ascii: "/") else { return false }
        var previousSlash = false
        for c in b {
            if c == UInt8(ascii: "/") {
                if previousSlash { return false }
                previousSlash = true
            } else {
                guard isAlnum(c) || c == UInt8(ascii: "_") else { return false }
                previousSlash = false
            }
        }
        return true
    }

    /// An interface, member, error or bus name, as loosely as the header needs: 1 to 255
    /// bytes of [A-Za-z0-9_.:-] (the characters the specification's names are made of).
    public static func isName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 255 else { return false }
        return b.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
                || $0 == UInt8(ascii: "-")
        }
    }

    static func isAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }
}

/// Serializes values, little endian. Offsets are from the start of the message, as the
/// specification's alignment is (the body starts 8-aligned, so it keeps them).
struct DBusWriter {
    var bytes: [UInt8] = []

    mutating func pad(_ n: Int) {
        while bytes.count % n != 0 { bytes.append(0) }
    }

    mutating func put<T: FixedWidthInteger>(_ v: T) {
        pad(MemoryLayout<T>.size)
        var le = v.littleEndian
        withUnsafeBytes(of: &le) { bytes += $0 }
    }

    mutating func patchUInt32(at offset: Int, _ v: UInt32) {
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
    }

    static func encodeError(_ why: String) -> SwrunError {
        SwrunError(.invalidConfig, "cannot encode D-Bus value: \(why)")
    }

    mutating func putString(_ s: String) throws(SwrunError) {
        let b = Array(s.utf8)
        guard !b.contains(0) else { throw DBusWriter.encodeError("string \(Quote.short(s)) contains a NUL byte") }
        guard b.count <= DBusLimits.maxArrayBytes else { throw DBusWriter.encodeError("string of \(b.count) bytes") }
        put(UInt32(b.count))
        bytes += b
        bytes.append(0)
    }

    mutating func putSignature(_ s: String) throws(SwrunError) {
        let b = Array(s.utf8)
        _ = try DBusSignature.parse(b)
        bytes.append(UInt8(b.count))
        bytes += b
        bytes.append(0)
    }

    mutating func write(_ value: DBusValue, depth: Int = 0) throws(SwrunError) {
        guard depth <= DBusLimits.maxValueDepth else { throw DBusWriter.encodeError("values nested more than 64 deep") }
        switch value {
        case .byte(let v): bytes.append(v)
        case .bool(let v): put(UInt32(v ? 1 : 0))
        case .int16(let v): put(v)
        case .uint16(let v): put(v)
        case .int32(let v): put(v)
        case .uint32(let v): put(v)
        case .int64(let v): put(v)
        case .uint64(let v): put(v)
        case .double(let v): put(v.bitPattern)
        case .unixFD(let v): put(v)
        case .string(let s): try putString(s)
        case .objectPath(let s):
            guard DBusNames.isObjectPath(s) else {
                throw DBusWriter.encodeError("invalid object path \(Quote.short(s))")
            }
            try putString(s)
        case .signature(let s): try putSignature(s)
        case .bytes(let b):
            guard b.count <= DBusLimits.maxArrayBytes else {
                throw DBusWriter.encodeError("byte array of \(b.count) bytes")
            }
            put(UInt32(b.count))
            bytes += b
        case .array(let element, let values):
            // Parsed as "a" + element: a dict entry ("{sv}") is a type only inside an array.
            guard case .array(let type) = try DBusSignature.single(Array(("a" + element).utf8)) else {
                throw DBusWriter.encodeError("array element type \(element)")
            }
            put(UInt32(0))
            let lengthAt = bytes.count - 4
            // The padding to the first element is not counted in the length, and is there
            // even when the array is empty.
            pad(type.alignment)
            let start = bytes.count
            for v in values {
                guard v.signature == element else {
                    throw DBusWriter.encodeError("an element of type \(v.signature) in an array of \(element)")
                }
                try write(v, depth: depth + 1)
            }
            let length = bytes.count - start
            guard length <= DBusLimits.maxArrayBytes else { throw DBusWriter.encodeError("array of \(length) bytes") }
            patchUInt32(at: lengthAt, UInt32(length))
        case .structure(let fields):
            guard !fields.isEmpty else { throw DBusWriter.encodeError("empty struct") }
            pad(8)
            for f in fields { try write(f, depth: depth + 1) }
        case .dictEntry(let k, let v):
            guard DBusSignature.basicCodes.contains(k.signature.utf8.first ?? 0), k.signature.utf8.count == 1 else {
                throw DBusWriter.encodeError("dict entry key of type \(k.signature)")
            }
            pad(8)
            try write(k, depth: depth + 1)
            try write(v, depth: depth + 1)
        case .variant(let inner):
            let sig = inner.signature
            _ = try DBusSignature.single(Array(sig.utf8))
            try putSignature(sig)
            try write(inner, depth: depth + 1)
        }
    }
}

/// Reads values from a whole message's bytes, in the message's byte order, never past
/// `end` (the message's end, or the enclosing array's).
struct DBusReader {
    let bytes: [UInt8]
    let bigEndian: Bool
    var pos: Int
    var end: Int
    var budget = DBusLimits.maxValues

    init(_ bytes: [UInt8], bigEndian: Bool, pos: Int = 0) {
        self.bytes = bytes
        self.bigEndian = bigEndian
        self.pos = pos
        self.end = bytes.count
    }

    func malformed(_ why: String) -> SwrunError {
        SwrunError(.system, "malformed D-Bus message: \(why) (at byte \(pos))", errno: DBusConnection.badMessageErrno)
    }

    /// Moves to the next multiple of `n`; the skipped bytes must exist and be zero.
    mutating func align(_ n: Int) throws(SwrunError) {
        let next = (pos + n - 1) / n * n
        guard next <= end else { throw malformed("padding past the end") }
        while pos < next {
            guard bytes[pos] == 0 else { throw malformed("non-zero padding") }
            pos += 1
        }
    }

    mutating func take(_ n: Int) throws(SwrunError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= end - pos else { throw malformed("\(n) bytes wanted, \(end - pos) left") }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(SwrunError) -> T {
        try align(MemoryLayout<T>.size)
        let b = try take(MemoryLayout<T>.size)
        var v: T = 0
        for byte in (bigEndian ? Array(b) : b.reversed()) { v = v << 8 | T(truncatingIfNeeded: byte) }
        return v
    }

    /// A string or object path: u32 length, the bytes, a NUL.
    mutating func string() throws(SwrunError) -> String {
        let n = Int(try fixed(UInt32.self))
        guard n < end - pos else { throw malformed("string of \(n) bytes past the end") }
        let b = try take(n)
        guard try take(1).first == 0 else { throw malformed("string without its NUL") }
        return try text(b)
    }

    mutating func signatureText() throws(SwrunError) -> [UInt8] {
        let n = Int(try take(1).first ?? 0)
        let b = Array(try take(n))
        guard try take(1).first == 0 else { throw malformed("signature without its NUL") }
        return b
    }

    func text(_ b: ArraySlice<UInt8>) throws(SwrunError) -> String {
        guard !b.contains(0) else { throw malformed("NUL inside a string") }
        guard let s = String(validating: b, as: UTF8.self) else { throw malformed("string is not UTF-8") }
        return s
    }

    mutating func value(_ type: DBusType, depth: Int) throws(SwrunError) -> DBusValue {
        guard depth <= DBusLimits.maxValueDepth else { throw malformed("values nested more than 64 deep") }
        budget -= 1
        guard budget >= 0 else { throw malformed("more than \(DBusLimits.maxValues) values") }
        switch type {
        case .basic(let c):
            switch c {
            case UInt8(ascii: "y"): return .byte(try take(1).first ?? 0)
            case UInt8(ascii: "b"):
                let v = try fixed(UInt32.self)
                guard v <= 1 else { throw malformed("boolean \(v)") }
                return .bool(v == 1)
            case UInt8(ascii: "n"): return .int16(try fixed(Int16.self))
            case UInt8(ascii: "q"): return .uint16(try fixed(UInt16.self))
            case UInt8(ascii: "i"): return .int32(try fixed(Int32.self))
            case UInt8(ascii: "u"): return .uint32(try fixed(UInt32.self))
            case UInt8(ascii: "x"): return .int64(try fixed(Int64.self))
            case UInt8(ascii: "t"): return .uint64(try fixed(UInt64.self))
            case UInt8(ascii: "d"): return .double(Double(bitPattern: try fixed(UInt64.self)))
            case UInt8(ascii: "h"): return .unixFD(try fixed(UInt32.self))
            case UInt8(ascii: "s"): return .string(try string())
            case UInt8(ascii: "o"):
                let s = try string()
                guard DBusNames.isObjectPath(s) else { throw malformed("invalid object path \(Quote.short(s))") }
                return .objectPath(s)
            case UInt8(ascii: "g"):
                let b = try signatureText()
                _ = try DBusSignature.parse(b)
                return .signature(String(decoding: b, as: UTF8.self))
            default:
                throw malformed("unknown type code \(c)")
            }
        case .array(let element):
            let n = Int(try fixed(UInt32.self))
            guard n <= DBusLimits.maxArrayBytes else { throw malformed("array of \(n) bytes, more than 2^26") }
            try align(element.alignment)
            guard n <= end - pos else { throw malformed("array of \(n) bytes past the end") }
            let arrayEnd = pos + n
            if element == .basic(UInt8(ascii: "y")) { return .bytes(Array(try take(n))) }
            let outer = end
            end = arrayEnd
            var values: [DBusValue] = []
            while pos < arrayEnd { values.append(try value(element, depth: depth + 1)) }
            end = outer
            return .array(element: DBusReader.signature(of: element), values)
        case .structure(let fields):
            try align(8)
            var values: [DBusValue] = []
            for f in fields { values.append(try value(f, depth: depth + 1)) }
            return .structure(values)
        case .dictEntry(let k, let v):
            try align(8)
            let key = try value(k, depth: depth + 1)
            return .dictEntry(key, try value(v, depth: depth + 1))
        case .variant:
            let sig = try signatureText()
            let inner = try DBusSignature.single(sig)
            return .variant(try value(inner, depth: depth + 1))
        }
    }

    static func signature(of t: DBusType) -> String {
        switch t {
        case .basic(let c): return String(decoding: [c], as: UTF8.self)
        case .array(let e): return "a" + signature(of: e)
        case .structure(let fs): return "(" + fs.map { signature(of: $0) }.joinedText() + ")"
        case .dictEntry(let k, let v): return "{" + signature(of: k) + signature(of: v) + "}"
        case .variant: return "v"
        }
    }
}

/// One D-Bus message: the fixed header, the header fields the driver uses, the body.
public struct DBusMessage: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case methodCall = 1, methodReturn = 2, error = 3, signal = 4
    }

    /// Header flags.
    public static let noReplyExpected: UInt8 = 0x1
    public static let noAutoStart: UInt8 = 0x2
    public static let allowInteractiveAuthorization: UInt8 = 0x4

    /// Header field codes.
    enum Field: UInt8 {
        case path = 1, interface = 2, member = 3, errorName = 4, replySerial = 5, destination = 6, sender = 7,
            signature = 8, unixFDs = 9
    }

    public var kind: Kind
    public var flags: UInt8
    public var serial: UInt32
    public var path: String?
    public var interface: String?
    public var member: String?
    public var errorName: String?
    public var replySerial: UInt32?
    public var destination: String?
    public var sender: String?
    public var unixFDs: UInt32?
    /// The body's signature. For an outgoing message it must be the body's own (the
    /// initializers set it); a message decoded without its body keeps it here.
    public var signature: String
    public var body: [DBusValue]

    public init(
        kind: Kind, flags: UInt8 = 0, serial: UInt32, path: String? = nil, interface: String? = nil,
        member: String? = nil,
        errorName: String? = nil, replySerial: UInt32? = nil, destination: String? = nil, sender: String? = nil,
        unixFDs: UInt32? = nil, body: [DBusValue] = []
    ) {
        self.kind = kind
        self.flags = flags
        self.serial = serial
        self.path = path
        self.interface = interface
        self.member = member
        self.errorName = errorName
        self.replySerial = replySerial
        self.destination = destination
        self.sender = sender
        self.unixFDs = unixFDs
        self.signature = body.map(\.signature).joinedText()
        self.body = body
    }

    /// A method call, as systemd's clients send it.
    public static func methodCall(
        serial: UInt32, destination: String?, path: String, interface: String?, member: String,
        body: [DBusValue] = [], flags: UInt8 = 0
    ) -> DBusMessage {
        DBusMessage(
            kind: .methodCall, flags: flags, serial: serial, path: path, interface: interface, member: member,
            destination: destination, body: body)
    }

    /// For an error reply: its text (the body's first string), if any.
    public var errorText: String? { body.first?.stringValue }

    /// The order of the header fields as they were received (their codes), so that a
    /// decoded message encodes back to the same bytes. Empty for a message built here: then
    /// `defaultOrder`. Not part of equality.
    public var fieldOrder: [UInt8] = []

    public static func == (a: DBusMessage, b: DBusMessage) -> Bool {
        a.kind == b.kind && a.flags == b.flags && a.serial == b.serial && a.path == b.path && a.interface == b.interface
            && a.member == b.member && a.errorName == b.errorName && a.replySerial == b.replySerial
            && a.destination == b.destination
            && a.sender == b.sender && a.unixFDs == b.unixFDs && a.signature == b.signature && a.body == b.body
    }

    // MARK: encoding

    /// The header fields in the order sd-bus (systemd's own library, hence busctl and
    /// systemd itself) writes them, so that a message compares byte for byte with theirs:
    /// a method call PATH, MEMBER, INTERFACE, DESTINATION; a signal PATH, INTERFACE,
    /// MEMBER; a reply REPLY_SERIAL, DESTINATION, then ERROR_NAME for an error; then
    /// UNIX_FDS and SIGNATURE when sealed; SENDER last, where a bus daemon appends it.
    /// (systemd's own messages on its private socket carry SENDER before SIGNATURE:
    /// `fieldOrder` keeps that for a message decoded from there.)
    var defaultOrder: [Field] {
        switch kind {
        case .methodCall:
            return [.path, .member, .interface, .destination, .errorName, .replySerial, .unixFDs, .signature, .sender]
        case .signal:
            return [.path, .interface, .member, .destination, .errorName, .replySerial, .unixFDs, .signature, .sender]
        case .methodReturn, .error:
            return [.replySerial, .destination, .errorName, .path, .interface, .member, .unixFDs, .signature, .sender]
        }
    }

    func fieldValue(_ f: Field) -> DBusValue? {
        switch f {
        case .path: return path.map { .objectPath($0) }
        case .interface: return interface.map { .string($0) }
        case .member: return member.map { .string($0) }
        case .errorName: return errorName.map { .string($0) }
        case .replySerial: return replySerial.map { .uint32($0) }
        case .destination: return destination.map { .string($0) }
        case .sender: return sender.map { .string($0) }
        case .signature: return signature.isEmpty ? nil : .signature(signature)
        case .unixFDs: return unixFDs.map { .uint32($0) }
        }
    }

    func orderedFields() -> [(Field, DBusValue)] {
        var order: [Field] = []
        for f in fieldOrder.compactMap({ Field(rawValue: $0) }) + defaultOrder where !order.contains(f) {
            order.append(f)
        }
        return order.compactMap { f in fieldValue(f).map { (f, $0) } }
    }

    /// The message's bytes, little endian. Throws for what could not be sent: a header
    /// field the message's kind requires is missing, a name or path is invalid, a body
    /// value does not match its declared type, a limit is passed.
    public func encode() throws(SwrunError) -> [UInt8] {
        try checkRequiredFields()
        for (code, v) in [
            (Field.interface, interface), (.member, member), (.errorName, errorName), (.destination, destination),
            (.sender, sender),
        ] {
            if let v, !DBusNames.isName(v) {
                throw DBusWriter.encodeError("invalid header field \(code) \(Quote.short(v))")
            }
        }
        guard serial != 0 else { throw DBusWriter.encodeError("serial 0") }
        let bodySignature = body.map(\.signature).joinedText()
        guard bodySignature == signature else {
            throw DBusWriter.encodeError("signature \(signature) does not match the body's \(bodySignature)")
        }
        _ = try DBusSignature.parse(Array(signature.utf8))
        var w = DBusWriter()
        w.bytes = [UInt8(ascii: "l"), kind.rawValue, flags, 1, 0, 0, 0, 0]
        w.put(serial)
        let fields = orderedFields().map { DBusValue.structure([.byte($0.0.rawValue), .variant($0.1)]) }
        try w.write(.array(element: "(yv)", fields))
        w.pad(8)
        let bodyStart = w.bytes.count
        for v in body { try w.write(v) }
        let bodyLength = w.bytes.count - bodyStart
        guard w.bytes.count <= DBusLimits.maxMessageBytes else {
            throw DBusWriter.encodeError("message of \(w.bytes.count) bytes")
        }
        w.patchUInt32(at: 4, UInt32(bodyLength))
        return w.bytes
    }

    // MARK: decoding

    /// Decodes one whole message (exactly `bytes`: nothing may follow it). With `body`
    /// false only the header is read (the body's length is still checked, its contents
    /// are not): the client looks at a signal's header before it pays for its body.
    public static func decode(_ bytes: [UInt8], body decodeBody: Bool = true) throws(SwrunError) -> DBusMessage {
        var r = DBusReader(bytes, bigEndian: false)
        guard bytes.count >= 16 else { throw r.malformed("shorter than the 16-byte fixed header") }
        switch bytes[0] {
        case UInt8(ascii: "l"): break
        case UInt8(ascii: "B"): r = DBusReader(bytes, bigEndian: true)
        default: throw r.malformed("endianness byte \(bytes[0])")
        }
        guard let kind = Kind(rawValue: bytes[1]) else { throw r.malformed("message type \(bytes[1])") }
        guard bytes[3] == 1 else { throw r.malformed("protocol version \(bytes[3])") }
        r.pos = 4
        let bodyLength = Int(try r.fixed(UInt32.self))
        let serial = try r.fixed(UInt32.self)
        guard serial != 0 else { throw r.malformed("serial 0") }
        var m = DBusMessage(kind: kind, flags: bytes[2], serial: serial)
        // The header fields: a(yv).
        let fieldsValue = try r.value(.array(.structure([.basic(UInt8(ascii: "y")), .variant])), depth: 0)
        guard case .array(_, let fields) = fieldsValue else { throw r.malformed("header fields") }
        var seen: [UInt8] = []
        var signature = ""
        for f in fields {
            guard case .structure(let pair) = f, pair.count == 2, case .byte(let code) = pair[0],
                case .variant(let v) = pair[1]
            else {
                throw r.malformed("header field")
            }
            guard !seen.contains(code) else { throw r.malformed("header field \(code) twice") }
            seen.append(code)
            if Field(rawValue: code) != nil { m.fieldOrder.append(code) }
            // Unknown fields are ignored, as the specification requires; known ones must
            // have their type.
            guard let field = Field(rawValue: code) else { continue }
            switch (field, v) {
            case (.path, .objectPath(let s)): m.path = s
            case (.interface, .string(let s)) where DBusNames.isName(s): m.interface = s
            case (.member, .string(let s)) where DBusNames.isName(s): m.member = s
            case (.errorName, .string(let s)) where DBusNames.isName(s): m.errorName = s
            case (.destination, .string(let s)) where DBusNames.isName(s): m.destination = s
            case (.sender, .string(let s)) where DBusNames.isName(s): m.sender = s
            case (.replySerial, .uint32(let u)) where u != 0: m.replySerial = u
            case (.unixFDs, .uint32(let u)): m.unixFDs = u
            case (.signature, .signature(let s)): signature = s
            default: throw r.malformed("header field \(code) of type \(v.signature) or with an invalid value")
            }
        }
        try r.align(8)
        guard bodyLength == bytes.count - r.pos else {
            throw r.malformed("body of \(bodyLength) bytes announced, \(bytes.count - r.pos) present")
        }
        try m.checkRequiredFields()
        m.signature = signature
        if signature.isEmpty {
            guard bodyLength == 0 else { throw r.malformed("a body without a signature") }
            return m
        }
        guard decodeBody else { return m }
        for t in try DBusSignature.parse(Array(signature.utf8)) { m.body.append(try r.value(t, depth: 0)) }
        guard r.pos == bytes.count else { throw r.malformed("\(bytes.count - r.pos) bytes after the body") }
        return m
    }

    /// The header fields each kind of message must have (the specification's table).
    func checkRequiredFields() throws(SwrunError) {
        let missing: String?
        switch kind {
        case .methodCall: missing = path == nil ? "PATH" : member == nil ? "MEMBER" : nil
        case .methodReturn: missing = replySerial == nil ? "REPLY_SERIAL" : nil
        case .error: missing = errorName == nil ? "ERROR_NAME" : replySerial == nil ? "REPLY_SERIAL" : nil
        case .signal: missing = path == nil ? "PATH" : interface == nil ? "INTERFACE" : member == nil ? "MEMBER" : nil
        }
        if let missing {
            throw SwrunError(
                .system, "malformed D-Bus message: a \(kind) without its \(missing) header field",
                errno: DBusConnection.badMessageErrno)
        }
    }
}
