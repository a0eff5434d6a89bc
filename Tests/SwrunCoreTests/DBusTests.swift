import Foundation
import Glibc
import OCISpec
import OCISpecCodable
import SwrunCore
import SwrunSys
import Testing

// The systemd cgroup driver's building blocks: the D-Bus wire format (DBusMessage.swift),
// the transport (SwrunSys/DBusConnection.swift), the systemd calls (SystemdManager.swift)
// and the spec-to-properties conversions (SystemdProperties.swift). Encodings are compared
// byte for byte with real exchanges recorded from systemd 252 (DBusFixtures.swift); the
// client is replayed against two recorded sessions through a fake peer.

/// Hex text to bytes; whitespace is skipped (the fixtures are wrapped).
func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var high: UInt8?
    for c in s.utf8 {
        let v: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
        default: continue
        }
        if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
    }
    return out
}

/// A deterministic generator for the corruption test (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A D-Bus peer on a listening socket, on a thread of its own (the client is synchronous):
/// it accepts one connection, writes `script` at once, then keeps what the client sends
/// until the client closes (or, with `closeAfterWrite`, hangs up at once).
final class FakePeer: @unchecked Sendable {
    let path: String
    private let listenFD: Int32
    private var received: [UInt8] = []
    /// Why the peer stopped before the client closed (the test fails with it).
    private var problem: String?
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        path = "/tmp/swrun-dbus-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let p = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in for (i, b) in p.enumerated() { dst[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard listenFD >= 0, r == 0, listen(listenFD, 4) == 0 else {
            throw SyscallError("fake peer", path, errno: errno)
        }
    }

    deinit {
        close(listenFD)
        unlink(path)
    }

    func start(writing script: [UInt8], closeAfterWrite: Bool = false) {
        let thread = Thread { [self] in
            defer { done.signal() }
            var p = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 10_000) == 1 else {
                problem = "fake peer: no client connected within 10 s"
                return
            }
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else {
                problem = "fake peer: accept: errno \(errno)"
                return
            }
            defer { close(fd) }
            var off = 0
            while off < script.count {
                let n = script.withUnsafeBytes {
                    send(fd, $0.baseAddress! + off, script.count - off, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 { break }
                off += n
            }
            if closeAfterWrite { return }
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                var q = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&q, 1, 10_000) == 1 else {
                    problem = "fake peer: the client neither wrote nor closed within 10 s"
                    return
                }
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                received += buf[0..<n]
            }
        }
        thread.start()
    }

    /// What the client sent, once it has closed.
    func finish() -> [UInt8] {
        done.wait()
        if let problem { Issue.record(Comment(rawValue: problem)) }
        return received
    }
}

/// The resources swrun-dbus-probe converts (Tests/DBusProbe/main.swift): the recorded
/// sessions carry their properties.
func probeResources() -> LinuxResources {
    var r = LinuxResources()
    var mem = LinuxMemory()
    mem.limit = 64 << 20
    r.memory = mem
    r.pids = LinuxPids(limit: 32)
    var cpu = LinuxCPU()
    cpu.shares = 512
    cpu.cpus = "0"
    cpu.quota = 12_345
    cpu.period = 100_000
    r.cpu = cpu
    var bio = LinuxBlockIO()
    bio.weight = 500
    r.blockIO = bio
    return r
}

func prop(_ name: String, _ v: DBusValue) -> DBusValue { SystemdProperty(name, v).dbusValue }

func call(
    _ serial: UInt32, _ member: String, _ body: [DBusValue], path: String = SystemdManager.objectPath,
    interface: String = SystemdManager.managerInterface, flags: UInt8 = DBusMessage.allowInteractiveAuthorization
) -> DBusMessage {
    DBusMessage.methodCall(
        serial: serial, destination: SystemdManager.destination, path: path, interface: interface, member: member,
        body: body, flags: flags)
}

/// A method return carrying `body` under `signature`, built by hand so that hostile bodies
/// can be written exactly: REPLY_SERIAL 1 and SIGNATURE, then the body at offset 8k.
func rawReturn(signature: String, body: [UInt8]) -> [UInt8] {
    let sig = Array(signature.utf8)
    var fields: [UInt8] = [5, 1, UInt8(ascii: "u"), 0, 1, 0, 0, 0]
    fields += [8, 1, UInt8(ascii: "g"), 0, UInt8(sig.count)] + sig + [0]
    func le(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    var m: [UInt8] = [UInt8(ascii: "l"), 2, 0, 1] + le(body.count) + le(1) + le(fields.count) + fields
    while m.count % 8 != 0 { m.append(0) }
    return m + body
}

func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }

@Suite("D-Bus client, systemd calls and unit properties (no root)")
struct DBusTests {
    // MARK: wire format

    @Test func roundTripsEveryType() throws {
        let body: [DBusValue] = [
            .string("héllo ✓"), .objectPath("/a/b_c/D1"), .objectPath("/"), .bool(true), .bool(false),
            .uint32(0xdead_beef), .uint64(.max), .int32(-5), .int64(.min), .byte(255), .double(-1.5),
            .int16(-2), .uint16(65535), .signature("a(sv)"), .signature(""), .bytes([1, 2, 3]), .bytes([]),
            .array(element: "s", [.string("a"), .string("")]), .array(element: "u", []),
            .array(
                element: "(sv)",
                [
                    prop("A", .uint64(7)), prop("B", .bytes([0xff])),
                    prop("C", .array(element: "(ss)", [.structure([.string("x"), .string("y")])])),
                    prop("D", .bool(false)), prop("E", .array(element: "u", [.uint32(1), .uint32(2)])),
                    prop("F", .double(0.25)),
                ]),
            .array(element: "(sa(sv))", [.structure([.string("x.scope"), .array(element: "(sv)", [])])]),
            .array(
                element: "{sv}",
                [
                    .dictEntry(.string("k"), .variant(.array(element: "t", [.uint64(1)]))),
                    .dictEntry(.string("j"), .variant(.int16(3))),
                ]),
            .array(element: "{ua(sv)}", [.dictEntry(.uint32(1), .array(element: "(sv)", [prop("x", .string("y"))]))]),
            .variant(.variant(.structure([.byte(1), .uint64(2)]))), .array(element: "ay", [.bytes([9]), .bytes([])]),
            .unixFD(0),
        ]
        let m = DBusMessage.methodCall(
            serial: 7, destination: "org.example.Dest", path: "/org/example", interface: "org.example.I", member: "M",
            body: body)
        let bytes = try m.encode()
        let back = try DBusMessage.decode(bytes)
        #expect(back == m)
        #expect(try back.encode() == bytes)
        // A decoded message without its body keeps the signature and drops the values.
        let header = try DBusMessage.decode(bytes, body: false)
        #expect(header.signature == m.signature && header.body.isEmpty && header.member == "M")
        // `.array(element: "y", ...)` is the same bytes as `.bytes`, and decodes as `.bytes`.
        let viaArray = DBusMessage.methodCall(
            serial: 1, destination: nil, path: "/", interface: nil, member: "M",
            body: [.array(element: "y", [.byte(1), .byte(2)])])
        let viaBytes = DBusMessage.methodCall(
            serial: 1, destination: nil, path: "/", interface: nil, member: "M", body: [.bytes([1, 2])])
        #expect(try viaArray.encode() == viaBytes.encode())
        #expect(try DBusMessage.decode(viaArray.encode()).body == [.bytes([1, 2])])
    }

    /// A big-endian message ('B') reads the same; the client only writes little endian.
    @Test func decodesBigEndian() throws {
        var m: [UInt8] = [UInt8(ascii: "B"), 2, 0, 1, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 15]
        m += [5, 1, UInt8(ascii: "u"), 0, 0, 0, 0, 3, 8, 1, UInt8(ascii: "g"), 0, 1, UInt8(ascii: "u"), 0, 0]
        m += [1, 2, 3, 4]
        let d = try DBusMessage.decode(m)
        #expect(d.kind == .methodReturn && d.serial == 9 && d.replySerial == 3 && d.body == [.uint32(0x0102_0304)])
    }

