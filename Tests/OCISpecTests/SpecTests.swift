import Foundation
import OCISpec
import OCISpecCodable
import Testing

@Suite("OCI spec decoding")
struct SpecTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    @Test(arguments: ["runc-spec", "docker", "containerd", "podman"])
    func decodeEncodeRoundTrip(name: String) throws {
        let bytes = try Self.fixture(name)
        let spec = try SpecLoader.decodeSpec(bytes)
        let again = try SpecLoader.decodeSpec(SpecLoader.encode(spec))
        #expect(spec == again)
        // Every field present in the input survives: compare as JSON objects.
        let original = try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary
        let reencoded = try JSONSerialization.jsonObject(with: Data(SpecLoader.encode(spec))) as? NSDictionary
        #expect(original == reencoded)
    }

    @Test(arguments: ["runc-spec", "docker", "containerd", "podman"])
    func fastDecoderMatchesCodable(name: String) throws {
        let bytes = try Self.fixture(name)
        #expect(try SpecLoader.decodeSpecFast(bytes) == SpecLoader.decodeSpec(bytes))
        // And on what the Codable side writes back (every field spelled out, sorted keys).
        let encoded = SpecLoader.encode(try SpecLoader.decodeSpec(bytes))
        #expect(try SpecLoader.decodeSpecFast(encoded) == SpecLoader.decodeSpec(encoded))
    }

    @Test func fastDecoderStringsAndNumbers() throws {
        let json =
            #"{"ociVersion":"1.0.0","hostname":"a\"b\\c\/d\u00e9\ud83d\ude00\n","process":{"user":{"uid":4294967295,"gid":0},"cwd":"/","oomScoreAdj":-1000,"env":[]},"annotations":{"k":"v"}}"#
        let fast = try SpecLoader.decodeSpecFast(Array(json.utf8))
        #expect(fast == (try SpecLoader.decodeSpec(Array(json.utf8))))
        #expect(
            fast.hostname == "a\"b\\c/dé😀\n" && fast.process?.user.uid == UInt32.max
                && fast.process?.oomScoreAdj == -1000)
    }

    @Test func fastDecoderErrorsNameTheField() {
        func message(_ json: String) -> String {
            do { _ = try SpecLoader.decodeSpecFast(Array(json.utf8)); return "" } catch { return error.message }
        }
        #expect(
            message(#"{"ociVersion":"1","process":{"user":{"uid":0,"gid":0},"cwd":"/","args":"x"}}"#)
                == "process.args: expected an array, found a string")
        #expect(
            message(#"{"ociVersion":"1","process":{"user":{"uid":0},"cwd":"/"}}"#)
                == "process.user.gid: required field is missing")
        #expect(
            message(#"{"ociVersion":"1","mounts":[{"destination":"/a"},{"type":"x"}]}"#)
                == "mounts[1].destination: required field is missing")
        let twelve = Array(repeating: #"{"destination":"/a"}"#, count: 11) + [#"{"type":"x"}"#]
        #expect(
            message(#"{"ociVersion":"1","mounts":["# + twelve.joined(separator: ",") + "]}")
                == "mounts[11].destination: required field is missing")
        #expect(
            message(
                #"{"ociVersion":"1","process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"A","hard":1,"soft":1},{"type":"B","hard":1}]}}"#
            ) == "process.rlimits[1].soft: required field is missing")
        #expect(
            message(#"{"ociVersion":"1","process":{"user":{"uid":-1,"gid":0},"cwd":"/"}}"#)
                == "process.user.uid: number -1 does not fit in UInt32")
        #expect(
            message(#"{"ociVersion":"1","linux":{"resources":{"pids":{"limit":null}}}}"#)
                == "linux.resources.pids.limit: expected a number (Int64), found null")
        #expect(message(#"[]"#) == "(root): expected an object, found an array")
        for bad in [
            #"{"#, #"{"a":}"#, #"{"a":1,}"#, #"{"a":"\x"}"#, #"{"a":tru}"#, #"{"a":1} x"#, "{\"a\":\"\u{1}\"}",
            #"{"a":"\ud800"}"#,
        ] {
            #expect(message(bad).hasPrefix("(root): invalid JSON"), "\(bad): \(message(bad))")
        }
    }

    @Test func dockerFieldsDecode() throws {
        let spec = try SpecLoader.decodeSpec(try Self.fixture("docker"))
        #expect(spec.linux?.seccomp?.syscalls?.count == 4)
        #expect(spec.linux?.resources?.memory?.limit == 67108864)
        #expect(spec.hooks?.prestart?.first?.args?.first == "libnetwork-setkey")
        #expect(spec.mounts?.last?.options == ["rbind", "rprivate"])
    }

    @Test func unknownFieldsAreIgnored() throws {
        let s = try SpecLoader.decodeSpec(Array(#"{"ociVersion":"1.0.0","solaris":{"x":1},"future":true}"#.utf8))
        #expect(s.ociVersion == "1.0.0" && s.process == nil)
    }

    @Test func errorsNameTheField() {
        func message(_ json: String) -> String {
            do { _ = try SpecLoader.decodeSpec(Array(json.utf8)); return "" } catch { return error.message }
        }
        #expect(
            message(#"{"ociVersion":"1","process":{"user":{"uid":0,"gid":0},"cwd":"/","args":"x"}}"#).hasPrefix(
                "process.args: expected an array"))
        #expect(
            message(#"{"ociVersion":"1","process":{"user":{"uid":0},"cwd":"/"}}"#).hasPrefix(
                "process.user.gid: required field is missing"))
        #expect(
            message(#"{"ociVersion":"1","mounts":[{"destination":"/a"},{"type":"x"}]}"#).hasPrefix(
                "mounts[1].destination"))
        #expect(message(#"{"ociVersion":"#).contains("(root)"))
    }

    @Test func defaultSpecIsRuncsAndDecodes() throws {
        let spec = try SpecLoader.decodeSpec(Array(DefaultSpec.json.utf8))
        #expect(spec.ociVersion == "1.0.2-dev")
        #expect(spec.process?.terminal == true)
        #expect(spec.process?.args == ["sh"])
        #expect(spec.linux?.namespaces?.map(\.type) == ["pid", "network", "ipc", "uts", "mount"])
        #expect(DefaultSpec.json.contains("\n\t\"process\": {"), "tab-indented like runc's")
        let runc = String(decoding: try Self.fixture("runc-spec"), as: UTF8.self)
        #expect(DefaultSpec.json == runc.trimmingCharacters(in: .newlines), "byte for byte runc spec's output")
        let rootless = try SpecLoader.decodeSpec(Array(DefaultSpec.rootlessJSON(uid: 1000, gid: 1001).utf8))
        #expect(
            rootless.linux?.uidMappings?.first?.hostID == 1000 && rootless.linux?.gidMappings?.first?.hostID == 1001)
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test func compactAndIndented() {
        let v: JSON = .object([("b", .int(1)), ("a", .array([.string("x<y"), .bool(true), .null]))])
        #expect(v.encoded() == #"{"b":1,"a":["x\u003cy",true,null]}"#)
        #expect(
            v.encoded(indent: "  ") == "{\n  \"b\": 1,\n  \"a\": [\n    \"x\\u003cy\",\n    true,\n    null\n  ]\n}")
        #expect(JSON.quoted("a\"b\\\n\u{1}") == #""a\"b\\\n\u0001""#)
    }

    /// The byte-level writer against Go's encoding/json: escapes at run boundaries, U+2028 and
    /// U+2029, other non-ASCII text untouched, integers at their limits.
    @Test func bytesAsGoWritesThem() {
        #expect(JSON.quoted("") == #""""#)
        #expect(JSON.quoted("<&>\r\t\u{1f}\u{7f}") == "\"\\u003c\\u0026\\u003e\\r\\t\\u001f\u{7f}\"")
        #expect(JSON.quoted("é\u{2028}x\u{2029}🙂\u{2027}") == "\"é\\u2028x\\u2029🙂\u{2027}\"")
        #expect(JSON.quoted("plain/path-1") == "\"plain/path-1\"")
        let ints: JSON = .array([.int(0), .int(-7), .int(Int64.min), .int(Int64.max), .uint(UInt64.max), .uint(10)])
        #expect(ints.encoded() == "[0,-7,-9223372036854775808,9223372036854775807,18446744073709551615,10]")
        #expect(JSON.object([]).encoded(indent: "\t") == "{}" && JSON.array([]).encoded() == "[]")
        #expect(JSON.string("a\"b").encodedBytes() == Array(#""a\"b""#.utf8))
    }

    @Test func stateShapeMatchesRunc() {
        let s = ContainerState(
            ociVersion: "1.0.2-dev", id: "c1", status: "running", pid: 42, bundle: "/b", rootfs: "/b/rootfs",
            created: "2026-01-01T00:00:00Z", annotations: [:], owner: "")
        #expect(
            s.runtimeJSON.encoded()
                == #"{"ociVersion":"1.0.2-dev","id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-01T00:00:00Z","owner":""}"#
        )
        var a = s
        a.annotations = ["k": "v"]
        #expect(
            a.runtimeJSON.encoded().contains(#""created":"2026-01-01T00:00:00Z","annotations":{"k":"v"},"owner":"""#))
        #expect(
            a.hookJSON.encoded()
                == #"{"ociVersion":"1.0.2-dev","id":"c1","status":"running","pid":42,"bundle":"/b","annotations":{"k":"v"}}"#
        )
    }

    /// JSONReader's streaming half (state.json in `list`): members read in place, values
    /// stepped over, integers without text, the same errors as the tree.
    @Test func streamingReader() throws {
        let text =
            #"{"id":"c1","n":-42,"big":18446744073709551615,"skip":{"a":[1,"x\"y",{"b":null}],"c":true},"arr":["p","q"],"t":true}"#
        var r = JSONReader(Array(text.utf8))
        var seen: [String] = []
        var id = "", n: Int32 = 0, big: UInt64 = 0, arr: [String] = [], t = false
        try r.readObject { (r, key) throws(SpecError) in
            seen.append(key)
            switch key {
            case "id": id = try r.readString()
            case "n": n = try r.readInteger(Int32.self)
            case "big": big = try r.readInteger(UInt64.self)
            case "arr": try r.readArray { r throws(SpecError) in arr.append(try r.readString()) }
            case "t": t = try r.readBool()
            default: try r.skipValue()
            }
        }
        try r.finish()
        #expect(seen == ["id", "n", "big", "skip", "arr", "t"])
        #expect(id == "c1" && n == -42 && big == UInt64.max && arr == ["p", "q"] && t)
        for bad in [#"{"n":1.5}"#, #"{"n":1e3}"#, #"{"n":4294967296}"#, #"{"n":"1"}"#, #"{"n":1} x"#, #"{"n":1"#] {
            var r = JSONReader(Array(bad.utf8))
            #expect(throws: SpecError.self, "\(bad)") {
                try r.readObject { (r, _) throws(SpecError) in _ = try r.readInteger(UInt32.self) }
                try r.finish()
            }
        }
        // Keys as bytes: literal patterns match plain, escaped and non-ASCII keys alike;
        // strings as bytes: plain text is sliced, escaped text decoded, non-strings skipped.
        var k = JSONReader(Array(#"{"id":1,"i\u0064":2,"idx":3,"é":4,"":5,"ID":6,"s":["a\u0041",7,"b"]}"#.utf8))
        var hits: [String] = [], texts: [String] = []
        try k.readMembers { (r, key) throws(SpecError) in
            switch key {
            case "id": hits.append("id"); try r.skipValue()
            case "é": hits.append("é"); try r.skipValue()
            case "": hits.append("empty"); try r.skipValue()
            case "s":
                try r.readArray { r throws(SpecError) in
                    if let b = try r.readStringBytesIfAny() { texts.append(String(decoding: b, as: UTF8.self)) }
                }
            default: hits.append("other:" + key.string); try r.skipValue()
            }
        }
        #expect(hits == ["id", "id", "other:idx", "é", "empty", "other:ID"])
        #expect(texts == ["aA", "b"])
        var u = JSONReader(Array(#"["a\u0041",[1,[2,{}]],"\n"]"#.utf8))
        try u.readArray { r throws(SpecError) in try r.skipValue() }
        try u.finish()
        var broken = JSONReader(Array(#"["unterminated]"#.utf8))
        #expect(throws: SpecError.self) { try broken.skipValue() }
    }
}
