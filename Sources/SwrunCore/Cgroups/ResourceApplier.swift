import OCISpec
import SwrunSys

/// Writes linux.resources into the container's cgroups: v1 controllers in their own
/// hierarchies, the rest through the unified hierarchy (pure v2, or hybrid hosts' unified
/// mount). A requested controller that exists nowhere is an error, not a silent no-op.
enum ResourceApplier {
    /// `update`: the device policy stays as create set it (runc's update does not touch
    /// it); at create it is always written, rules or none (the default is deny).
    /// `v1`: each v1 hierarchy's controllers and the container's directory in it; `v2`: the
    /// container's directory in the unified hierarchy (pure v2, or a hybrid host's).
    /// `devices`: whether the device policy is written at create (not by a rootless swrun,
    /// which cannot: CgroupHandle.rootless). `missing`: why a controller may be absent (a
    /// hierarchy a rootless create left out), said in the refusal of a limit that needs it.
    static func apply(
        _ r: LinuxResources, v1: [(controllers: [String], dir: String)], v2 v2Dir: String?, update: Bool = false,
        devices: Bool = true, missing: String? = nil
    ) throws(SwrunError) {
        let writeDevices = devices && !update
        if !devices && !update && !(r.devices ?? []).isEmpty {
            Log.debug(
                "rootless: linux.resources.devices not applied (no device cgroup for an unprivileged user; devices are the host's nodes, bound)"
            )
        }
        // Controller names: a dozen at most, arrays (a Set's storage is more text to map).
        var handled: [String] = []
        for (controllers, dir) in v1 {
            var writes = try V1Writes.writes(r, controllers: controllers, devices: writeDevices)
            if controllers.contains("memory") {
                let memsw = (try? Files.readString(dir + "/memory.memsw.limit_in_bytes")).flatMap {
                    Int64(trimWhitespace($0))
                }
                writes.removeAll { $0.file.startsWithBytes("memory.") }
                writes = try V1Writes.memory(r.memory, currentMemsw: memsw) + writes
            }
            try write(writes, dir)
            handled += controllers
        }
        var available: [String] = []
        if let dir = v2Dir {
            available = ((try? Files.readString(dir + "/cgroup.controllers")) ?? "").split(separator: " ").map {
                trimWhitespace($0)
            }
            // runc: with checkBeforeUpdate, a new limit below the current usage is refused
            // instead of sending the container into the OOM killer.
            if r.memory?.checkBeforeUpdate == true, let limit = r.memory?.limit, limit > 0,
                let cur = (try? Files.readString(dir + "/memory.current")).flatMap({ Int64(trimWhitespace($0)) }),
                cur > limit
            {
                throw SwrunError.config(
                    "linux.resources.memory.limit: \(limit) is below the current usage \(cur) (checkBeforeUpdate)")
            }
            // On a hybrid host the unified hierarchy sees only what v1 did not take: a v1-only
            // setting (memory.oom_control, cpu.rt_runtime_us) must not be judged, or
            // converted, by v2's rules there.
            let rest = unhandled(r, by: handled)
            let writes = try V2Writes.writes(rest, existing: { Files.exists(dir + "/" + $0) }).filter { w in
                let controller = String(w.file.prefix { $0 != "." })
                return !handled.contains(controller) || (r.unified?[w.file] != nil)
            }
            try write(writes, dir)
        }
        for (field, controller) in requested(r) + (writeDevices ? [("devices", "devices")] : []) {
            // v1 calls the block I/O controller blkio, v2 io.
            let names = controller == "blkio" ? ["blkio", "io"] : [controller]
            if names.contains(where: { handled.contains($0) || available.contains($0) }) { continue }
            if controller == "devices", let dir = v2Dir {
                // cgroup v2 has no devices files: an eBPF program attached to the cgroup.
                let program = DeviceFilter.program(DeviceFilter.rules(r.devices ?? []))
                try sys("linux.resources.devices") {
                    try DeviceFilterBPF.attach(program, cgroupDir: dir, replacing: false)
                }
                continue
            }
            throw SwrunError.config(
                "linux.resources.\(field): the \(controller) controller is not available for the container's cgroup"
                    + (missing.map { " (\($0))" } ?? ""))
        }
    }

    /// `r` without what v1 hierarchies (`handled` controllers) already applied.
    static func unhandled(_ r: LinuxResources, by handled: [String]) -> LinuxResources {
        var v2 = r
        if handled.contains("memory") { v2.memory = nil }
        if handled.contains("pids") { v2.pids = nil }
        if handled.contains("blkio") { v2.blockIO = nil }
        if handled.contains("hugetlb") { v2.hugepageLimits = nil }
        if var cpu = v2.cpu {
            if handled.contains("cpu") {
                cpu.shares = nil; cpu.quota = nil; cpu.period = nil; cpu.burst = nil; cpu.idle = nil
                cpu.realtimeRuntime = nil; cpu.realtimePeriod = nil
            }
            if handled.contains("cpuset") { cpu.cpus = nil; cpu.mems = nil }
            v2.cpu = cpu
        }
        return v2
    }

