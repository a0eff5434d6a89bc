import OCISpec

/// cgroup v2: linux.resources -> writes into the one unified directory (runc fs2).
public enum V2Writes {
    public static func memory(_ m: LinuxMemory?) throws(SwrunError) -> [CgroupWrite] {
        guard let m else { return [] }
        var w: [CgroupWrite] = []
        if m.disableOOMKiller == true {
            throw SwrunError.config("linux.resources.memory.disableOOMKiller: not supported on cgroup v2")
        }
        if let swap = try CgroupConversions.swapMax(swap: m.swap ?? 0, memory: m.limit ?? 0) {
            w.append(CgroupWrite("memory.swap.max", swap))
        }
        if let l = m.limit, l != 0 { w.append(CgroupWrite("memory.max", CgroupConversions.limit(l))) }
        if let r = m.reservation, r != 0 { w.append(CgroupWrite("memory.low", CgroupConversions.limit(r))) }
        return w
    }

    public static func cpu(_ c: LinuxCPU?) throws(SwrunError) -> [CgroupWrite] {
        guard let c else { return [] }
        if (c.realtimeRuntime ?? 0) != 0 || (c.realtimePeriod ?? 0) != 0 {
            throw SwrunError.config(
                "linux.resources.cpu: realtimeRuntime and realtimePeriod are not supported on cgroup v2")
        }
        var w: [CgroupWrite] = []
        if let s = c.shares, s != 0 {
            w.append(CgroupWrite("cpu.weight", String(CgroupConversions.cpuWeight(shares: s))))
        }
        let quota = c.quota ?? 0, period = c.period ?? 0
        if quota != 0 || period != 0 {
            // runc fs2: "max" for no quota; the kernel's default period 100000 when unset.
            let q = quota <= 0 ? "max" : String(quota)
            w.append(CgroupWrite("cpu.max", "\(q) \(period == 0 ? 100000 : period)"))
        }
        if let b = c.burst { w.append(CgroupWrite("cpu.max.burst", String(b))) }
        if let i = c.idle { w.append(CgroupWrite("cpu.idle", String(i))) }
        return w + SharedCgroupWrites.cpuset(c)
    }

    public static func io(_ b: LinuxBlockIO?) -> [CgroupWrite] {
        guard let b else { return [] }
        var w: [CgroupWrite] = []
        if let v = b.weight, v != 0 {
            w.append(CgroupWrite("io.weight", "default \(CgroupConversions.ioWeight(blkio: v))"))
        }
        for d in b.weightDevice ?? [] {
            if let v = d.weight {
                w.append(CgroupWrite("io.weight", "\(d.major):\(d.minor) \(CgroupConversions.ioWeight(blkio: v))"))
            }
        }
        let throttles: [(String, [LinuxThrottleDevice]?)] = [
            ("rbps", b.throttleReadBpsDevice), ("wbps", b.throttleWriteBpsDevice),
            ("riops", b.throttleReadIOPSDevice), ("wiops", b.throttleWriteIOPSDevice),
        ]
        for (key, devs) in throttles {
            for d in devs ?? [] {
                w.append(CgroupWrite("io.max", "\(d.major):\(d.minor) \(key)=\(d.rate == 0 ? "max" : String(d.rate))"))
            }
        }
        return w
    }

    /// hugetlb.SIZE.max, and hugetlb.SIZE.rsvd.max where the kernel has reservation
    /// accounting (runc sets both).
    public static func hugetlb(_ h: [LinuxHugepageLimit]?, existing: (String) -> Bool = { _ in false }) -> [CgroupWrite]
    {
        (h ?? []).flatMap { l -> [CgroupWrite] in
            let rsvd = "hugetlb.\(l.pageSize).rsvd.max"
            return [CgroupWrite("hugetlb.\(l.pageSize).max", String(l.limit))]
                + (existing(rsvd) ? [CgroupWrite(rsvd, String(l.limit))] : [])
        }
    }

    /// linux.resources.unified: any interface file, validated against what exists.
    public static func unified(_ u: [String: String]?, existing: (String) -> Bool) throws(SwrunError) -> [CgroupWrite] {
        var w: [CgroupWrite] = []
        for (k, v) in (u ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard !k.contains("/"), !k.startsWithBytes("."), k.contains(".") else {
                throw SwrunError.config("linux.resources.unified[\(Quote.short(k))]: not a cgroup interface file name")
            }
            guard existing(k) else {
                throw SwrunError.config(
                    "linux.resources.unified[\(Quote.short(k))]: no such file in the container's cgroup (controller not enabled?)"
                )
            }
            w.append(CgroupWrite(k, v))
        }
        return w
    }

    public static func writes(_ r: LinuxResources, existing: (String) -> Bool) throws(SwrunError) -> [CgroupWrite] {
        try memory(r.memory) + cpu(r.cpu) + SharedCgroupWrites.pids(r.pids) + io(r.blockIO)
            + hugetlb(r.hugepageLimits, existing: existing) + unified(r.unified, existing: existing)
    }
}
