import OCISpec
import SwrunSys

enum CgroupStats {
    static func read(_ dirs: [String], _ file: String) -> String? {
        for d in dirs {
            if let s = try? Files.readString(d + "/" + file) { return trimWhitespace(s) }
        }
        return nil
    }

    static func keyed(_ dirs: [String], _ file: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in (read(dirs, file) ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, let v = UInt64(f[1]) { out[String(f[0])] = v }
        }
        return out
    }

    static func num(_ s: String?) -> JSON {
        guard let s else { return .uint(0) }
        if s == "max" { return .uint(UInt64.max) }
        return .uint(UInt64(s) ?? 0)
    }

    static func collect(_ dirs: [String]) -> JSON {
        let v2cpu = keyed(dirs, "cpu.stat")
        let cpuTotal = read(dirs, "cpuacct.usage").flatMap { UInt64($0) } ?? (v2cpu["usage_usec"] ?? 0) * 1000
        let cpu: JSON = .object([
            ("usage", .object([
                ("total", .uint(cpuTotal)),
                ("kernel", .uint((v2cpu["system_usec"] ?? 0) * 1000)),
                ("user", .uint((v2cpu["user_usec"] ?? 0) * 1000)),
            ])),
            ("throttling", .object([
                ("periods", .uint(keyed(dirs, "cpu.stat")["nr_periods"] ?? 0)),
                ("throttledPeriods", .uint(keyed(dirs, "cpu.stat")["nr_throttled"] ?? 0)),
            ])),
        ])
        let memUsage = read(dirs, "memory.usage_in_bytes") ?? read(dirs, "memory.current")
        let memLimit = read(dirs, "memory.limit_in_bytes") ?? read(dirs, "memory.max")
        let memMax = read(dirs, "memory.max_usage_in_bytes") ?? read(dirs, "memory.peak")
        let memory: JSON = .object([
            ("usage", .object([("limit", num(memLimit)), ("usage", num(memUsage)), ("max", num(memMax)), ("failcnt", num(read(dirs, "memory.failcnt")))])),
            ("raw", .object(keyed(dirs, "memory.stat").sorted { $0.key < $1.key }.map { ($0.key, .uint($0.value)) })),
        ])
        let pids: JSON = .object([("current", num(read(dirs, "pids.current"))), ("limit", num(read(dirs, "pids.max")))])
        return .object([("cpu", cpu), ("memory", memory), ("pids", pids), ("blkio", .object([])), ("hugetlb", .object([]))])
    }

    static func oomKills(_ dirs: [String]) -> UInt64 {
        keyed(dirs, "memory.events")["oom_kill"] ?? keyed(dirs, "memory.oom_control")["oom_kill"] ?? 0
    }
}
