import Foundation
import OCISpec
import OCISpecCodable
import Testing

/// The runtime's hand-written decoder (SpecMapper over the fast JSON reader) against the
/// independent Codable model, on generated configs that hold every field of the
/// runtime-spec's config schema the model knows, each present or absent, with values across
/// their types' ranges: a slip in either decoder shows as a difference.
@Suite("spec decoder parity")
struct SpecParityTests {
    /// SplitMix64: a fixed seed gives the same configs on every run.
    final class Rand {
        var state: UInt64
        init(state: UInt64) { self.state = state }
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func chance(_ percent: UInt64 = 60) -> Bool { next() % 100 < percent }
        func int(_ range: ClosedRange<Int64>) -> Int64 {
            let span = UInt64(bitPattern: range.upperBound &- range.lowerBound) &+ 1
            return range.lowerBound &+ Int64(bitPattern: span == 0 ? next() : next() % span)
        }
        func uint32() -> Int64 { int(0...Int64(UInt32.max)) }
        func uint16() -> Int64 { int(0...Int64(UInt16.max)) }
        func int32() -> Int64 { int(Int64(Int32.min)...Int64(Int32.max)) }
        func uint64() -> Int64 { int(0...Int64.max) }
        func bool() -> Bool { next() & 1 == 0 }
        func string() -> String {
            let pieces = [
                "a", "Z", "0", "/", " ", "-", "_", ".", "é", "😀", "\"", "\\", "\n", "\t", "\u{1}", "\u{7f}", "\u{2028}",
            ]
            // A NUL now and then (the runtime's decoder refuses those; the Codable one not).
            return (0..<int(0...12)).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined()
                + (next() % 2000 == 0 ? "\u{0}" : "")
        }
        func strings() -> [String] { (0..<int(0...4)).map { _ in string() } }
        func array<T>(_ n: ClosedRange<Int64> = 0...3, _ make: (Rand) -> T) -> [T] {
            (0..<int(n)).map { _ in make(self) }
        }
        func dicts(_ make: (Rand) -> [String: Any]) -> [[String: Any]] { array(0...3, make) }
    }

    /// `fields` with each optional one kept or dropped at random.
    static func object(_ r: Rand, required: [String: Any] = [:], optional: [String: Any]) -> [String: Any] {
        var o = required
        for (k, v) in optional where r.chance() { o[k] = v }
        return o
    }

    static func idMapping(_ r: Rand) -> [String: Any] {
        ["containerID": r.uint32(), "hostID": r.uint32(), "size": r.uint32()]
    }

    static func hook(_ r: Rand) -> [String: Any] {
        object(
            r, required: ["path": r.string()],
            optional: ["args": r.strings(), "env": r.strings(), "timeout": r.int(-5...Int64(Int32.max))])
    }

    static func process(_ r: Rand) -> [String: Any] {
        let user = object(
            r, required: ["uid": r.uint32(), "gid": r.uint32()],
            optional: ["umask": r.uint32(), "additionalGids": r.array { $0.uint32() }, "username": r.string()])
        let caps: [String: Any] = object(
            r,
            optional: [
                "bounding": r.strings(), "effective": r.strings(), "inheritable": r.strings(), "permitted": r.strings(),
                "ambient": r.strings(),
            ])
        return object(
            r, required: ["user": user, "cwd": r.string()],
            optional: [
                "terminal": r.bool(), "consoleSize": ["height": r.uint32(), "width": r.uint32()], "args": r.strings(),
                "commandLine": r.string(), "env": r.strings(), "capabilities": caps,
                "rlimits": r.dicts { ["type": $0.string(), "hard": $0.uint64(), "soft": $0.uint64()] },
                "noNewPrivileges": r.bool(), "apparmorProfile": r.string(), "oomScoreAdj": r.int(-2000...2000),
                "selinuxLabel": r.string(),
                "scheduler": object(
                    r, required: ["policy": r.string()],
                    optional: [
                        "nice": r.int32(), "priority": r.int32(), "flags": r.strings(), "runtime": r.uint64(),
                        "deadline": r.uint64(), "period": r.uint64(),
                    ]),
                "ioPriority": object(r, required: ["class": r.string()], optional: ["priority": r.int32()]),
                "execCPUAffinity": object(r, optional: ["initial": r.string(), "final": r.string()]),
            ])
    }

