import OCISpec
import OCISpecCodable
import SwrunCLI
import SwrunCore
import Testing

/// Each controller's writer: file names and values for each input, with runc's conversions.
@Suite("cgroup writers (no root)")
struct CgroupWriterTests {
    func res(_ json: String) throws -> LinuxResources { try SpecLoader.decodeResources(Array(json.utf8)) }

    @Test func v1MemoryOrdersSwapAndLimit() throws {
        let r = try res(
            #"{"memory":{"limit":67108864,"swap":134217728,"reservation":1000,"swappiness":10,"disableOOMKiller":true}}"#
        )
        // Growing: memsw first (runc fs/memory.go), so that memsw >= limit at every step.
        #expect(
            try V1Writes.memory(r.memory, currentMemsw: 1000).map(\.description) == [
                "memory.memsw.limit_in_bytes=134217728", "memory.limit_in_bytes=67108864",
                "memory.soft_limit_in_bytes=1000", "memory.swappiness=10", "memory.oom_control=1",
            ])
        // Shrinking below the current memsw: limit first.
        #expect(
            try V1Writes.memory(r.memory, currentMemsw: Int64.max).prefix(2).map(\.file) == [
                "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
            ])
        #expect(throws: SwrunError.self) { try V1Writes.memory(try res(#"{"memory":{"swappiness":101}}"#).memory) }
    }

    @Test func v1CpuPidsCpusetBlkioHugetlbNet() throws {
        let r = try res(
            #"{"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1","mems":"0","realtimeRuntime":10,"realtimePeriod":20},"pids":{"limit":-1},"blockIO":{"weight":300,"weightDevice":[{"major":8,"minor":0,"weight":200}],"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}}"#
        )
        #expect(
            V1Writes.cpu(r.cpu).map(\.description) == [
                "cpu.shares=512", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000", "cpu.rt_period_us=20",
                "cpu.rt_runtime_us=10",
            ])
        #expect(SharedCgroupWrites.cpuset(r.cpu).map(\.description) == ["cpuset.cpus=0-1", "cpuset.mems=0"])
        #expect(SharedCgroupWrites.pids(r.pids).map(\.description) == ["pids.max=max"])
        #expect(SharedCgroupWrites.pids(LinuxPids(limit: 0)).isEmpty, "0 leaves the limit unchanged, as runc")
        #expect(
            V1Writes.blkio(r.blockIO).map(\.description) == [
                "blkio.weight=300", "blkio.weight_device=8:0 200", "blkio.throttle.read_bps_device=8:0 1048576",
            ])
        #expect(V1Writes.hugetlb(r.hugepageLimits).map(\.description) == ["hugetlb.2MB.limit_in_bytes=4194304"])
        #expect(V1Writes.netCls(r.network).map(\.description) == ["net_cls.classid=1048577"])
        #expect(V1Writes.netPrio(r.network).map(\.description) == ["net_prio.ifpriomap=eth0 5"])
    }

    @Test func v1DevicesDenyAllThenRulesThenDefaults() throws {
        let r = try res(
            #"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"},{"allow":false,"type":"b","major":8,"access":"w"}]}"#
        )
        let w = V1Writes.devices(r.devices).map(\.description)
        // The spec's deny-all repeats the leading one: written once.
        #expect(w.prefix(3) == ["devices.deny=a", "devices.allow=c 10:229 rw", "devices.deny=b 8:* w"])
        #expect(
            w.contains("devices.allow=c 1:3 rwm") && w.contains("devices.allow=c 136:* rwm")
                && w.contains("devices.allow=c *:* m"))
        #expect(
            w.contains("devices.allow=c 10:200 rwm") && !w.contains("devices.allow=c 5:1 rwm"),
            "runc's list: tun, not the console")
        #expect(
            V1Writes.devices([
                LinuxDeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
                LinuxDeviceCgroup(allow: false, type: "c", major: 1, minor: 3, access: "rwm"),
                LinuxDeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            ]).map(\.description).prefix(4)
                == ["devices.deny=a", "devices.allow=c 1:3 rwm", "devices.deny=c 1:3 rwm", "devices.allow=c 1:3 rwm"],
            "a deny between two allows keeps both")
        // No rules at all: still deny-all plus the defaults (a new v1 cgroup would allow all).
        let none = V1Writes.devices(nil).map(\.description)
        #expect(none.first == "devices.deny=a" && none.count == 12, "\(none)")
        // -1 is the wildcard.
        #expect(
            V1Writes.devices([LinuxDeviceCgroup(allow: true, type: "c", major: -1, minor: -1, access: "r")]).map(
                \.description)[1] == "devices.allow=c *:* r")
    }

    @Test func v2Conversions() throws {
        #expect(CgroupConversions.cpuWeight(shares: 2) == 1)
        #expect(CgroupConversions.cpuWeight(shares: 1024) == 39)
        #expect(CgroupConversions.cpuWeight(shares: 262144) == 10000)
        // Any input, no trap: 1 and the far end clamp (they used to overflow).
        #expect(CgroupConversions.cpuWeight(shares: 1) == 1)
        #expect(
            CgroupConversions.cpuWeight(shares: 1 << 51) == 10000 && CgroupConversions.cpuWeight(shares: .max) == 10000)
        #expect(CgroupConversions.ioWeight(blkio: 5) == 1 && CgroupConversions.ioWeight(blkio: .max) == 10000)
        #expect(
            CgroupConversions.ioWeight(blkio: 10) == 1 && CgroupConversions.ioWeight(blkio: 1000) == 10000
                && CgroupConversions.ioWeight(blkio: 500) == 4950)
        #expect(try CgroupConversions.swapMax(swap: 200, memory: 100) == "100")
        #expect(try CgroupConversions.swapMax(swap: -1, memory: 100) == "max")
        #expect(try CgroupConversions.swapMax(swap: 100, memory: 100) == "0")
        #expect(throws: SwrunError.self) { try CgroupConversions.swapMax(swap: 50, memory: 100) }
    }

    @Test func v2Writes() throws {
        let r = try res(
            #"{"memory":{"limit":1048576,"swap":2097152,"reservation":4096},"cpu":{"shares":1024,"quota":50000,"period":100000,"burst":1000,"cpus":"0"},"pids":{"limit":10},"blockIO":{"weight":500,"throttleWriteIOPSDevice":[{"major":254,"minor":0,"rate":100}]},"hugepageLimits":[{"pageSize":"2MB","limit":0}],"unified":{"memory.high":"999999"}}"#
        )
        let w = try V2Writes.writes(r, existing: { _ in true }).map(\.description)
        #expect(
            w == [
                "memory.swap.max=1048576", "memory.max=1048576", "memory.low=4096", "cpu.weight=39",
                "cpu.max=50000 100000", "cpu.max.burst=1000", "cpuset.cpus=0",
                "pids.max=10", "io.weight=default 4950", "io.max=254:0 wiops=100", "hugetlb.2MB.max=0",
                "hugetlb.2MB.rsvd.max=0", "memory.high=999999",
            ])
        #expect(try V2Writes.cpu(try res(#"{"cpu":{"period":50000}}"#).cpu).map(\.description) == ["cpu.max=max 50000"])
        #expect(throws: SwrunError.self) { try V2Writes.cpu(try res(#"{"cpu":{"realtimeRuntime":5}}"#).cpu) }
        #expect(throws: SwrunError.self) {
            try V2Writes.memory(try res(#"{"memory":{"disableOOMKiller":true}}"#).memory)
        }
        #expect(throws: SwrunError.self) { try V2Writes.unified(["../x": "1"], existing: { _ in true }) }
        #expect(throws: SwrunError.self) { try V2Writes.unified(["memory.nope": "1"], existing: { _ in false }) }
    }

    @Test func updateFlagValues() {
        #expect(SwrunCLI.parseBytes("-1") == -1 && SwrunCLI.parseBytes("1024") == 1024)
        #expect(
            SwrunCLI.parseBytes("64m") == 64 << 20 && SwrunCLI.parseBytes("1G") == 1 << 30
                && SwrunCLI.parseBytes("2kb") == 2048)
        #expect(SwrunCLI.parseBytes("x") == nil && SwrunCLI.parseBytes("-5m") == nil)
        #expect(
            SwrunCLI.parseDuration("5s") == 5000 && SwrunCLI.parseDuration("100ms") == 100
                && SwrunCLI.parseDuration("1m") == 60000)
        #expect(SwrunCLI.parseDuration("0s") == nil && SwrunCLI.parseDuration("abc") == nil)
    }
}

