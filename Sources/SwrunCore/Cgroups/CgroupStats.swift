import OCISpec
import SwrunSys

/// `events --stats` from the container's cgroup files, in runc's shape (types.Stats). The
/// driver says which names to read: v1's (cpuacct.usage, memory.usage_in_bytes, ...) or
/// v2's (cpu.stat usage_usec, memory.current, ...).
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

    /// `dirs`: the directories holding the files (v1: one per hierarchy; v2: the one leaf).
    static func collect(_ dirs: [String], v2: Bool) -> JSON {
        let cpuStat = keyed(dirs, "cpu.stat")
        let usage: [(String, JSON)]
        if v2 {
            usage = [
                ("total", .uint((cpuStat["usage_usec"] ?? 0) * 1000)),
                ("kernel", .uint((cpuStat["system_usec"] ?? 0) * 1000)),
                ("user", .uint((cpuStat["user_usec"] ?? 0) * 1000)),
            ]
        } else {
            // cpuacct.stat counts USER_HZ ticks (100 per second on Linux).
            let ticks = keyed(dirs, "cpuacct.stat")
            usage = [
                ("total", num(read(dirs, "cpuacct.usage"))), ("kernel", .uint((ticks["system"] ?? 0) * 10_000_000)),
                ("user", .uint((ticks["user"] ?? 0) * 10_000_000)),
            ]
        }
        let cpu: JSON = .object([
            ("usage", .object(usage)),
            (
                "throttling",
                .object([
                    ("periods", .uint(cpuStat["nr_periods"] ?? 0)),
                    ("throttledPeriods", .uint(cpuStat["nr_throttled"] ?? 0)),
                ])
            ),
        ])
        let memory: JSON
        if v2 {
            memory = .object([
                (
                    "usage",
                    .object([
                        ("limit", num(read(dirs, "memory.max"))), ("usage", num(read(dirs, "memory.current"))),
                        ("max", num(read(dirs, "memory.peak"))),
                        ("failcnt", .uint(keyed(dirs, "memory.events")["max"] ?? 0)),
                    ])
                ),
                (
                    "raw",
                    .object(keyed(dirs, "memory.stat").sorted { $0.key < $1.key }.map { ($0.key, .uint($0.value)) })
                ),
            ])
        } else {
            memory = .object([
                (
                    "usage",
                    .object([
                        ("limit", num(read(dirs, "memory.limit_in_bytes"))),
                        ("usage", num(read(dirs, "memory.usage_in_bytes"))),
                        ("max", num(read(dirs, "memory.max_usage_in_bytes"))),
                        ("failcnt", num(read(dirs, "memory.failcnt"))),
                    ])
                ),
                (
                    "raw",
                    .object(keyed(dirs, "memory.stat").sorted { $0.key < $1.key }.map { ($0.key, .uint($0.value)) })
                ),
            ])
        }
        let pids: JSON = .object([("current", num(read(dirs, "pids.current"))), ("limit", num(read(dirs, "pids.max")))])
        return .object([
            ("cpu", cpu), ("memory", memory), ("pids", pids), ("blkio", .object([])), ("hugetlb", .object([])),
        ])
    }

    static func oomKills(_ dirs: [String], v2: Bool) -> UInt64 {
        v2 ? keyed(dirs, "memory.events")["oom_kill"] ?? 0 : keyed(dirs, "memory.oom_control")["oom_kill"] ?? 0
    }
}
