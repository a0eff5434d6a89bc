import SwrunSys
import OCISpec

/// cgroup v1: linux.resources -> writes, per controller (runc libcontainer/cgroups/fs).
public enum V1Writes {
    /// `currentMemsw`: memory.memsw.limit_in_bytes now, nil where the kernel has no swap
    /// accounting.
    public static func memory(_ m: LinuxMemory?, currentMemsw: Int64? = nil) throws(SwrunError) -> [CgroupWrite] {
        guard let m else { return [] }
        var w: [CgroupWrite] = []
        // 0 leaves the limit unset, as in runc (a limit of 0 bytes would OOM-kill the init).
        let limit = m.limit.flatMap { $0 == 0 ? nil : CgroupWrite("memory.limit_in_bytes", String($0)) }
        // runc: memory -1 with no swap given lifts the swap limit too (memory + swap cannot
        // stay below an unlimited memory).
        let swapValue = m.limit == -1 && (m.swap ?? 0) == 0 && currentMemsw != nil ? -1 : m.swap
        let swap = swapValue.flatMap { $0 == 0 ? nil : CgroupWrite("memory.memsw.limit_in_bytes", String($0)) }
        // memsw must stay >= limit at every step: raise memsw first when growing (runc
        // fs/memory.go setMemoryAndSwap).
        if let limit, let swap, let l = m.limit, l == -1 || (currentMemsw.map { l > $0 } ?? true) {
            w += [swap, limit]
        } else {
            if let limit { w.append(limit) }
            if let swap { w.append(swap) }
        }
        if let r = m.reservation, r != 0 { w.append(CgroupWrite("memory.soft_limit_in_bytes", String(r))) }
        if let t = m.kernelTCP, t != 0 { w.append(CgroupWrite("memory.kmem.tcp.limit_in_bytes", String(t))) }
        if let s = m.swappiness {
            guard s <= 100 else { throw SwrunError.config("linux.resources.memory.swappiness: \(s) is not in 0..100") }
            w.append(CgroupWrite("memory.swappiness", String(s)))
        }
        if m.disableOOMKiller == true { w.append(CgroupWrite("memory.oom_control", "1")) }
        return w
    }

    public static func cpu(_ c: LinuxCPU?) -> [CgroupWrite] {
        guard let c else { return [] }
        var w: [CgroupWrite] = []
        if let s = c.shares, s != 0 { w.append(CgroupWrite("cpu.shares", String(s))) }
        // The period first: a quota is checked against the current period.
        if let p = c.period, p != 0 { w.append(CgroupWrite("cpu.cfs_period_us", String(p))) }
        if let q = c.quota, q != 0 { w.append(CgroupWrite("cpu.cfs_quota_us", String(q))) }
        if let b = c.burst { w.append(CgroupWrite("cpu.cfs_burst_us", String(b))) }
        if let p = c.realtimePeriod, p != 0 { w.append(CgroupWrite("cpu.rt_period_us", String(p))) }
        if let r = c.realtimeRuntime, r != 0 { w.append(CgroupWrite("cpu.rt_runtime_us", String(r))) }
        if let i = c.idle { w.append(CgroupWrite("cpu.idle", String(i))) }
        return w
    }

    public static func blkio(_ b: LinuxBlockIO?) -> [CgroupWrite] {
        guard let b else { return [] }
        var w: [CgroupWrite] = []
        if let v = b.weight, v != 0 { w.append(CgroupWrite("blkio.weight", String(v))) }
        if let v = b.leafWeight, v != 0 { w.append(CgroupWrite("blkio.leaf_weight", String(v))) }
        for d in b.weightDevice ?? [] {
            if let v = d.weight { w.append(CgroupWrite("blkio.weight_device", "\(d.major):\(d.minor) \(v)")) }
            if let v = d.leafWeight { w.append(CgroupWrite("blkio.leaf_weight_device", "\(d.major):\(d.minor) \(v)")) }
        }
        let throttles: [(String, [LinuxThrottleDevice]?)] = [
            ("blkio.throttle.read_bps_device", b.throttleReadBpsDevice),
            ("blkio.throttle.write_bps_device", b.throttleWriteBpsDevice),
            ("blkio.throttle.read_iops_device", b.throttleReadIOPSDevice),
            ("blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice),
        ]
        for (file, devs) in throttles {
            for d in devs ?? [] { w.append(CgroupWrite(file, "\(d.major):\(d.minor) \(d.rate)")) }
        }
        return w
    }

    public static func hugetlb(_ h: [LinuxHugepageLimit]?) -> [CgroupWrite] {
        (h ?? []).map { CgroupWrite("hugetlb.\($0.pageSize).limit_in_bytes", String($0.limit)) }
    }

    public static func netCls(_ n: LinuxNetwork?) -> [CgroupWrite] {
        guard let id = n?.classID else { return [] }
        return [CgroupWrite("net_cls.classid", String(id))]
    }

    public static func netPrio(_ n: LinuxNetwork?) -> [CgroupWrite] {
        (n?.priorities ?? []).map { CgroupWrite("net_prio.ifpriomap", "\($0.name) \($0.priority)") }
    }

    /// The device list, as runc leaves it: deny everything, then the spec's rules in order,
    /// then runc's default allow list. Written at every create, rules or none: a new v1
    /// devices cgroup inherits "a *:* rwm" from its parent, and a container with CAP_MKNOD
    /// could then make and open the host's disks. linux.devices only makes nodes: it never
    /// adds a rule (an explicit deny-all in the config must hold).
    public static func devices(_ rules: [LinuxDeviceCgroup]?) -> [CgroupWrite] {
        var w = [CgroupWrite("devices.deny", "a")]
        for r in rules ?? [] { w.append(CgroupWrite(r.allow ? "devices.allow" : "devices.deny", r.v1Rule)) }
        for r in DefaultDeviceRules.rules { w.append(CgroupWrite("devices.allow", r.v1Rule)) }
        return withoutRepeats(w)
    }

    /// Within a run of writes to one file, a value already written changes nothing (a rule
    /// allowed, or denied, twice in a row is allowed once): dropped. The defaults and the
    /// config's own nodes repeat the spec's rules; order across runs is kept.
    static func withoutRepeats(_ writes: [CgroupWrite]) -> [CgroupWrite] {
        // A few dozen device rules at most: an array, not a Set (whose storage code would be
        // mapped on the start path).
        var out: [CgroupWrite] = [], seen: [String] = [], file = ""
        for w in writes {
            if w.file != file { file = w.file; seen = [] }
            if !seen.contains(w.value) {
                seen.append(w.value)
                out.append(w)
            }
        }
        return out
    }

    /// Writes for one v1 hierarchy, given the controllers mounted in it. `devices`: the
    /// device list is written (at create; `update` leaves it as create made it, as runc).
    public static func writes(_ r: LinuxResources, controllers: [String], devices withDevices: Bool) throws(SwrunError)
        -> [CgroupWrite]
    {
        var w: [CgroupWrite] = []
        for c in controllers {
            switch c {
            case "memory": w += try memory(r.memory)
            case "cpu": w += cpu(r.cpu)
            case "cpuset": w += SharedCgroupWrites.cpuset(r.cpu)
            case "pids": w += SharedCgroupWrites.pids(r.pids)
            case "blkio": w += blkio(r.blockIO)
            case "hugetlb": w += hugetlb(r.hugepageLimits)
            case "net_cls": w += netCls(r.network)
            case "net_prio": w += netPrio(r.network)
            case "devices" where withDevices: w += devices(r.devices)
            default: break
            }
        }
        return w
    }
}