    /// The client's encodings are sd-bus's, byte for byte: busctl's calls to systemd's
    /// private socket and, with the SENDER the daemon appends, on the system bus.
    @Test func encodesAsSdBusDoes() throws {
        let pid: DBusValue = .array(element: "u", [.uint32(318)])
        let devices: DBusValue = .array(
            element: "(ss)",
            [
                .structure([.string("/dev/char/1:3"), .string("rwm")]),
                .structure([.string("char-136"), .string("rwm")]),
            ])
        let start = call(
            2, "StartTransientUnit",
            [
                .string("fixture2.scope"), .string("replace"),
                .array(
                    element: "(sv)",
                    [
                        prop("Description", .string("libcontainer container fixture2")),
                        prop("Slice", .string("system.slice")),
                        prop("Delegate", .bool(true)), prop("PIDs", pid), prop("MemoryMax", .uint64(67_108_864)),
                        prop("TasksMax", .uint64(32)),
                        prop("AllowedCPUs", .bytes([1])), prop("DeviceAllow", devices),
                        prop("CPUQuotaPerSecUSec", .uint64(130_000)),
                    ]),
                .array(element: "(sa(sv))", []),
            ])
        #expect(try start.encode() == hexBytes(DBusFixtures.sdStartTransientUnit))
        let hello = DBusMessage.methodCall(
            serial: 1, destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus", member: "Hello")
        #expect(try hello.encode() == hexBytes(DBusFixtures.sdHello))
        #expect(
            try call(
                2, "SetUnitProperties",
                [
                    .string("fixture2.scope"), .bool(true),
                    .array(element: "(sv)", [prop("MemoryMax", .uint64(134_217_728))]),
                ]
            ).encode()
                == hexBytes(DBusFixtures.sdSetUnitProperties))
        #expect(
            try call(
                2, "StartTransientUnit",
                [
                    .string("fixture2.scope"), .string("replace"), .array(element: "(sv)", [prop("PIDs", pid)]),
                    .array(element: "(sa(sv))", []),
                ]
            ).encode()
                == hexBytes(DBusFixtures.sdStartExisting))
        #expect(try call(2, "GetUnit", [.string("fixture2.scope")]).encode() == hexBytes(DBusFixtures.sdGetUnit))
        #expect(try call(2, "GetUnit", [.string("nosuch.scope")]).encode() == hexBytes(DBusFixtures.sdGetUnitMissing))
        #expect(
            try call(
                2, "Get", [.string("org.freedesktop.systemd1.Scope"), .string("ControlGroup")],
                path: SystemdManager.unitObjectPath("fixture2.scope"),
                interface: SystemdManager.propertiesInterface
            ).encode() == hexBytes(DBusFixtures.sdGetControlGroup))
        #expect(
            try call(2, "StopUnit", [.string("fixture2.scope"), .string("replace")]).encode()
                == hexBytes(DBusFixtures.sdStopUnit))

        var onBus = call(
            2, "StartTransientUnit",
            [
                .string("fixture.scope"), .string("replace"),
                .array(
                    element: "(sv)",
                    [
                        prop("Description", .string("libcontainer container fixture")),
                        prop("Slice", .string("system.slice")),
                        prop("Delegate", .bool(true)), prop("PIDs", .array(element: "u", [.uint32(284)])),
                        prop("MemoryMax", .uint64(67_108_864)),
                        prop("AllowedCPUs", .bytes([1])), prop("DeviceAllow", devices),
                        prop("CPUQuotaPerSecUSec", .uint64(300_000)),
                    ]),
                .array(element: "(sa(sv))", []),
            ])
        onBus.sender = ":1.6"
        #expect(try onBus.encode() == hexBytes(DBusFixtures.monitorStartTransientUnit))
    }

    /// systemd's replies, errors and signals decode to what busctl printed, and encode back
    /// to the same bytes (their header order kept).
    @Test func decodesSystemdMessages() throws {
        func check(_ fixture: String, _ body: (DBusMessage) -> Void) throws {
            let bytes = hexBytes(fixture)
            let m = try DBusMessage.decode(bytes)
            body(m)
            #expect(try m.encode() == bytes)
            #expect(try DBusMessage.decode(bytes, body: false).signature == m.signature)
        }
        try check(DBusFixtures.sdStartReply) { m in
            #expect(m.kind == .methodReturn && m.replySerial == 2 && m.sender == "org.freedesktop.systemd1")
            #expect(m.body == [.objectPath("/org/freedesktop/systemd1/job/151")])
        }
        try check(DBusFixtures.sdEmptyReply) { m in
            #expect(m.kind == .methodReturn && m.body.isEmpty && m.signature.isEmpty)
        }
        try check(DBusFixtures.sdUnitExists) { m in
            #expect(m.kind == .error && m.errorName == SystemdManager.unitExists)
            #expect(m.errorText == "Unit fixture2.scope was already loaded or has a fragment file.")
        }
        try check(DBusFixtures.sdNoSuchUnit) { m in
            #expect(m.errorName == SystemdManager.noSuchUnit && m.errorText == "Unit nosuch.scope not loaded.")
        }
        try check(DBusFixtures.sdGetUnitReply) { m in
            #expect(m.body == [.objectPath("/org/freedesktop/systemd1/unit/fixture2_2escope")])
        }
        try check(DBusFixtures.sdControlGroupReply) { m in
            #expect(m.body == [.variant(.string("/system.slice/fixture2.scope"))])
        }
        try check(DBusFixtures.sdPropertiesChanged) { m in
            #expect(m.kind == .signal && m.member == "PropertiesChanged" && m.signature == "sa{sv}as")
            #expect(m.path == SystemdManager.unitObjectPath("fixture2.scope"))
            guard m.body.count == 3, case .array(let element, let entries) = m.body[1] else {
                Issue.record("body \(m.body)"); return
            }
            #expect(element == "{sv}" && entries.count > 10)
            #expect(entries.contains(.dictEntry(.string("ActiveState"), .variant(.string("active")))))
        }
        try check(DBusFixtures.monitorHelloReply) { m in
            #expect(m.body == [.string(":1.6")] && m.destination == ":1.6" && m.sender == "org.freedesktop.DBus")
        }
        try check(DBusFixtures.monitorJobReply) { m in
            #expect(m.body == [.objectPath("/org/freedesktop/systemd1/job/150")] && m.sender == ":1.0")
        }
        try check(DBusFixtures.monitorJobRemoved) { m in
            #expect(m.kind == .signal && m.member == "JobRemoved" && m.interface == SystemdManager.managerInterface)
            guard m.body.count == 4 else { Issue.record("body \(m.body)"); return }
            #expect(
                Array(m.body[1...]) == [
                    .objectPath("/org/freedesktop/systemd1/job/150"), .string("fixture.scope"), .string("done"),
                ])
            #expect(m.body[0] == .uint32(150))
        }
        try check(DBusFixtures.monitorUnitExists) { m in #expect(m.errorName == SystemdManager.unitExists) }
        for (_, hex) in DBusFixtures.privateSession + DBusFixtures.busSession {
            let bytes = hexBytes(hex)
            guard bytes.first == UInt8(ascii: "l") else { continue } // the SASL lines
            #expect(try DBusMessage.decode(bytes).encode() == bytes)
        }
    }

    // MARK: hostile input

    /// Every truncation of every recorded message throws (and none traps).
    @Test func rejectsTruncations() {
        let fixtures = [
            DBusFixtures.sdStartTransientUnit, DBusFixtures.sdPropertiesChanged, DBusFixtures.monitorJobRemoved,
            DBusFixtures.sdUnitExists,
        ]
        for f in fixtures {
            let bytes = hexBytes(f)
            for n in 0..<bytes.count {
                #expect(throws: SwrunError.self) { try DBusMessage.decode(Array(bytes[0..<n])) }
            }
            #expect(throws: SwrunError.self) { try DBusMessage.decode(bytes + [0]) }
        }
    }

    @Test func rejectsHostileHeaders() throws {
        let good = try call(9, "GetUnit", [.string("abc")]).encode()
        func mutated(_ f: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = good
            f(&b)
            return b
        }
        let bad: [(String, [UInt8])] = [
            ("endianness", mutated { $0[0] = UInt8(ascii: "x") }),
            ("type 0", mutated { $0[1] = 0 }),
            ("type 5", mutated { $0[1] = 5 }),
            ("version 2", mutated { $0[3] = 2 }),
            ("serial 0", mutated { $0.replaceSubrange(8..<12, with: [0, 0, 0, 0]) }),
            ("body length + 1", mutated { $0[4] &+= 1 }),
            ("body length - 1", mutated { $0[4] &-= 1 }),
            ("body length 4 GiB", mutated { $0.replaceSubrange(4..<8, with: [0xff, 0xff, 0xff, 0xff]) }),
            ("fields length 4 GiB", mutated { $0.replaceSubrange(12..<16, with: [0xf0, 0xff, 0xff, 0xff]) }),
            ("fields length + 8", mutated { $0[12] &+= 8 }),
            ("fields length - 1", mutated { $0[12] &-= 1 }),
            ("PATH field typed s", mutated { $0[18] = UInt8(ascii: "s") }),
            ("PATH field code made MEMBER twice", mutated { $0[16] = 3 }),
        ]
        for (what, bytes) in bad {
            #expect(throws: SwrunError.self, "\(what)") { try DBusMessage.decode(bytes) }
        }
        // Header fields a kind of message must have.
        func raw(kind: UInt8, fields: [UInt8]) -> [UInt8] {
            var m: [UInt8] =
                [UInt8(ascii: "l"), kind, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0] + le32(UInt32(fields.count)) + fields
            while m.count % 8 != 0 { m.append(0) }
            return m
        }
        let path: [UInt8] = [1, 1, UInt8(ascii: "o"), 0, 1, 0, 0, 0, UInt8(ascii: "/"), 0, 0, 0, 0, 0, 0, 0]
        let member: [UInt8] = [3, 1, UInt8(ascii: "s"), 0, 1, 0, 0, 0, UInt8(ascii: "M"), 0]
        #expect(throws: SwrunError.self, "a call without MEMBER") { try DBusMessage.decode(raw(kind: 1, fields: path)) }
        #expect(throws: SwrunError.self, "a signal without INTERFACE") {
            try DBusMessage.decode(raw(kind: 4, fields: path + member))
        }
        #expect(throws: SwrunError.self, "a return without REPLY_SERIAL") {
            try DBusMessage.decode(raw(kind: 2, fields: []))
        }
        #expect(throws: SwrunError.self, "an error without ERROR_NAME") {
            try DBusMessage.decode(raw(kind: 3, fields: [5, 1, UInt8(ascii: "u"), 0, 1, 0, 0, 0]))
        }
        #expect(try DBusMessage.decode(raw(kind: 1, fields: path + member)).member == "M")
        // An unknown header field is ignored, as the specification requires.
        let unknown: [UInt8] = [0x42, 1, UInt8(ascii: "y"), 0, 7, 0, 0, 0]
        #expect(try DBusMessage.decode(raw(kind: 1, fields: path + unknown + member)).member == "M")
        // A body without a signature.
        var noSig = raw(kind: 2, fields: [5, 1, UInt8(ascii: "u"), 0, 1, 0, 0, 0])
        noSig[4] = 1
        #expect(throws: SwrunError.self) { try DBusMessage.decode(noSig + [7]) }
    }

    @Test func rejectsHostileBodies() throws {
        let string = [3, 0, 0, 0] + Array("abc".utf8) + [0]
        #expect(try DBusMessage.decode(rawReturn(signature: "s", body: string)).body == [.string("abc")])
        let cases: [(String, String, [UInt8])] = [
            ("string length past the end", "s", [0xe8, 3, 0, 0] + Array("abc".utf8) + [0]),
            ("string length 4 GiB", "s", [0xff, 0xff, 0xff, 0xff] + Array("abc".utf8) + [0]),
            ("string without its NUL", "s", [2, 0, 0, 0] + Array("abc".utf8) + [0]),
            ("NUL inside a string", "s", [3, 0, 0, 0, UInt8(ascii: "a"), 0, UInt8(ascii: "c"), 0]),
            ("string not UTF-8", "s", [3, 0, 0, 0, UInt8(ascii: "a"), 0xff, UInt8(ascii: "c"), 0]),
            ("invalid object path", "o", [3, 0, 0, 0] + Array("a/b".utf8) + [0]),
            ("object path with //", "o", [4, 0, 0, 0] + Array("/a//".utf8) + [0]),
            ("boolean 2", "b", [2, 0, 0, 0]),
            ("non-zero padding", "yu", [1, 0, 1, 0, 5, 0, 0, 0]),
            ("unaligned u32", "yu", [1, 5, 0, 0, 0, 0, 0, 0]),
            ("array of 2^26 + 1 bytes", "ay", le32(1 << 26 + 1) + [1, 2, 3]),
            ("array past the end", "au", le32(8) + [1, 0, 0, 0]),
            ("array length not a multiple of its elements", "au", le32(6) + [1, 0, 0, 0, 2, 0, 0, 0]),
            ("array of structs without its padding", "a(y)", le32(1) + [7]),
            ("bad signature in a variant", "v", [1, UInt8(ascii: "z"), 0, 0]),
            ("two types in a variant", "v", [2, UInt8(ascii: "y"), UInt8(ascii: "y"), 0, 1, 2]),
            ("variant signature without its NUL", "v", [1, UInt8(ascii: "y"), 1, 1]),
            ("signature value invalid", "g", [1, UInt8(ascii: "a"), 0]),
            ("bytes after the body", "y", [1, 0]),
            ("body shorter than its signature", "yy", [1]),
        ]
        for (what, sig, body) in cases {
            #expect(throws: SwrunError.self, "\(what)") {
                try DBusMessage.decode(rawReturn(signature: sig, body: body))
            }
        }
        // The element budget: a million and one int32s is refused, not decoded.
        let n = DBusLimits.maxValues + 1
        var many = le32(UInt32(n * 4))
        many += [UInt8](repeating: 0, count: n * 4)
        #expect(throws: SwrunError.self) { try DBusMessage.decode(rawReturn(signature: "ai", body: many)) }
    }

    /// Nesting beyond the limits throws, and the recursion stays bounded: variants 200
    /// deep, signatures with 33 nested arrays or structs.
    @Test func rejectsDeepNesting() throws {
        func variants(_ depth: Int) -> [UInt8] {
            var b: [UInt8] = []
            for _ in 0..<depth { b += [1, UInt8(ascii: "v"), 0] }
            return b + [1, UInt8(ascii: "y"), 0, 7]
        }
        #expect(try DBusMessage.decode(rawReturn(signature: "v", body: variants(30))).body.first?.unwrapped == .byte(7))
        #expect(throws: SwrunError.self) { try DBusMessage.decode(rawReturn(signature: "v", body: variants(200))) }
        let deepArrays = String(repeating: "a", count: 33) + "y"
        let deepStructs = String(repeating: "(", count: 33) + "y" + String(repeating: ")", count: 33)
        let okStructs = String(repeating: "(", count: 32) + "y" + String(repeating: ")", count: 32)
        #expect(
            !DBusSignature.isValid(deepArrays) && !DBusSignature.isValid(deepStructs)
                && DBusSignature.isValid(okStructs))
        #expect(throws: SwrunError.self) {
            try DBusMessage.decode(rawReturn(signature: deepArrays, body: [0, 0, 0, 0]))
        }
        // Encoding refuses values nested past the limit too.
        var v: DBusValue = .byte(1)
        for _ in 0..<100 { v = .variant(v) }
        #expect(throws: SwrunError.self) {
            try DBusMessage.methodCall(serial: 1, destination: nil, path: "/", interface: nil, member: "M", body: [v])
                .encode()
        }
    }

    @Test(arguments: ["", "y", "a{sv}", "a(sa(sv))", "(yv)", "aay", "a{ua(ss)}", "uoss", "sa{sv}as"])
    func validSignatures(_ s: String) { #expect(DBusSignature.isValid(s)) }

    @Test(arguments: [
        "a", "(", ")", "()", "(y", "a{vs}", "{ss}", "a{s}", "a{sss}", "z", "a{sv", String(repeating: "y", count: 256),
    ])
    func invalidSignatures(_ s: String) { #expect(!DBusSignature.isValid(s)) }

    /// Random damage to recorded messages: decoding returns or throws, never traps.
    @Test func survivesRandomCorruption() {
        var rng = SplitMix(state: 0x5357_5255_4e)
        let fixtures = [
            DBusFixtures.sdStartTransientUnit, DBusFixtures.sdPropertiesChanged, DBusFixtures.monitorJobRemoved,
            DBusFixtures.sdControlGroupReply, DBusFixtures.monitorStartTransientUnit,
        ].map(hexBytes)
        var decoded = 0, refused = 0
        for original in fixtures {
            for _ in 0..<3000 {
                var b = original
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { b = Array(b[0..<Int.random(in: 0...b.count, using: &rng)]) }
                if (try? DBusMessage.decode(b)) != nil { decoded += 1 } else { refused += 1 }
            }
        }
        #expect(decoded + refused == 15000 && refused > 1000)
    }

    @Test func refusesToEncodeWhatCannotBeSent() {
        func encode(_ body: [DBusValue], path: String = "/", member: String = "M") throws(SwrunError) -> [UInt8] {
            try DBusMessage.methodCall(
                serial: 1, destination: nil, path: path, interface: nil, member: member, body: body
            ).encode()
        }
        #expect(throws: SwrunError.self) { try encode([.string("a\u{0}b")]) }
        #expect(throws: SwrunError.self) { try encode([.objectPath("no/slash")]) }
        #expect(throws: SwrunError.self) { try encode([], path: "/trailing/") }
        #expect(throws: SwrunError.self) { try encode([], member: "") }
        #expect(throws: SwrunError.self) { try encode([.array(element: "u", [.string("x")])]) }
        #expect(throws: SwrunError.self) { try encode([.array(element: "", [])]) }
        #expect(throws: SwrunError.self) { try encode([.structure([])]) }
        #expect(throws: SwrunError.self) { try encode([.dictEntry(.string("k"), .string("v"))]) }
        #expect(throws: SwrunError.self) { try encode([.array(element: "{vs}", [])]) }
        #expect(throws: SwrunError.self) { try encode([.signature("a")]) }
        var m = DBusMessage.methodCall(
            serial: 1, destination: nil, path: "/", interface: nil, member: "M", body: [.byte(1)])
        m.signature = "u"
        #expect(throws: SwrunError.self) { try m.encode() }
        #expect(throws: SwrunError.self) { try DBusMessage(kind: .signal, serial: 1, path: "/", member: "M").encode() }
        #expect(throws: SwrunError.self) {
            try DBusMessage(kind: .methodCall, serial: 0, path: "/", member: "M").encode()
        }
    }

    // MARK: transport

    @Test func authenticationBytes() {
        #expect(DBusConnection.authBytes(uid: 0) == [0] + Array("AUTH EXTERNAL 30\r\nBEGIN\r\n".utf8))
        #expect(DBusConnection.authBytes(uid: 1000) == [0] + Array("AUTH EXTERNAL 31303030\r\nBEGIN\r\n".utf8))
        #expect(hexBytes(DBusFixtures.privateSession[0].hex) == DBusConnection.authBytes(uid: 0))
    }

    @Test func framing() throws {
        let m = hexBytes(DBusFixtures.monitorJobRemoved)
        #expect(try DBusConnection.messageLength(Array(m[0..<16])) == m.count)
        var big = Array(m[0..<16])
        big.replaceSubrange(4..<8, with: le32(UInt32(DBusConnection.maxMessageBytes)))
        #expect(throws: SyscallError.self) { try DBusConnection.messageLength(big) }
        var version = Array(m[0..<16])
        version[3] = 2
        #expect(throws: SyscallError.self) { try DBusConnection.messageLength(version) }
        #expect(throws: SyscallError.self) { try DBusConnection.messageLength(Array("HTTP/1.1 200 OK\r\n".utf8)) }
    }

    func connect(_ peer: FakePeer, pipelined: Bool, timeout: Int = 3000) throws(SyscallError) -> DBusConnection {
        try DBusConnection.connect(
            path: peer.path, uid: geteuid(), deadline: Clock.monotonicMilliseconds() + timeout,
            pipelineMessages: pipelined)
    }

    /// Several messages in one read, the handshake's line before them: each comes out whole,
    /// in order, and what the client sent is the handshake then its messages.
    @Test func handshakeThenWholeMessages() throws {
        let peer = try FakePeer()
        let messages = [DBusFixtures.sdStartReply, DBusFixtures.sdPropertiesChanged, DBusFixtures.monitorJobRemoved]
            .map(hexBytes)
        peer.start(writing: Array("OK 0123456789abcdef0123456789abcdef\r\n".utf8) + messages.flatMap { $0 })
        let conn = try connect(peer, pipelined: false)
        let hello = try call(1, "GetUnit", [.string("x.scope")]).encode()
        try conn.send(hello, deadline: Clock.monotonicMilliseconds() + 1000)
        for m in messages { #expect(try conn.receiveMessage(deadline: Clock.monotonicMilliseconds() + 1000) == m) }
        #expect(conn.messagesReceived == 3)
        conn.close()
        #expect(peer.finish() == DBusConnection.authBytes(uid: geteuid()) + hello)
    }

    @Test func rejectedAuthentication() throws {
        let peer = try FakePeer()
        peer.start(writing: Array("REJECTED EXTERNAL\r\n".utf8))
        let e1 = #expect(throws: SyscallError.self) { _ = try connect(peer, pipelined: false) }
        #expect(e1?.errno == Errno.EACCES)
        // Pipelined, the rejection comes with the first receive.
        let peer2 = try FakePeer()
        peer2.start(writing: Array("ERROR\r\n".utf8))
        let conn = try connect(peer2, pipelined: true)
        let e2 = #expect(throws: SyscallError.self) {
            _ = try conn.receiveMessage(deadline: Clock.monotonicMilliseconds() + 1000)
        }
        #expect(e2?.errno == Errno.EACCES)
        conn.close()
    }

    /// A peer that does not answer costs the deadline, not more.
    @Test func timesOut() throws {
        let peer = try FakePeer()
        peer.start(writing: Array("OK 0123456789abcdef0123456789abcdef\r\n".utf8))
        let conn = try connect(peer, pipelined: false)
        let t0 = Clock.monotonicMilliseconds()
        let e1 = #expect(throws: SyscallError.self) { _ = try conn.receiveMessage(deadline: t0 + 150) }
        #expect(e1?.errno == DBusConnection.timedOutErrno)
        let took = Clock.monotonicMilliseconds() - t0
        #expect(took >= 150 && took < 2000)
        conn.close()
        _ = peer.finish()
        // Half a message, then silence: the same.
        let peer2 = try FakePeer()
        peer2.start(
            writing: Array("OK 0123456789abcdef0123456789abcdef\r\n".utf8)
                + Array(hexBytes(DBusFixtures.sdStartReply).prefix(40)))
        let conn2 = try connect(peer2, pipelined: false)
        let e2 = #expect(throws: SyscallError.self) {
            _ = try conn2.receiveMessage(deadline: Clock.monotonicMilliseconds() + 150)
        }
        #expect(e2?.errno == DBusConnection.timedOutErrno)
        conn2.close()
        _ = peer2.finish()
        // No handshake reply at all: connect itself is bounded.
        let peer3 = try FakePeer()
        peer3.start(writing: [])
        let e3 = #expect(throws: SyscallError.self) { _ = try connect(peer3, pipelined: false, timeout: 150) }
        #expect(e3?.errno == DBusConnection.timedOutErrno)
    }

    @Test func peerClosesOrLies() throws {
        let ok = Array("OK 0123456789abcdef0123456789abcdef\r\n".utf8)
        let peer = try FakePeer()
        peer.start(writing: ok + Array(hexBytes(DBusFixtures.sdStartReply).prefix(40)), closeAfterWrite: true)
        let conn = try connect(peer, pipelined: false)
        let e1 = #expect(throws: SyscallError.self) {
            _ = try conn.receiveMessage(deadline: Clock.monotonicMilliseconds() + 2000)
        }
        #expect(e1?.errno == ECONNRESET)
        // A length past the limit is refused before a byte of it is read.
        let peer2 = try FakePeer()
        var huge = Array(hexBytes(DBusFixtures.sdStartReply).prefix(16))
        huge.replaceSubrange(4..<8, with: [0, 0, 0, 0x10])
        peer2.start(writing: ok + huge)
        let conn2 = try connect(peer2, pipelined: false)
        let e2 = #expect(throws: SyscallError.self) {
            _ = try conn2.receiveMessage(deadline: Clock.monotonicMilliseconds() + 2000)
        }
        #expect(e2?.errno == Errno.EMSGSIZE)
        conn2.close()
        _ = peer2.finish()
        // Something that is not D-Bus at all.
        let peer3 = try FakePeer()
        peer3.start(writing: ok + Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let conn3 = try connect(peer3, pipelined: false)
        let e3 = #expect(throws: SyscallError.self) {
            _ = try conn3.receiveMessage(deadline: Clock.monotonicMilliseconds() + 2000)
        }
        #expect(e3?.errno == DBusConnection.badMessageErrno)
        conn3.close()
        _ = peer3.finish()
        // No listener.
        let e4 = #expect(throws: SyscallError.self) {
            _ = try DBusConnection.connect(
                path: "/tmp/swrun-dbus-test-none-\(getpid()).sock", uid: 0,
                deadline: Clock.monotonicMilliseconds() + 500)
        }
        #expect(e4?.errno == Errno.ENOENT)
        #expect(throws: SyscallError.self) {
            try DBusConnection.connect(path: String(repeating: "x", count: 200), uid: 0, deadline: 0)
        }
    }

    // MARK: the manager, replayed

    /// The split of a recorded session: what the client wrote, and what it read, in order.
    func session(_ lines: [(sent: Bool, hex: String)]) -> (sent: [UInt8], received: [UInt8]) {
        var sent: [UInt8] = [], received: [UInt8] = []
        for (i, l) in lines.enumerated() {
            let b = hexBytes(l.hex)
            // The handshake names the uid; the recording's was root.
            if i == 0 { sent += DBusConnection.authBytes(uid: geteuid()); continue }
            if l.sent { sent += b } else { received += b }
        }
        return (sent, received)
    }

    /// The probe's session on systemd's private socket, replayed: the client sends the
    /// same bytes (properties from SystemdProperties, encodings, serials), and finds its
    /// job's end among the signals systemd sends every direct connection.
    @Test func replaysThePrivateSocketSession() throws {
        let (sent, received) = session(DBusFixtures.privateSession)
        let peer = try FakePeer()
        peer.start(writing: received)
        let m = try SystemdManager.connect(socket: peer.path, isBus: false, timeoutMilliseconds: 3000)
        #expect(try m.version() == 252)
        let placement = try SystemdProperties.placement(cgroupsPath: "system.slice:swrun-dbus:probe279", id: "probe279")
        let properties =
            try SystemdProperties.unitProperties(placement, pid: 280)
            + SystemdProperties.resourcesV2(probeResources(), systemdVersion: 252).properties
        let job = try m.startTransientUnit(placement.unitName, properties: properties)
        #expect(job == "/org/freedesktop/systemd1/job/131")
        #expect(try m.waitForJob(job) == "done")
        #expect(try m.controlGroup(ofUnit: placement.unitName) == "/system.slice/swrun-dbus-probe279.scope")
        m.close()
        #expect(peer.finish() == sent)
    }

    /// The probe's session on the system bus, replayed: Hello and AddMatch pipelined, the
    /// errors by name, runc's startUnit and stopUnit (with the unanswered ResetFailedUnit).
    @Test func replaysTheBusSession() throws {
        let (sent, received) = session(DBusFixtures.busSession)
        let peer = try FakePeer()
        peer.start(writing: received)
        let m = try SystemdManager.connect(socket: peer.path, isBus: true, timeoutMilliseconds: 3000)
        #expect(try m.version() == 252)
        let placement = try SystemdProperties.placement(cgroupsPath: "system.slice:swrun-dbus:probe312", id: "probe312")
        let unit = placement.unitName
        let resources = try SystemdProperties.resourcesV2(probeResources(), systemdVersion: 252)
        let job = try m.startTransientUnit(
            unit, properties: try SystemdProperties.unitProperties(placement, pid: 313) + resources.properties)
        #expect(try m.waitForJob(job) == "done")
        #expect(try m.controlGroup(ofUnit: unit) == "/system.slice/swrun-dbus-probe312.scope")
        try m.setUnitProperties(
            unit,
            properties: [SystemdProperty("MemoryMax", .uint64(128 << 20)), SystemdProperty("TasksMax", .uint64(64))])
        #expect(try m.getUnit(unit) == SystemdManager.unitObjectPath(unit))
        let exists = #expect(throws: SwrunError.self) {
            _ = try m.startTransientUnit(unit, properties: try SystemdProperties.unitProperties(placement, pid: 314))
        }
        #expect(exists?.errno == Errno.EEXIST)
        #expect(
            exists?.message.startsWithBytes(
                "start unit swrun-dbus-probe312.scope: org.freedesktop.systemd1.UnitExists: Unit swrun-dbus-probe312.scope"
            ) == true)
        #expect(m.lastError?.name == SystemdManager.unitExists)
        let stop = try m.stopUnitJob(unit)
        #expect(try m.waitForJob(stop) == "done")
        #expect(try m.getUnit(unit) == nil)
        let second = try SystemdProperties.placement(cgroupsPath: ":swrun-dbus:probe312b", id: "probe312")
        try m.startUnit(
            second.unitName, properties: try SystemdProperties.unitProperties(second, pid: 315) + resources.properties)
        try m.stopUnit(second.unitName)
        try m.stopUnit(second.unitName) // gone: NoSuchUnit is success
        m.close()
        #expect(peer.finish() == sent)
    }

    /// A failed start and a pipelined call's error, scripted from recorded replies.
    @Test func jobFailuresAndPipelinedErrors() throws {
        // A JobRemoved whose result is not "done": runc's words, and the unit reset.
        var removed = try DBusMessage.decode(hexBytes(DBusFixtures.monitorJobRemoved))
        removed.body[3] = .string("failed")
        var reply = try DBusMessage.decode(hexBytes(DBusFixtures.monitorJobReply))
        reply.replySerial = 1 // the private socket: no Hello, StartTransientUnit is serial 1
        let ok = Array("OK 0123456789abcdef0123456789abcdef\r\n".utf8)
        let peer = try FakePeer()
        peer.start(writing: ok + (try reply.encode()) + (try removed.encode()))
        let m = try SystemdManager.connect(socket: peer.path, isBus: false, timeoutMilliseconds: 2000)
        let failed = #expect(throws: SwrunError.self) { try m.startUnit("fixture.scope", properties: []) }
        #expect(failed?.message == "error creating systemd unit `fixture.scope`: got `failed`")
        m.close()
        let sentBytes = peer.finish()
        #expect(ByteText.contains("ResetFailedUnit", in: sentBytes[...]))
        // On a bus, an error to the AddMatch sent ahead surfaces at the next wait.
        var addMatchError = try DBusMessage.decode(hexBytes(DBusFixtures.monitorUnitExists))
        addMatchError.replySerial = 2
        addMatchError.errorName = "org.freedesktop.DBus.Error.MatchRuleInvalid"
        var helloReply = try DBusMessage.decode(hexBytes(DBusFixtures.monitorHelloReply))
        helloReply.replySerial = 1
        let peer2 = try FakePeer()
        peer2.start(writing: ok + (try helloReply.encode()) + (try addMatchError.encode()))
        let m2 = try SystemdManager.connect(socket: peer2.path, isBus: true, timeoutMilliseconds: 2000)
        let match = #expect(throws: SwrunError.self) { _ = try m2.startTransientUnit("fixture.scope", properties: []) }
        #expect(match?.message.startsWithBytes("AddMatch: org.freedesktop.DBus.Error.MatchRuleInvalid") == true)
        m2.close()
        _ = peer2.finish()
        // A job that never ends: the wait is bounded.
        var onlyReply = try DBusMessage.decode(hexBytes(DBusFixtures.monitorJobReply))
        onlyReply.replySerial = 1
        let peer3 = try FakePeer()
        peer3.start(writing: ok + (try onlyReply.encode()))
        let m3 = try SystemdManager.connect(socket: peer3.path, isBus: false, timeoutMilliseconds: 200)
        let timedOut = #expect(throws: SwrunError.self) { try m3.stopUnit("fixture.scope") }
        #expect(timedOut?.message == "Timed out while waiting for systemd to remove fixture.scope")
        m3.close()
        _ = peer3.finish()
    }

    @Test func names() {
        #expect(SystemdManager.unitObjectPath("runc-abc.scope") == "/org/freedesktop/systemd1/unit/runc_2dabc_2escope")
        #expect(SystemdManager.unitObjectPath("fixture2.scope") == "/org/freedesktop/systemd1/unit/fixture2_2escope")
        #expect(SystemdManager.unitObjectPath("1x.scope") == "/org/freedesktop/systemd1/unit/_31x_2escope")
        #expect(SystemdManager.unitObjectPath("") == "/org/freedesktop/systemd1/unit/_")
        #expect(SystemdManager.unitObjectPath("a@b\\c.service") == "/org/freedesktop/systemd1/unit/a_40b_5cc_2eservice")
        #expect(SystemdManager.versionNumber("252.39-1~deb12u2") == 252)
        #expect(SystemdManager.versionNumber("\"v245.4-1.fc32\"") == 245 && SystemdManager.versionNumber("245") == 245)
        #expect(SystemdManager.versionNumber("abc") == -1 && SystemdManager.versionNumber("") == -1)
        #expect(SystemdManager.cgroupInterface(ofUnit: "x.scope") == "org.freedesktop.systemd1.Scope")
        #expect(SystemdManager.cgroupInterface(ofUnit: "a-b.slice") == "org.freedesktop.systemd1.Slice")
        #expect(
            SystemdManager.cgroupInterface(ofUnit: "x.target") == nil
                && SystemdManager.cgroupInterface(ofUnit: ".scope") == nil)
        #expect(DBusErrorReply(name: SystemdManager.unitExists, message: "").errno == Errno.EEXIST)
        #expect(DBusErrorReply(name: SystemdManager.noSuchUnit, message: "").errno == Errno.ENOENT)
        #expect(DBusErrorReply(name: "org.freedesktop.DBus.Error.AccessDenied", message: "").errno == Errno.EACCES)
        #expect(DBusErrorReply(name: "x.y.Z", message: "").errno == Errno.EIO)
    }

    // MARK: properties

    @Test func placementFromCgroupsPath() throws {
        let d = try SystemdProperties.placement(cgroupsPath: nil, id: "abc")
        #expect(
            d == SystemdUnitPlacement(slice: "system.slice", unitName: "runc-abc.scope", name: "abc", isSlice: false))
        #expect(try SystemdProperties.placement(cgroupsPath: "", id: "abc", rootless: true).slice == "user.slice")
        #expect(
            try SystemdProperties.placement(cgroupsPath: "machine.slice:libpod:abc", id: "x")
                == SystemdUnitPlacement(
                    slice: "machine.slice", unitName: "libpod-abc.scope", name: "abc", isSlice: false))
        #expect(try SystemdProperties.placement(cgroupsPath: ":docker:abc", id: "x").slice == "system.slice")
        #expect(
            try SystemdProperties.placement(cgroupsPath: "::abc", id: "x").unitName == "-abc.scope",
            "runc keeps the dash of an empty prefix")
        #expect(
            try SystemdProperties.placement(cgroupsPath: "kubepods.slice:cri:kubepods-pod1.slice", id: "x")
                == SystemdUnitPlacement(
                    slice: "kubepods.slice", unitName: "kubepods-pod1.slice", name: "kubepods-pod1.slice", isSlice: true
                ))
        for bad in [
            "a:b", "a:b:c:d", "/abs/path", "bad:p:n", "a--b.slice:p:n", "system.slice:p:../x", "system.slice:p/q:n",
            "system.slice:p:a\u{0}b",
        ] {
            #expect(throws: SwrunError.self, "\(bad)") { try SystemdProperties.placement(cgroupsPath: bad, id: "x") }
        }
        let format = #expect(throws: SwrunError.self) { try SystemdProperties.placement(cgroupsPath: "a:b", id: "x") }
        #expect(
            format?.message
                == "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"a:b\" instead"
        )
    }

    @Test func slicesExpandToPaths() throws {
        #expect(try SystemdProperties.expandSlice("system.slice") == "/system.slice")
        #expect(try SystemdProperties.expandSlice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice")
        #expect(try SystemdProperties.expandSlice("-.slice") == "/")
        for bad in ["", ".slice", "a", "a.scope", "a/b.slice", "a--b.slice", "-a.slice", "a-.slice"] {
            #expect(throws: SwrunError.self, "\(bad)") { try SystemdProperties.expandSlice(bad) }
        }
        let p = try SystemdProperties.placement(cgroupsPath: "a-b.slice:p:n", id: "x")
        #expect(try SystemdProperties.cgroupPath(p) == "/a.slice/a-b.slice/p-n.scope")
        #expect(
            try SystemdProperties.cgroupPath(SystemdProperties.placement(cgroupsPath: "-.slice:p:n", id: "x"))
                == "/p-n.scope")
        let rootless = try SystemdProperties.placement(cgroupsPath: nil, id: "abc", rootless: true)
        #expect(
            try SystemdProperties.cgroupPath(rootless, managerCgroup: "/user.slice/user-1000.slice/user@1000.service")
                == "/user.slice/user-1000.slice/user@1000.service/user.slice/runc-abc.scope")
    }

    @Test func unitsOwnProperties() throws {
        let scope = try SystemdProperties.placement(cgroupsPath: nil, id: "abc")
        #expect(
            try SystemdProperties.unitProperties(scope, pid: 42) == [
                SystemdProperty("Description", .string("libcontainer container abc")),
                SystemdProperty("Slice", .string("system.slice")),
                SystemdProperty("Delegate", .bool(true)), SystemdProperty("PIDs", .array(element: "u", [.uint32(42)])),
                SystemdProperty("MemoryAccounting", .bool(true)), SystemdProperty("CPUAccounting", .bool(true)),
                SystemdProperty("IOAccounting", .bool(true)),
                SystemdProperty("TasksAccounting", .bool(true)), SystemdProperty("DefaultDependencies", .bool(false)),
            ])
        let slice = try SystemdProperties.placement(cgroupsPath: "system.slice:x:pods.slice", id: "abc")
        let sp = try SystemdProperties.unitProperties(slice, pid: nil, cgroupV1: true)
        #expect(
            sp.map(\.name) == [
                "Description", "Wants", "MemoryAccounting", "CPUAccounting", "BlockIOAccounting", "TasksAccounting",
                "DefaultDependencies",
            ])
        #expect(sp[1].value == .array(element: "s", [.string("system.slice")]))
        let oom = try SystemdProperties.unitProperties(
            scope, pid: 1, unified: ["memory.oom.group": "1"], systemdVersion: 253)
        #expect(oom.last == SystemdProperty("OOMPolicy", .string("kill")))
        #expect(
            try SystemdProperties.oomPolicy(["memory.oom.group": " 0 "], systemdVersion: 253)
                == SystemdProperty("OOMPolicy", .string("continue")))
        #expect(try SystemdProperties.oomPolicy(["memory.oom.group": "1"], systemdVersion: 252) == nil)
        #expect(try SystemdProperties.oomPolicy(["memory.oom.group": "2"], systemdVersion: 253) == nil)
        #expect(throws: SwrunError.self) {
            try SystemdProperties.oomPolicy(["memory.oom.group": "x"], systemdVersion: 253)
        }
    }

    /// The probe's resources, as systemd 252 applied them in the VM (memory.max 67108864,
    /// pids.max 32, cpu.weight 20, cpu.max "13000 100000", cpuset.cpus 0, io.weight 4950).
    @Test func resourcesV2() throws {
        let r = try SystemdProperties.resourcesV2(probeResources(), systemdVersion: 252)
        let names = r.properties.map(\.name)
        #expect(
            names == [
                "DeviceAllow", "DevicePolicy", "DeviceAllow", "MemoryMax", "CPUWeight", "CPUQuotaPeriodUSec",
                "CPUQuotaPerSecUSec", "TasksMax", "AllowedCPUs", "IOWeight",
            ])
        let values = Dictionary(r.properties.dropFirst(3).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(
            values["MemoryMax"] == .uint64(67_108_864) && values["CPUWeight"] == .uint64(20)
                && values["TasksMax"] == .uint64(32))
        #expect(values["CPUQuotaPeriodUSec"] == .uint64(100_000) && values["CPUQuotaPerSecUSec"] == .uint64(130_000))
        #expect(values["AllowedCPUs"] == .bytes([1]) && values["IOWeight"] == .uint64(4950))
        #expect(r.cpuQuota == 13_000 && r.warnings.isEmpty)
        #expect(
            try SystemdProperties.resourcesV2(probeResources(), systemdVersion: 252, io: false).properties.last?.name
                == "AllowedCPUs")
        // Older systemd: no period, no cpuset.
        #expect(
            !(try SystemdProperties.resourcesV2(probeResources(), systemdVersion: 241).properties.map(\.name)).contains
            { $0 == "AllowedCPUs" || $0 == "CPUQuotaPeriodUSec" })
        // Memory: -1 is infinity; reservation; swap as v2 counts it.
        var mem = LinuxResources()
        var m = LinuxMemory()
        m.limit = -1
        m.reservation = 1000
        mem.memory = m
        let mp = try SystemdProperties.resourcesV2(mem, systemdVersion: 252).properties.dropFirst(3)
        #expect(
            Array(mp) == [
                SystemdProperty("MemoryMax", .uint64(.max)), SystemdProperty("MemoryLow", .uint64(1000)),
                SystemdProperty("MemorySwapMax", .uint64(.max)),
            ])
        // cpu.idle 1 on systemd 252+: CPUWeight 0, the shares' weight dropped with a warning.
        var idle = LinuxResources()
        var c = LinuxCPU()
        c.idle = 1
        c.shares = 1024
        idle.cpu = c
        let ip = try SystemdProperties.resourcesV2(idle, systemdVersion: 252)
        #expect(
            ip.properties.filter { $0.name == "CPUWeight" } == [SystemdProperty("CPUWeight", .uint64(0))]
                && ip.warnings.count == 1)
        #expect(
            try SystemdProperties.resourcesV2(idle, systemdVersion: 251).properties.filter { $0.name == "CPUWeight" }
                == [SystemdProperty("CPUWeight", .uint64(39))])
        #expect(
            try SystemdProperties.resourcesV2(nil, systemdVersion: 252).properties.map(\.name) == [
                "DeviceAllow", "DevicePolicy", "DeviceAllow",
            ])
    }

    @Test func resourcesV1() throws {
        var r = probeResources()
        r.memory?.limit = -1
        let p = try SystemdProperties.resourcesV1(r, systemdVersion: 252).properties.dropFirst(3)
        #expect(
            p.map(\.name) == [
                "MemoryLimit", "CPUShares", "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec", "BlockIOWeight", "TasksMax",
                "AllowedCPUs",
            ])
        #expect(p.first?.value == .uint64(.max) && p.dropFirst().first?.value == .uint64(512))
    }

    @Test func swapAsCgroupV2CountsIt() throws {
        #expect(try SystemdProperties.swapMax(swap: 0, memory: -1) == .max)
        #expect(try SystemdProperties.swapMax(swap: -1, memory: 100) == .max)
        #expect(try SystemdProperties.swapMax(swap: 0, memory: 100) == nil)
        #expect(try SystemdProperties.swapMax(swap: 200, memory: -1) == 200)
        #expect(try SystemdProperties.swapMax(swap: 300, memory: 100) == 200)
        #expect(try SystemdProperties.swapMax(swap: 100, memory: 100) == 0)
        #expect(throws: SwrunError.self) { try SystemdProperties.swapMax(swap: 200, memory: 0) }
        #expect(throws: SwrunError.self) { try SystemdProperties.swapMax(swap: 100, memory: 200) }
        #expect(throws: SwrunError.self) { try SystemdProperties.swapMax(swap: 100, memory: -5) }
    }

    @Test func cpuQuotaRounding() throws {
        func q(_ quota: Int64, _ period: UInt64, _ v: Int = 252) throws -> ([SystemdProperty], Int64) {
            let r = try SystemdProperties.cpuQuota(quota: quota, period: period, systemdVersion: v)
            return (r.properties, r.quota)
        }
        func perSec(_ v: UInt64) -> SystemdProperty { SystemdProperty("CPUQuotaPerSecUSec", .uint64(v)) }
        func period(_ v: UInt64) -> SystemdProperty { SystemdProperty("CPUQuotaPeriodUSec", .uint64(v)) }
        #expect(try q(0, 0) == ([], 0))
        #expect(try q(-1, 0) == ([perSec(.max)], -1))
        #expect(try q(50_000, 0) == ([perSec(500_000)], 50_000))
        #expect(try q(12_345, 100_000) == ([period(100_000), perSec(130_000)], 13_000))
        #expect(try q(12_345, 100_000, 241) == ([perSec(130_000)], 13_000))
        #expect(try q(0, 50_000) == ([period(50_000), perSec(.max)], 0))
        #expect(try q(1, 1_000_000) == ([period(1_000_000), perSec(10_000)], 10_000))
        #expect(throws: SwrunError.self) { try q(.max, 100_000) }
    }

    @Test func tasksMax() {
        #expect(SystemdProperties.tasksMax(0) == nil)
        #expect(SystemdProperties.tasksMax(-1) == SystemdProperty("TasksMax", .uint64(.max)))
        #expect(SystemdProperties.tasksMax(32) == SystemdProperty("TasksMax", .uint64(32)))
    }

    /// runc's RangeToBits cases (cpuset_test.go).
    @Test func cpusetMasks() throws {
        let cases: [(String, [UInt8])] = [
            ("0", [1]), ("1", [2]), ("0-1", [3]), ("0,1", [3]), (",0,1,", [3]), ("0-3", [0x0f]), ("0,1,2-3", [0x0f]),
            ("4-7", [0xf0]), ("0-7", [0xff]), ("0-15", [0xff, 0xff]), ("16", [0, 0, 1]),
            ("0-3,32-33", [0x0f, 0, 0, 0, 3]),
            ("1, 2, 1-2", [6]), ("    , 1   , 3  ,  5-7,\t", [0xea]),
            ("128-130,1", [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]),
        ]
        for (s, bits) in cases { #expect(try SystemdProperties.rangeToBits(s) == bits, "\(s)") }
        for bad in ["", "-", "1-", "-3", "54-53", "1 - 2", "x", "1,,y", "4294967296", "65536", "0-70000"] {
            #expect(throws: SwrunError.self, "\(bad)") { try SystemdProperties.rangeToBits(bad) }
        }
        #expect(try SystemdProperties.rangeToBits("65535").count == 8192)
        #expect(
            try SystemdProperties.cpuset(cpus: "0-1", mems: "0", systemdVersion: 244) == [
                SystemdProperty("AllowedCPUs", .bytes([3])), SystemdProperty("AllowedMemoryNodes", .bytes([1])),
            ])
        #expect(try SystemdProperties.cpuset(cpus: "0-1", mems: nil, systemdVersion: 243).isEmpty)
    }

    @Test func ioProperties() throws {
        let r = try SpecLoader.decodeResources(
            Array(
                #"{"blockIO":{"weight":500,"weightDevice":[{"major":8,"minor":0,"weight":100},{"major":8,"minor":16,"leafWeight":10}],"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],"throttleWriteIOPSDevice":[{"major":254,"minor":1,"rate":0}]}}"#
                    .utf8))
        let b = r.blockIO
        #expect(
            SystemdProperties.ioProperties(b) == [
                SystemdProperty("IOWeight", .uint64(4950)),
                SystemdProperty(
                    "IODeviceWeight", .array(element: "(st)", [.structure([.string("/dev/block/8:0"), .uint64(910)])])),
                SystemdProperty(
                    "IOReadBandwidthMax",
                    .array(element: "(st)", [.structure([.string("/dev/block/8:0"), .uint64(1_048_576)])])),
                SystemdProperty(
                    "IOWriteIOPSMax",
                    .array(element: "(st)", [.structure([.string("/dev/block/254:1"), .uint64(.max)])])),
            ])
        #expect(SystemdProperties.ioProperties(nil).isEmpty && SystemdProperties.ioProperties(LinuxBlockIO()).isEmpty)
    }

    func rule(_ allow: Bool, _ type: String?, _ major: Int64?, _ minor: Int64?, _ access: String?) -> LinuxDeviceCgroup
    {
        LinuxDeviceCgroup(allow: allow, type: type, major: major, minor: minor, access: access)
    }

    func allowList(_ p: [SystemdProperty]) -> [String] {
        guard p.count == 3, case .array(_, let entries) = p[2].value else { return ["not three properties: \(p)"] }
        return entries.map { e in
            guard case .structure(let f) = e, f.count == 2 else { return "?" }
            return (f[0].stringValue ?? "?") + " " + (f[1].stringValue ?? "?")
        }
    }

    /// runc's device rules for systemd: runc's defaults (swrun's DeviceFilter.rules) as
    /// an allow list in (major, minor, type) order.
    @Test func deviceRules() throws {
        let docker = [rule(false, "a", nil, nil, "rwm"), rule(true, "c", 1, 3, "rw"), rule(true, "c", 10, 229, "rwm")]
        let (p, warnings) = try SystemdProperties.deviceProperties(DeviceFilter.rules(docker), systemdVersion: 252)
        #expect(
            p.prefix(2) == [
                SystemdProperty("DeviceAllow", .array(element: "(ss)", [])),
                SystemdProperty("DevicePolicy", .string("strict")),
            ])
        #expect(
            allowList(p) == [
                "block-* m", "char-* m", "/dev/char/1:3 rwm", "/dev/char/1:5 rwm", "/dev/char/1:7 rwm",
                "/dev/char/1:8 rwm", "/dev/char/1:9 rwm",
                "/dev/char/5:0 rwm", "/dev/char/5:2 rwm", "/dev/char/10:200 rwm", "/dev/char/10:229 rwm",
                "char-136 rwm",
            ])
        #expect(warnings.isEmpty)
        // A rule allowed then partly denied keeps the rest; denied wholly, it goes.
        let partial = try SystemdProperties.deviceProperties(
            [rule(true, "b", 8, 0, "rwm"), rule(false, "b", 8, 0, "w")], systemdVersion: 252)
        #expect(allowList(partial.properties) == ["/dev/block/8:0 rm"])
        #expect(
            allowList(
                try SystemdProperties.deviceProperties(
                    [rule(true, "b", 8, 0, "r"), rule(false, "b", 8, 0, nil)], systemdVersion: 252
                ).properties) == [])
        // Allow-all is DevicePolicy=auto; a deny-list cannot be said: deny-all, with a warning.
        let all = try SystemdProperties.deviceProperties(
            DeviceFilter.rules([rule(true, "a", nil, nil, "rwm")]), systemdVersion: 252)
        #expect(
            all.properties == [
                SystemdProperty("DeviceAllow", .array(element: "(ss)", [])),
                SystemdProperty("DevicePolicy", .string("auto")),
            ])
        let denyList = try SystemdProperties.deviceProperties(
            [rule(true, "a", nil, nil, "rwm"), rule(false, "b", 8, 0, "rwm")], systemdVersion: 252)
        #expect(
            denyList.properties.count == 2 && denyList.properties[1].value == .string("strict")
                && denyList.warnings.count == 1)
        // "*:n" cannot be said; "n:*" needs systemd 240 (or an unknown version).
        let odd = try SystemdProperties.deviceProperties(
            [rule(true, "c", -1, 5, "r"), rule(true, "c", 136, nil, "rw")], systemdVersion: 239)
        #expect(allowList(odd.properties) == [] && odd.warnings.count == 2)
        #expect(
            allowList(
                try SystemdProperties.deviceProperties([rule(true, "c", 136, nil, "rw")], systemdVersion: -1).properties
            ) == ["char-136 rw"])
        // A hole punched in a wildcard rule is refused, as runc refuses it.
        #expect(throws: SwrunError.self) {
            try SystemdProperties.deviceProperties(
                [rule(true, "c", nil, nil, "rwm"), rule(false, "c", 1, 3, "w")], systemdVersion: 252)
        }
        #expect(throws: SwrunError.self) {
            try SystemdProperties.deviceProperties([rule(true, "p", 1, 3, "r")], systemdVersion: 252)
        }
    }

    @Test func unifiedMap() throws {
        let u = [
            "cpu.max": "50000 100000", "memory.high": "max", "pids.max": "0", "cpu.weight": " 200 ",
            "cpuset.cpus": "0-1", "io.max": "8:0 rbps=1", "memory.oom.group": "1",
        ]
        let r = try SystemdProperties.unifiedProperties(u, systemdVersion: 252)
        #expect(
            r.properties == [
                SystemdProperty("CPUQuotaPeriodUSec", .uint64(100_000)),
                SystemdProperty("CPUQuotaPerSecUSec", .uint64(500_000)),
                SystemdProperty("CPUWeight", .uint64(200)), SystemdProperty("AllowedCPUs", .bytes([3])),
                SystemdProperty("MemoryHigh", .uint64(.max)), SystemdProperty("TasksMax", .uint64(1)),
            ])
        let idle = try SystemdProperties.unifiedProperties(["cpu.idle": "1", "cpu.weight": "200"], systemdVersion: 252)
        #expect(idle.properties == [SystemdProperty("CPUWeight", .uint64(0))] && idle.warnings.count == 1)
        #expect(
            try SystemdProperties.unifiedProperties(["cpu.max": "max"], systemdVersion: 252).properties
                == [
                    SystemdProperty("CPUQuotaPeriodUSec", .uint64(100_000)),
                    SystemdProperty("CPUQuotaPerSecUSec", .uint64(.max)),
                ])
        for bad in [
            ["a/b": "1"], ["nodot": "1"], [".x": "1"], ["cpu.weight": "x"], ["cpu.max": "1 2 3"], ["cpu.max": "x"],
            ["memory.max": "-1"], ["cpuset.cpus": "3-1"],
        ] {
            #expect(throws: SwrunError.self, "\(bad)") {
                try SystemdProperties.unifiedProperties(bad, systemdVersion: 252)
            }
        }
    }

    @Test func whenTheVersionMatters() {
        #expect(!SystemdProperties.needsVersion(nil))
        var r = LinuxResources()
        var m = LinuxMemory()
        m.limit = 1 << 20
        r.memory = m
        r.pids = LinuxPids(limit: 5)
        #expect(!SystemdProperties.needsVersion(r))
        #expect(SystemdProperties.needsVersion(probeResources()))
        r.unified = ["cpu.max": "max"]
        #expect(SystemdProperties.needsVersion(r))
    }
}
