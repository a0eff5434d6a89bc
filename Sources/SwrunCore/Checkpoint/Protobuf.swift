/// The protobuf wire format (proto2), as much of it as CRIU's RPC needs: the static binary
/// links no protobuf library, and the RPC is a handful of small messages (CriuRPC.swift).
///
/// Encoding follows what protobuf's own encoders (Go's, C's) produce: fields in
/// field-number order, an optional field written whenever it is set (proto2 presence, so
/// an explicit `false` is on the wire), repeated fields unpacked (proto2's default),
/// negative int32 values as ten-byte varints. The unit tests hold it to bytes recorded from
/// runc and CRIU (Tests/SwrunCoreTests/CriuRPCTests.swift).
public struct ProtoWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    static let varint: UInt64 = 0, fixed64: UInt64 = 1, delimited: UInt64 = 2, fixed32: UInt64 = 5

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, _ wire: UInt64) { varint(UInt64(field) << 3 | wire) }

    /// int32 (and enums): a negative value is sign-extended to 64 bits, as protobuf does.
    public mutating func int32(_ field: Int, _ v: Int32?) {
        guard let v else { return }
        key(field, Self.varint)
        varint(UInt64(bitPattern: Int64(v)))
    }

    public mutating func uint32(_ field: Int, _ v: UInt32?) {
        guard let v else { return }
        key(field, Self.varint)
        varint(UInt64(v))
    }

    public mutating func bool(_ field: Int, _ v: Bool?) {
        guard let v else { return }
        key(field, Self.varint)
        varint(v ? 1 : 0)
    }

    public mutating func bytes(_ field: Int, _ v: [UInt8]?) {
        guard let v else { return }
        key(field, Self.delimited)
        varint(UInt64(v.count))
        bytes += v
    }

    public mutating func string(_ field: Int, _ v: String?) {
        guard let v else { return }
        bytes(field, Array(v.utf8))
    }

    public mutating func strings(_ field: Int, _ v: [String]) {
        for s in v { string(field, s) }
    }

    /// An embedded message (written even when empty, as a set optional message is).
    public mutating func message<M: ProtoEncodable>(_ field: Int, _ m: M?) {
        guard let m else { return }
        bytes(field, m.encoded())
    }

    public mutating func messages<M: ProtoEncodable>(_ field: Int, _ ms: [M]) {
        for m in ms { bytes(field, m.encoded()) }
    }
}

public protocol ProtoEncodable {
    func encode(_ w: inout ProtoWriter)
}

extension ProtoEncodable {
    public func encoded() -> [UInt8] {
        var w = ProtoWriter()
        encode(&w)
        return w.bytes
    }
}

public struct ProtoError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One field as read from the wire: its number and its value, a varint or a byte range
/// (fixed 32- and 64-bit values are kept as their little-endian bits).
public enum ProtoValue: Equatable {
    case varint(UInt64)
    case bytes(ArraySlice<UInt8>)
    case fixed(UInt64)

    /// proto2 int32 and enums (a negative one comes as ten bytes: the low 32 bits are it).
    public var int32: Int32? {
        if case .varint(let v) = self { return Int32(truncatingIfNeeded: v) }
        return nil
    }
    public var uint32: UInt32? {
        if case .varint(let v) = self { return UInt32(truncatingIfNeeded: v) }
        return nil
    }
    public var bool: Bool? {
        if case .varint(let v) = self { return v != 0 }
        return nil
    }
    public var string: String? {
        if case .bytes(let b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }
    public var slice: ArraySlice<UInt8>? {
        if case .bytes(let b) = self { return b }
        return nil
    }
}

/// Reads the fields of one message in wire order. Malformed input (a varint over ten bytes,
/// a length past the end, wire types 3 and 4 (groups), field 0) is an error, never a trap.
public struct ProtoReader {
    let b: ArraySlice<UInt8>
    var i: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        b = bytes
        i = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    mutating func varint() throws(ProtoError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < b.endIndex else { throw ProtoError("truncated varint") }
            let byte = b[i]
            i += 1
            if shift == 63 && byte > 1 { throw ProtoError("varint overflows 64 bits") }
            v |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return v }
            shift += 7
            if shift > 63 { throw ProtoError("varint longer than ten bytes") }
        }
    }

    func fixed(_ n: Int, at start: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(b[start + k]) << (8 * UInt64(k)) }
        return v
    }

    /// The next field, or nil at the end of the message.
    public mutating func next() throws(ProtoError) -> (field: Int, value: ProtoValue)? {
        guard i < b.endIndex else { return nil }
        let k = try varint()
        let field = k >> 3
        guard field > 0, field <= 536_870_911 else { throw ProtoError("invalid field number \(field)") }
        switch k & 7 {
        case 0: return (Int(field), .varint(try varint()))
        case 1:
            guard b.endIndex - i >= 8 else { throw ProtoError("truncated fixed64 field \(field)") }
            defer { i += 8 }
            return (Int(field), .fixed(fixed(8, at: i)))
        case 2:
            let n = try varint()
            guard n <= UInt64(b.endIndex - i) else {
                throw ProtoError("field \(field): length \(n) past the end of the message")
            }
            let start = i
            i += Int(n)
            return (Int(field), .bytes(b[start..<i]))
        case 5:
            guard b.endIndex - i >= 4 else { throw ProtoError("truncated fixed32 field \(field)") }
            defer { i += 4 }
            return (Int(field), .fixed(fixed(4, at: i)))
        default:
            throw ProtoError("field \(field): unsupported wire type \(k & 7)")
        }
    }

    /// Calls `body` with each field; a value of the wrong wire type for its field is the
    /// caller's to refuse (the accessors return nil).
    public static func forEach(_ bytes: ArraySlice<UInt8>, _ body: (Int, ProtoValue) throws(ProtoError) -> Void)
        throws(ProtoError)
    {
        var r = ProtoReader(bytes)
        while let (f, v) = try r.next() { try body(f, v) }
    }
}