@Suite("cgroup v2 device filter program (no root)")
struct DeviceFilterTests {
    func insns(_ p: [UInt8]) -> [[UInt8]] { stride(from: 0, to: p.count, by: 8).map { Array(p[$0..<$0 + 8]) } }

    @Test func denyAllThenAllowOne() {
        let rules = [
            LinuxDeviceCgroup(allow: false, type: nil, major: nil, minor: nil, access: "rwm"),
            LinuxDeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rw"),
        ]
        let p = insns(DeviceFilter.program(rules))
        // 6 loads, then the last rule first: type, access subset (3), major, minor, r0=1, exit;
        // then the catch-all deny ends the program (no unreachable default).
        #expect(p.count == 6 + 8 + 2)
        #expect(p[6] == [0x55, 0x02, 7, 0, 2, 0, 0, 0], "if type != char skip the 7 remaining insns of the block")
        #expect(p[7][0] == 0xbc && p[8] == [0x54, 0x01, 0, 0, 1, 0, 0, 0], "access & ~rw")
        #expect(p[12] == [0xb7, 0, 0, 0, 1, 0, 0, 0] && p[13][0] == 0x95)
        #expect(p[14] == [0xb7, 0, 0, 0, 0, 0, 0, 0] && p[15][0] == 0x95)
    }

    @Test func defaultDenyWhenNothingMatches() {
        let p = insns(
            DeviceFilter.program([LinuxDeviceCgroup(allow: true, type: "b", major: 8, minor: nil, access: "r")]))
        #expect(p.suffix(2) == [[0xb7, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]])
        let jumpRegisters = p.filter { $0[0] == 0x55 }.map { Int($0[1] & 0x0f) }
        #expect(jumpRegisters == [2, 1, 4], "type, access, major; no minor test for a wildcard")
    }

    @Test func rulesAreTheSpecsThenRuncsDefaults() {
        let r = DeviceFilter.rules([LinuxDeviceCgroup(allow: false, type: nil, major: nil, minor: nil, access: "rwm")])
        let pts = r.filter { rule in rule.type == "c" && rule.major == 136 }
        #expect(pts.count == 1 && pts[0].minor == nil)
        #expect(r.first?.allow == false && r.count == 12)
        #expect(r.last == LinuxDeviceCgroup(allow: true, type: "c", major: 10, minor: 200, access: "rwm"))
    }
}