    static func resources(_ r: Rand) -> [String: Any] {
        let throttle = { (r: Rand) -> [String: Any] in
            ["major": r.int(Int64.min...Int64.max), "minor": r.int(Int64.min...Int64.max), "rate": r.uint64()]
        }
        return object(
            r,
            optional: [
                "devices": r.dicts {
                    object(
                        $0, required: ["allow": $0.bool()],
                        optional: [
                            "type": $0.string(), "major": $0.int(Int64.min...Int64.max), "minor": $0.int(-1...1000),
                            "access": $0.string(),
                        ])
                },
                "memory": object(
                    r,
                    optional: [
                        "limit": r.int(Int64.min...Int64.max), "reservation": r.int(-1...1 << 40),
                        "swap": r.int(-1...1 << 40), "kernel": r.int(-1...100),
                        "kernelTCP": r.int(-1...100), "swappiness": r.uint64(), "disableOOMKiller": r.bool(),
                        "useHierarchy": r.bool(), "checkBeforeUpdate": r.bool(),
                    ]),
                "cpu": object(
                    r,
                    optional: [
                        "shares": r.uint64(), "quota": r.int(Int64.min...Int64.max), "burst": r.uint64(),
                        "period": r.uint64(), "realtimeRuntime": r.int(-1...1000),
                        "realtimePeriod": r.uint64(), "cpus": r.string(), "mems": r.string(), "idle": r.int(-1...1),
                    ]),
                "pids": ["limit": r.int(Int64.min...Int64.max)],
                "blockIO": object(
                    r,
                    optional: [
                        "weight": r.uint16(), "leafWeight": r.uint16(),
                        "weightDevice": r.dicts {
                            object(
                                $0, required: ["major": $0.int(-1...300), "minor": $0.int(-1...300)],
                                optional: ["weight": $0.uint16(), "leafWeight": $0.uint16()])
                        },
                        "throttleReadBpsDevice": r.dicts(throttle), "throttleWriteBpsDevice": r.dicts(throttle),
                        "throttleReadIOPSDevice": r.dicts(throttle), "throttleWriteIOPSDevice": r.dicts(throttle),
                    ]),
                "hugepageLimits": r.dicts { ["pageSize": $0.string(), "limit": $0.uint64()] },
                "network": object(
                    r,
                    optional: [
                        "classID": r.uint32(),
                        "priorities": r.dicts { ["name": $0.string(), "priority": $0.uint32()] },
                    ]),
                "rdma": Dictionary(
                    uniqueKeysWithValues: r.array {
                        (
                            $0.string() + "\($0.next())",
                            object($0, optional: ["hcaHandles": $0.uint32(), "hcaObjects": $0.uint32()])
                        )
                    }),
                "unified": Dictionary(uniqueKeysWithValues: r.array { ($0.string() + "\($0.next())", $0.string()) }),
            ])
    }

    static func seccomp(_ r: Rand) -> [String: Any] {
        object(
            r, required: ["defaultAction": r.string()],
            optional: [
                "defaultErrnoRet": r.uint32(), "architectures": r.strings(), "flags": r.strings(),
                "listenerPath": r.string(), "listenerMetadata": r.string(),
                "syscalls": r.dicts {
                    object(
                        $0, required: ["names": $0.strings(), "action": $0.string()],
                        optional: [
                            "errnoRet": $0.uint32(),
                            "args": $0.dicts {
                                object(
                                    $0, required: ["index": $0.uint32(), "value": $0.uint64(), "op": $0.string()],
                                    optional: ["valueTwo": $0.uint64()])
                            },
                        ])
                },
            ])
    }

    static func linux(_ r: Rand) -> [String: Any] {
        object(
            r,
            optional: [
                "namespaces": r.dicts { object($0, required: ["type": $0.string()], optional: ["path": $0.string()]) },
                "uidMappings": r.dicts(idMapping), "gidMappings": r.dicts(idMapping),
                "timeOffsets": Dictionary(
                    uniqueKeysWithValues: r.array {
                        (
                            $0.string() + "\($0.next())",
                            object($0, optional: ["secs": $0.int(Int64.min...Int64.max), "nanosecs": $0.uint32()])
                        )
                    }),
                "devices": r.dicts {
                    object(
                        $0, required: ["type": $0.string(), "path": $0.string()],
                        optional: [
                            "major": $0.int(-5...1 << 40), "minor": $0.int(-5...1 << 40), "fileMode": $0.uint32(),
                            "uid": $0.uint32(), "gid": $0.uint32(),
                        ])
                },
                "cgroupsPath": r.string(), "resources": resources(r), "rootfsPropagation": r.string(),
                "seccomp": seccomp(r),
                "sysctl": Dictionary(uniqueKeysWithValues: r.array { ($0.string() + "\($0.next())", $0.string()) }),
                "maskedPaths": r.strings(), "readonlyPaths": r.strings(), "mountLabel": r.string(),
                "intelRdt": object(
                    r,
                    optional: [
                        "closID": r.string(), "l3CacheSchema": r.string(), "memBwSchema": r.string(),
                        "enableCMT": r.bool(), "enableMBM": r.bool(),
                    ]),
                "personality": object(r, required: ["domain": r.string()], optional: ["flags": r.strings()]),
            ])
    }