    /// One open per file and value, except for v1 devices.allow/deny, which take one rule per
    /// write(2): a run of rules goes through one descriptor (opening a cgroup file costs more
    /// than writing it; the default config has two dozen rules).
    static func write(_ writes: [CgroupWrite], _ dir: String) throws(SwrunError) {
        var open: (file: String, fd: OwnedFD)?
        // runc's rule for v1 CFS: a new period smaller than the current one can be refused
        // (EINVAL: old quota / new period exceeds the parent's share) until the new quota is
        // in; then the period is written again after the quota.
        var periodAfterQuota: CgroupWrite?
        let quotaAt = writes.firstIndex { $0.file == "cpu.cfs_quota_us" }
        for (i, w) in writes.enumerated() {
            if w.file == "cpu.cfs_period_us", let q = quotaAt, q > i {
                do { try Files.writeFile(dir + "/" + w.file, w.value, flags: OpenFlags.writeOnly) } catch
                    where error.errno == Errno.EINVAL
                {
                    periodAfterQuota = w
                } catch {
                    throw SwrunError(
                        .system, "linux.resources: write \(w.value) to \(dir)/\(w.file): \(Errno.text(error.errno))")
                }
                continue
            }
            if w.file == "cpu.cfs_quota_us", let p = periodAfterQuota {
                try write([w, p], dir)
                periodAfterQuota = nil
                continue
            }
            Log.debug("cgroup write \(dir)/\(w.file) = \(w.value)")
            do {
                if w.file == "devices.allow" || w.file == "devices.deny" {
                    if open?.file != w.file { open = (w.file, try Files.open(dir + "/" + w.file, OpenFlags.writeOnly)) }
                    if let fd = open?.fd { try Files.writeAll(fd: fd.raw, w.value, path: dir + "/" + w.file) }
                } else {
                    open = nil
                    try Files.writeFile(dir + "/" + w.file, w.value, flags: OpenFlags.writeOnly)
                }
            } catch {
                throw SwrunError(
                    .system, "linux.resources: write \(w.value) to \(dir)/\(w.file): \(Errno.text(error.errno))")
            }
        }
    }

    /// (field, controller) for every resource the spec sets.
    static func requested(_ r: LinuxResources) -> [(String, String)] {
        var out: [(String, String)] = []
        if let m = r.memory,
            [m.limit, m.reservation, m.swap, m.kernelTCP].contains(where: { ($0 ?? 0) != 0 }) || m.swappiness != nil
                || m.disableOOMKiller == true
        {
            out.append(("memory", "memory"))
        }
        if let c = r.cpu {
            if (c.shares ?? 0) != 0 || (c.quota ?? 0) != 0 || (c.period ?? 0) != 0 || c.burst != nil || c.idle != nil {
                out.append(("cpu", "cpu"))
            }
            if !(c.cpus ?? "").isEmpty || !(c.mems ?? "").isEmpty { out.append(("cpu.cpus", "cpuset")) }
        }
        if let p = r.pids, p.limit != 0 { out.append(("pids", "pids")) }
        if let b = r.blockIO,
            (b.weight ?? 0) != 0 || !(b.weightDevice ?? []).isEmpty || !(b.throttleReadBpsDevice ?? []).isEmpty
                || !(b.throttleWriteBpsDevice ?? []).isEmpty || !(b.throttleReadIOPSDevice ?? []).isEmpty
                || !(b.throttleWriteIOPSDevice ?? []).isEmpty
        {
            out.append(("blockIO", "blkio"))
        }
        if !(r.hugepageLimits ?? []).isEmpty { out.append(("hugepageLimits", "hugetlb")) }
        // No v2 equivalent: only a v1 net_cls/net_prio hierarchy can apply these.
        if r.network?.classID != nil { out.append(("network.classID", "net_cls")) }
        if !(r.network?.priorities ?? []).isEmpty { out.append(("network.priorities", "net_prio")) }
        return out
    }

    /// v2: enable every available controller in the directories swrun created above the
    /// leaf, so that the leaf's interface files exist. Directories that existed before are
    /// never written (nothing outside the container's own subtree is changed); a controller
    /// they do not delegate makes the limit that needs it fail with its own error.
    static func enableControllers(leaf: String, created: [String]) {
        for dir in created where leaf.startsWithBytes(dir + "/") {
            let ctrls = ((try? Files.readString(dir + "/cgroup.controllers")) ?? "").split(separator: " ").map {
                trimWhitespace($0)
            }
            for c in ctrls where !c.isEmpty {
                try? Files.writeFile(dir + "/cgroup.subtree_control", "+" + c, flags: OpenFlags.writeOnly)
            }
        }
    }
}