    static func config(_ r: Rand) -> [String: Any] {
        object(
            r, required: ["ociVersion": r.string()],
            optional: [
                "process": process(r),
                "root": object(r, required: ["path": r.string()], optional: ["readonly": r.bool()]),
                "hostname": r.string(), "domainname": r.string(),
                "mounts": r.dicts {
                    object(
                        $0, required: ["destination": $0.string()],
                        optional: [
                            "type": $0.string(), "source": $0.string(), "options": $0.strings(),
                            "uidMappings": $0.dicts(idMapping), "gidMappings": $0.dicts(idMapping),
                        ])
                },
                "hooks": object(
                    r,
                    optional: [
                        "prestart": r.dicts(hook), "createRuntime": r.dicts(hook), "createContainer": r.dicts(hook),
                        "startContainer": r.dicts(hook), "poststart": r.dicts(hook), "poststop": r.dicts(hook),
                    ]),
                "annotations": Dictionary(
                    uniqueKeysWithValues: r.array { ($0.string() + "\($0.next())", $0.string()) }),
                "linux": linux(r),
            ])
    }

    /// Both decoders agree on every generated config: the same value, or both refuse it (a
    /// NUL in a string, which only the runtime's decoder refuses, is the one expected split).
    @Test func generatedConfigsDecodeAlike() throws {
        let r = Rand(state: 0x5357_5255_4E21)
        var agreed = 0, refusedByFastOnly = 0
        for i in 0..<600 {
            let data = try JSONSerialization.data(withJSONObject: Self.config(r))
            let bytes = Array(data)
            let fast = Result { () throws(SpecError) -> Spec in try SpecLoader.decodeSpecFast(bytes) }
            let codable = Result { () throws(SpecError) -> Spec in try SpecLoader.decodeSpec(bytes) }
            switch (fast, codable) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "config \(i) decodes differently:\n\(String(decoding: bytes, as: UTF8.self))")
                agreed += 1
            case (.failure(let e), .success):
                #expect(e.message.contains("NUL"), "config \(i): only the runtime's decoder refused it: \(e.message)")
                refusedByFastOnly += 1
            case (.success, .failure(let e)):
                Issue.record("config \(i): only the Codable decoder refused it: \(e.message)")
            case (.failure, .failure):
                break
            }
        }
        #expect(agreed > 300, "most configs decode: \(agreed) of 600 (\(refusedByFastOnly) refused for a NUL)")
    }

    /// Every field the Codable model has is generated: the union of the keys of all
    /// generated configs (as the Codable side re-encodes them) covers a config with every
    /// optional field set.
    @Test func generatorCoversEveryField() throws {
        let r = Rand(state: 0x5357_5255_4E21)
        var seen = Set<String>()
        func walk(_ v: Any, _ path: String) {
            if let o = v as? [String: Any] {
                for (k, x) in o {
                    let p = path.isEmpty ? k : path + "." + k
                    seen.insert(p)
                    walk(x, p)
                }
            } else if let a = v as? [Any] {
                for x in a { walk(x, path + "[]") }
            }
        }
        for _ in 0..<600 { walk(Self.config(r), "") }
        // Dictionary-valued fields (annotations, sysctl, unified, rdma, timeOffsets) have
        // generated keys: count only the schema's own.
        let schema = [
            "ociVersion", "process.user.umask", "process.user.additionalGids", "process.user.username",
            "process.consoleSize.height",
            "process.capabilities.ambient", "process.rlimits[].soft", "process.scheduler.deadline",
            "process.ioPriority.priority",
            "process.execCPUAffinity.final", "process.commandLine", "root.readonly", "domainname",
            "mounts[].uidMappings[].hostID",
            "hooks.startContainer[].timeout", "linux.timeOffsets", "linux.devices[].fileMode",
            "linux.resources.devices[].access",
            "linux.resources.memory.checkBeforeUpdate", "linux.resources.cpu.idle",
            "linux.resources.blockIO.throttleWriteIOPSDevice[].rate",
            "linux.resources.blockIO.weightDevice[].leafWeight", "linux.resources.hugepageLimits[].pageSize",
            "linux.resources.network.priorities[].priority",
            "linux.resources.rdma", "linux.resources.unified", "linux.seccomp.syscalls[].args[].valueTwo",
            "linux.seccomp.listenerMetadata",
            "linux.intelRdt.enableMBM", "linux.personality.flags", "linux.mountLabel", "linux.sysctl", "annotations",
        ]
        for key in schema { #expect(seen.contains(key), "never generated: \(key)") }
    }
}
