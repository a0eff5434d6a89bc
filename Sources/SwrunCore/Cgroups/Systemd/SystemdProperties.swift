import OCISpec
import SwrunSys

// The OCI spec as systemd unit properties: pure functions, one per conversion, each naming
// the runc behaviour it copies. runc's code is opencontainers/cgroups' systemd package
// (common.go, v1.go, v2.go, cpuset.go; vendored by runc 1.2+, libcontainer/cgroups/systemd
// in runc 1.1), its devices package (systemd.go, devices_emulator.go) and runc's
// libcontainer/specconv (cgroupsPath). Property types are systemd's
// (systemd.resource-control(5), org.freedesktop.systemd1(5)).

/// Where a container's unit goes, from linux.cgroupsPath as runc reads it for the systemd
/// driver.
public struct SystemdUnitPlacement: Equatable, Sendable {
    /// The parent slice, defaults applied ("system.slice").
    public var slice: String
    /// The unit's name: "prefix-name.scope", or the name itself when it is a slice.
    public var unitName: String
    /// The name part (the container id by default): runc's Description says it.
    public var name: String
    /// The unit is a slice (the name ends in ".slice"), not a scope.
    public var isSlice: Bool

    public init(slice: String, unitName: String, name: String, isSlice: Bool) {
        self.slice = slice
        self.unitName = unitName
        self.name = name
        self.isSlice = isSlice
    }
}

/// Resource properties, and what else the conversion found.
public struct SystemdResources: Equatable, Sendable {
    public var properties: [SystemdProperty] = []
    /// The CPU quota after runc's rounding up to whole 10 ms per second (addCPUQuota), when
    /// it changed: cpu.max written through cgroupfs must use it, so that the file and
    /// systemd's CPUQuotaPerSecUSec agree (runc updates Resources.CpuQuota in place).
    public var cpuQuota: Int64?
    /// What runc logs as warnings and applies anyway (or leaves to cgroupfs).
    public var warnings: [String] = []

    public init() {}
}

public enum SystemdProperties {
    // MARK: placement

    /// runc's specconv.CreateCgroupConfig with --systemd-cgroup, and the drivers' defaults:
    /// an empty cgroupsPath means ":runc:<id>"; anything else must be "slice:prefix:name"
    /// (exactly three fields). An empty slice is "system.slice", or "user.slice" for a
    /// rootless container (v2 Apply; v1's default is always "system.slice"). The unit is
    /// "prefix-name.scope" (getUnitName: an empty prefix still gives the dash), unless
    /// the name ends in ".slice", which makes the unit that slice.
    /// The slice is checked here (expandSlice) rather than at first use; a unit name with a
    /// slash (it would leave its directory) or a NUL is refused, where runc relies on
    /// securejoin to keep the path inside.
    public static func placement(cgroupsPath: String?, id: String, rootless: Bool = false) throws(SwrunError)
        -> SystemdUnitPlacement
    {
        var slice = "", prefix = "runc", name = id
        if let path = cgroupsPath, !path.isEmpty {
            let parts = path.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard parts.count == 3 else {
                throw SwrunError.config(
                    "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \(Quote.short(path)) instead"
                )
            }
            (slice, prefix, name) = (parts[0], parts[1], parts[2])
        }
        if slice.isEmpty { slice = rootless ? "user.slice" : "system.slice" }
        _ = try expandSlice(slice)
        let isSlice = endsWith(name, ".slice")
        let unit = unitName(prefix: prefix, name: name)
        let b = Array(unit.utf8)
        guard !b.contains(UInt8(ascii: "/")), !b.contains(0) else {
            throw SwrunError.config("linux.cgroupsPath: unit name \(Quote.short(unit)) is not a file name")
        }
        return SystemdUnitPlacement(slice: slice, unitName: unit, name: name, isSlice: isSlice)
    }

    /// runc's getUnitName: "prefix-name.scope", or `name` as it is when it ends in ".slice".
    public static func unitName(prefix: String, name: String) -> String {
        endsWith(name, ".slice") ? name : prefix + "-" + name + ".scope"
    }

    /// runc's ExpandSlice: systemd writes a slice's ancestry into its name with dashes, so
    /// "a-b-c.slice" lives at "/a.slice/a-b.slice/a-b-c.slice". "-.slice" is the root,
    /// "/". A name without the ".slice" suffix (or only it), with a slash, or with an
    /// empty component ("a--b.slice", "-a.slice", "a-.slice") is refused.
    public static func expandSlice(_ slice: String) throws(SwrunError) -> String {
        let suffix = ".slice"
        let b = Array(slice.utf8)
        guard b.count >= suffix.utf8.count, endsWith(slice, suffix), !b.contains(UInt8(ascii: "/")) else {
            throw SwrunError.config("invalid slice name: \(Quote.short(slice))")
        }
        let stem = b.dropLast(suffix.utf8.count)
        if stem.elementsEqual("-".utf8) { return "/" }
        var path = "", prefix = ""
        for component in stem.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false) {
            guard !component.isEmpty else { throw SwrunError.config("invalid slice name: \(Quote.short(slice))") }
            let c = String(decoding: component, as: UTF8.self)
            path += "/" + prefix + c + suffix
            prefix += c + "-"
        }
        return path
    }

    /// The unit's cgroup, relative to the cgroup mount (v2: /sys/fs/cgroup; v1: each
    /// controller's mount): runc's v2 initPath, filepath.Join(ExpandSlice(slice), unit), with
    /// the user manager's own cgroup in front for a rootless container (runc reads it from
    /// the manager's ControlGroup property: "/user.slice/user-1000.slice/user@1000.service").
    /// v1's initPaths joins the same two under each controller's mount.
    public static func cgroupPath(_ p: SystemdUnitPlacement, managerCgroup: String? = nil) throws(SwrunError) -> String
    {
        var parts: [String] = []
        for piece in [managerCgroup ?? "", try expandSlice(p.slice), p.unitName] {
            for c in piece.utf8.split(separator: UInt8(ascii: "/")) { parts.append(String(decoding: c, as: UTF8.self)) }
        }
        return "/" + parts.joinedText("/")
    }

    // MARK: the unit's own properties

    /// runc's Apply (v2.go UnifiedManager.Apply; v1.go LegacyManager.Apply): Description
    /// "libcontainer container <name>"; a scope gets Slice=<slice> and Delegate=true, a
    /// slice Wants=<slice>; PIDs=[pid] unless there is no process (runc's pid -1, a slice
    /// made for later); accounting on for every controller (IOAccounting on v2,
    /// BlockIOAccounting on v1); DefaultDependencies=false. On v2, OOMPolicy follows
    /// unified "memory.oom.group" (systemd 253+; only settable at creation).
    public static func unitProperties(
        _ p: SystemdUnitPlacement, pid: Int32?, cgroupV1: Bool = false,
        unified: [String: String]? = nil, systemdVersion: Int = -1
    ) throws(SwrunError) -> [SystemdProperty] {
        var props = [SystemdProperty("Description", .string("libcontainer container " + p.name))]
        if p.isSlice {
            props.append(SystemdProperty("Wants", .array(element: "s", [.string(p.slice)])))
        } else {
            props.append(SystemdProperty("Slice", .string(p.slice)))
            props.append(SystemdProperty("Delegate", .bool(true)))
        }
        if let pid { props.append(SystemdProperty("PIDs", .array(element: "u", [.uint32(UInt32(bitPattern: pid))]))) }
        for name in [
            "MemoryAccounting", "CPUAccounting", cgroupV1 ? "BlockIOAccounting" : "IOAccounting", "TasksAccounting",
        ] {
            props.append(SystemdProperty(name, .bool(true)))
        }
        props.append(SystemdProperty("DefaultDependencies", .bool(false)))
        if !cgroupV1, let policy = try oomPolicy(unified, systemdVersion: systemdVersion) { props.append(policy) }
        return props
    }

    /// runc's Apply: unified "memory.oom.group" 0 is OOMPolicy=continue, 1 is kill, with
    /// systemd 253 or later (oomPolicySupportedVersion); another number is left to
    /// cgroupfs, a non-number is an error.
    public static func oomPolicy(_ unified: [String: String]?, systemdVersion: Int) throws(SwrunError)
        -> SystemdProperty?
    {
        guard let v = unified?["memory.oom.group"], systemdVersion >= 253 else { return nil }
        guard let n = parseUInt64(trim(v)) else {
            throw SwrunError.config(
                "unified resource \"memory.oom.group\" value conversion error: \(Quote.short(v)) is not a number")
        }
        switch n {
        case 0: return SystemdProperty("OOMPolicy", .string("continue"))
        case 1: return SystemdProperty("OOMPolicy", .string("kill"))
        default: return nil
        }
    }

    // MARK: resources

    /// Whether converting `r` depends on systemd's version, so whether its Version property
    /// must be read at all (runc reads it in every process; it costs a round trip):
    /// cpu.period, cpus, mems, cpu.idle 1, and the unified keys runc gates on a version.
    /// Where it does not, pass -1 ("unknown"): the device rules then take systemd 240's
    /// syntax (char-MAJOR), which every systemd since 2018 reads.
    public static func needsVersion(_ r: LinuxResources?) -> Bool {
        guard let r else { return false }
        if let c = r.cpu, (c.period ?? 0) != 0 || !(c.cpus ?? "").isEmpty || !(c.mems ?? "").isEmpty || c.idle == 1 {
            return true
        }
        guard let u = r.unified else { return false }
        return ["cpu.idle", "cpu.max", "cpu.weight", "cpuset.cpus", "cpuset.mems", "memory.oom.group"].contains {
            u[$0] != nil
        }
    }

    /// runc's genV2ResourcesProperties (v2.go), for SetUnitProperties or for the start
    /// itself: devices, MemoryMax, MemoryLow, MemorySwapMax, CPUWeight (or CPUWeight=0 for
    /// cpu.idle 1 on systemd 252+), the CPU quota, TasksMax, AllowedCPUs and
    /// AllowedMemoryNodes (systemd 244+), then the unified map. `io` adds swrun's IO
    /// properties (`ioProperties`), which runc does not send.
    public static func resourcesV2(_ r: LinuxResources?, systemdVersion: Int, io: Bool = true) throws(SwrunError)
        -> SystemdResources
    {
        var out = SystemdResources()
        let r = r ?? LinuxResources()
        let devices = try deviceProperties(DeviceFilter.rules(r.devices ?? []), systemdVersion: systemdVersion)
        out.properties += devices.properties
        out.warnings += devices.warnings
        let limit = r.memory?.limit ?? 0
        if limit != 0 { out.properties.append(SystemdProperty("MemoryMax", .uint64(bytes(limit)))) }
        if let low = r.memory?.reservation, low != 0 {
            out.properties.append(SystemdProperty("MemoryLow", .uint64(bytes(low))))
        }
        if let swap = try swapMax(swap: r.memory?.swap ?? 0, memory: limit) {
            out.properties.append(SystemdProperty("MemorySwapMax", .uint64(swap)))
        }
        var idleSet = false
        if r.cpu?.idle == 1, systemdVersion >= 252 {
            out.properties.append(SystemdProperty("CPUWeight", .uint64(0)))
            idleSet = true
        }
        let weight = CgroupConversions.cpuWeight(shares: r.cpu?.shares ?? 0)
        if weight != 0 {
            if idleSet {
                out.warnings.append("unable to apply both CPUWeight and CpuIdle to systemd, ignoring CPUWeight")
            } else {
                out.properties.append(SystemdProperty("CPUWeight", .uint64(weight)))
            }
        }
        let quota = try cpuQuota(quota: r.cpu?.quota ?? 0, period: r.cpu?.period ?? 0, systemdVersion: systemdVersion)
        out.properties += quota.properties
        if quota.quota != (r.cpu?.quota ?? 0) { out.cpuQuota = quota.quota }
        if let pids = r.pids, let tasks = tasksMax(pids.limit) { out.properties.append(tasks) }
        out.properties += try cpuset(cpus: r.cpu?.cpus, mems: r.cpu?.mems, systemdVersion: systemdVersion)
        if let u = r.unified {
            let unified = try unifiedProperties(u, systemdVersion: systemdVersion)
            out.properties += unified.properties
            out.warnings += unified.warnings
        }
        if io { out.properties += ioProperties(r.blockIO) }
        return out
    }

    /// runc's genV1ResourcesProperties (v1.go): devices, MemoryLimit, CPUShares, the CPU
    /// quota, BlockIOWeight, TasksMax, AllowedCPUs and AllowedMemoryNodes.
    public static func resourcesV1(_ r: LinuxResources?, systemdVersion: Int) throws(SwrunError) -> SystemdResources {
        var out = SystemdResources()
        let r = r ?? LinuxResources()
        let devices = try deviceProperties(DeviceFilter.rules(r.devices ?? []), systemdVersion: systemdVersion)
        out.properties += devices.properties
        out.warnings += devices.warnings
        if let limit = r.memory?.limit, limit != 0 {
            out.properties.append(SystemdProperty("MemoryLimit", .uint64(bytes(limit))))
        }
        if let shares = r.cpu?.shares, shares != 0 {
            out.properties.append(SystemdProperty("CPUShares", .uint64(shares)))
        }
        let quota = try cpuQuota(quota: r.cpu?.quota ?? 0, period: r.cpu?.period ?? 0, systemdVersion: systemdVersion)
        out.properties += quota.properties
        if quota.quota != (r.cpu?.quota ?? 0) { out.cpuQuota = quota.quota }
        if let w = r.blockIO?.weight, w != 0 {
            out.properties.append(SystemdProperty("BlockIOWeight", .uint64(UInt64(w))))
        }
        if let pids = r.pids, let tasks = tasksMax(pids.limit) { out.properties.append(tasks) }
        out.properties += try cpuset(cpus: r.cpu?.cpus, mems: r.cpu?.mems, systemdVersion: systemdVersion)
        return out
    }

    /// A memory value as runc sends it, uint64(v): -1 (unlimited) is UINT64_MAX, systemd's
    /// "infinity". Any other negative value also reads as infinity here (runc would send
    /// its two's complement).
    static func bytes(_ v: Int64) -> UInt64 { v < 0 ? UInt64.max : UInt64(v) }

    /// runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap, v2's
    /// MemorySwapMax is swap alone. nil is "unset" (swap 0, unless memory is unlimited);
    /// UINT64_MAX is infinity (swap -1, or memory -1 with swap unset); with memory
    /// unlimited a swap value is taken as it is; otherwise swap - memory, refused below
    /// memory or without a memory limit.
    public static func swapMax(swap: Int64, memory: Int64) throws(SwrunError) -> UInt64? {
        if memory == -1 && swap == 0 { return UInt64.max }
        if swap == -1 { return UInt64.max }
        if swap == 0 { return nil }
        if memory == -1 { return bytes(swap) }
        if memory == 0 {
            throw SwrunError.config("linux.resources.memory.swap: unable to set swap limit without memory limit")
        }
        if memory < 0 { throw SwrunError.config("linux.resources.memory.limit: invalid memory value: \(memory)") }
        if swap < memory {
            throw SwrunError.config("linux.resources.memory.swap: memory+swap limit should be >= memory limit")
        }
        return UInt64(swap - memory)
    }

    /// runc's addCPUQuota (common.go). A period sets CPUQuotaPeriodUSec (systemd 242+). A
    /// quota or a period sets CPUQuotaPerSecUSec: UINT64_MAX (infinity) unless the quota is
    /// positive, else quota * 1 s / period (period 0: the kernel's 100 ms), rounded up to a
    /// whole 10 ms because systemd keeps CPUQuota as a whole percentage; the quota is then
    /// recomputed from the rounded value so that cgroupfs gets the same (returned as
    /// `quota`). Products that would overflow 64 bits are refused (runc's wrap).
    public static func cpuQuota(quota: Int64, period: UInt64, systemdVersion: Int) throws(SwrunError) -> (
        properties: [SystemdProperty], quota: Int64
    ) {
        var props: [SystemdProperty] = []
        var quota = quota
        if period != 0, systemdVersion >= 242 { props.append(SystemdProperty("CPUQuotaPeriodUSec", .uint64(period))) }
        guard quota != 0 || period != 0 else { return (props, quota) }
        var perSec = UInt64.max
        if quota > 0 {
            let p = period == 0 ? 100_000 : period
            let (micro, overflow) = UInt64(quota).multipliedReportingOverflow(by: 1_000_000)
            guard !overflow else { throw SwrunError.config("linux.resources.cpu.quota: \(quota) is too large") }
            perSec = micro / p
            if perSec % 10_000 != 0 {
                perSec = (perSec / 10_000 + 1) * 10_000
                let (q, over) = perSec.multipliedReportingOverflow(by: p)
                guard !over, q / 1_000_000 <= UInt64(Int64.max) else {
                    throw SwrunError.config("linux.resources.cpu.period: \(p) is too large")
                }
                quota = Int64(q / 1_000_000)
            }
        }
        props.append(SystemdProperty("CPUQuotaPerSecUSec", .uint64(perSec)))
        return (props, quota)
    }

    /// runc 1.1's v2 TasksMax: -1 (any negative here) is infinity, a positive limit is
    /// itself, 0 sets nothing, as swrun's cgroupfs writer leaves pids.max alone for 0.
    /// (runc's main branch, whose pids limit became optional with runtime-spec 1.2.1,
    /// sends 0 as 1 because systemd refuses TasksMax=0.)
    public static func tasksMax(_ limit: Int64) -> SystemdProperty? {
        if limit == 0 { return nil }
        return SystemdProperty("TasksMax", .uint64(limit < 0 ? UInt64.max : UInt64(limit)))
    }

    /// runc's addCpuset: AllowedCPUs and AllowedMemoryNodes from cpu.cpus and cpu.mems as
    /// RangeToBits byte masks, with systemd 244 or later (older ones: nothing, cgroupfs
    /// has them).
    public static func cpuset(cpus: String?, mems: String?, systemdVersion: Int) throws(SwrunError) -> [SystemdProperty]
    {
        let cpus = cpus ?? "", mems = mems ?? ""
        guard !(cpus.isEmpty && mems.isEmpty), systemdVersion >= 244 else { return [] }
        var props: [SystemdProperty] = []
        if !cpus.isEmpty {
            props.append(
                SystemdProperty("AllowedCPUs", .bytes(try rangeToBits(cpus, field: "linux.resources.cpu.cpus"))))
        }
        if !mems.isEmpty {
            props.append(
                SystemdProperty("AllowedMemoryNodes", .bytes(try rangeToBits(mems, field: "linux.resources.cpu.mems"))))
        }
        return props
    }

    /// The highest CPU or memory node number a mask may name: 65535 (an 8 kB mask). runc
    /// takes any 32-bit number and would build a 512 MB mask for 4294967295; Linux has at
    /// most 8192 CPUs (NR_CPUS).
    public static let maxCPUIndex = 65535

    /// runc's RangeToBits (cpuset.go): "0-2,7" as the byte mask systemd takes for
    /// AllowedCPUs: bit n of the mask is CPU n, byte 0 holds CPUs 0-7, and the mask is as
    /// long as its highest set bit needs. Elements are trimmed and empty ones skipped;
    /// a bad number, a reversed range or an empty result is an error.
    public static func rangeToBits(_ s: String, field: String = "cpuset") throws(SwrunError) -> [UInt8] {
        func fail(_ why: String) -> SwrunError {
            SwrunError.config("\(field) \(Quote.short(s)) conversion error: \(why)")
        }
        func number(_ t: String) throws(SwrunError) -> Int {
            guard let v = parseUInt64(t), v <= UInt64(UInt32.max) else {
                throw fail("invalid number \(Quote.short(t))")
            }
            guard v <= UInt64(maxCPUIndex) else { throw fail("\(v) is larger than \(maxCPUIndex)") }
            return Int(v)
        }
        var ranges: [(Int, Int)] = []
        for part in s.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let r = trim(String(decoding: part, as: UTF8.self))
            if r.isEmpty { continue }
            if let dash = r.utf8.firstIndex(of: UInt8(ascii: "-")) {
                let start = try number(String(decoding: r.utf8[r.utf8.startIndex..<dash], as: UTF8.self))
                let end = try number(String(decoding: r.utf8[r.utf8.index(after: dash)...], as: UTF8.self))
                guard start <= end else { throw fail("invalid range: \(r)") }
                ranges.append((start, end))
            } else {
                let v = try number(r)
                ranges.append((v, v))
            }
        }
        guard let highest = ranges.map(\.1).max() else { throw fail("empty value") }
        var mask = [UInt8](repeating: 0, count: highest / 8 + 1)
        for (start, end) in ranges {
            for bit in start...end { mask[bit / 8] |= UInt8(1) << UInt8(bit % 8) }
        }
        return mask
    }

    /// swrun's IO properties; runc's v2 driver sends none (it leaves io.weight and io.max
    /// to its cgroupfs writes after SetUnitProperties). They are sent because systemd
    /// rewrites a unit's io.weight from its own properties whenever it realizes the unit's
    /// cgroup again (daemon-reload, a later property change), to "default 100" when it has
    /// none: with IOWeight set the limit survives. IOWeight is blkio weight converted as
    /// runc's ConvertBlkIOToIOWeightValue; IODeviceWeight and the four IO*Max lists name
    /// each device as /dev/block/MAJ:MIN (udev's links; the path form runc uses for
    /// DeviceAllow), which systemd resolves with stat when it applies them (a device
    /// without that link is skipped by systemd, and cgroupfs still has the limit). A rate
    /// of 0 is "no limit" (infinity), as swrun's io.max writes "max" for it.
    public static func ioProperties(_ b: LinuxBlockIO?) -> [SystemdProperty] {
        guard let b else { return [] }
        var props: [SystemdProperty] = []
        if let w = b.weight, w != 0 {
            props.append(SystemdProperty("IOWeight", .uint64(CgroupConversions.ioWeight(blkio: w))))
        }
        let weights: [DBusValue] = (b.weightDevice ?? []).compactMap { d in
            guard let w = d.weight, w != 0 else { return nil }
            return .structure([
                .string(blockDevicePath(d.major, d.minor)), .uint64(CgroupConversions.ioWeight(blkio: w)),
            ])
        }
        if !weights.isEmpty { props.append(SystemdProperty("IODeviceWeight", .array(element: "(st)", weights))) }
        let limits: [(String, [LinuxThrottleDevice]?)] = [
            ("IOReadBandwidthMax", b.throttleReadBpsDevice), ("IOWriteBandwidthMax", b.throttleWriteBpsDevice),
            ("IOReadIOPSMax", b.throttleReadIOPSDevice), ("IOWriteIOPSMax", b.throttleWriteIOPSDevice),
        ]
        for (name, list) in limits {
            guard let list, !list.isEmpty else { continue }
            let entries: [DBusValue] = list.map {
                .structure([.string(blockDevicePath($0.major, $0.minor)), .uint64($0.rate == 0 ? UInt64.max : $0.rate)])
            }
            props.append(SystemdProperty(name, .array(element: "(st)", entries)))
        }
        return props
    }

    static func blockDevicePath(_ major: Int64, _ minor: Int64) -> String {
        "/dev/block/" + Digits.decimal(major) + ":" + Digits.decimal(minor)
    }

    // MARK: devices

    /// runc's systemdProperties (devices/systemd.go): DeviceAllow=[] first (it clears the
    /// list an existing unit has), DevicePolicy=strict, then the rules reduced by runc's
    /// devices emulator to an allow list, sorted by major, minor, type: a concrete device
    /// as /dev/char/M:m or /dev/block/M:m, a wildcard minor as char-M / block-M (systemd
    /// 240+, or unknown: -1; older ones need /proc/devices' group names: skipped, with a
    /// warning), both
    /// wildcards as char-* / block-*; "*:m" rules cannot be said and are skipped with a
    /// warning. A deny-list (the rules end allowing everything but some) cannot be said
    /// either: allow-all is DevicePolicy=auto with no list, anything else a temporary
    /// deny-all with a warning. Either way the eBPF filter swrun attaches itself enforces
    /// the exact rules.
    /// `rules` is the full list: the spec's and the defaults (DeviceFilter.rules).
    public static func deviceProperties(_ rules: [LinuxDeviceCgroup], systemdVersion: Int) throws(SwrunError) -> (
        properties: [SystemdProperty], warnings: [String]
    ) {
        let clear = SystemdProperty("DeviceAllow", .array(element: "(ss)", []))
        var emulator = DeviceEmulator()
        for (i, rule) in rules.enumerated() {
            do { try emulator.apply(rule) } catch { throw error.wrapped("unable to apply rule \(i) for systemd") }
        }
        if emulator.defaultAllow {
            if emulator.rules.isEmpty { return ([clear, SystemdProperty("DevicePolicy", .string("auto"))], []) }
            return (
                [clear, SystemdProperty("DevicePolicy", .string("strict"))],
                ["systemd doesn't support blacklist device rules -- applying temporary deny-all rule"]
            )
        }
        var warnings: [String] = []
        var allow: [DBusValue] = []
        for (key, perms) in emulator.sortedRules() {
            let group = key.type == UInt8(ascii: "b") ? "block" : "char"
            let path: String
            if key.major < 0 {
                guard key.minor < 0 else {
                    warnings.append(
                        "systemd doesn't support '*:n' device rules -- temporarily ignoring rule: \(key.text) \(perms)")
                    continue
                }
                path = group + "-*"
            } else if key.minor < 0 {
                guard systemdVersion >= 240 || systemdVersion < 0 else {
                    warnings.append(
                        "systemd v\(systemdVersion) needs a /proc/devices group name for \(key.text) -- temporarily ignoring rule"
                    )
                    continue
                }
                path = group + "-" + Digits.decimal(key.major)
            } else {
                path = "/dev/" + group + "/" + Digits.decimal(key.major) + ":" + Digits.decimal(key.minor)
            }
            allow.append(.structure([.string(path), .string(perms)]))
        }
        return (
            [
                clear, SystemdProperty("DevicePolicy", .string("strict")),
                SystemdProperty("DeviceAllow", .array(element: "(ss)", allow)),
            ], warnings
        )
    }

    // MARK: unified

    /// runc's unifiedResToSystemdProps (v2.go), keys in sorted order (Go's map order is
    /// random): cpu.idle "1" is CPUWeight=0 (systemd 252+); cpu.max "quota [period]" goes
    /// through addCPUQuota; cpu.weight is CPUWeight (skipped, with a warning, when cpu.idle
    /// already made it 0); cpuset.cpus and cpuset.mems are AllowedCPUs and
    /// AllowedMemoryNodes (systemd 244+); memory.high, .low, .min, .max and .swap.max are
    /// MemoryHigh, MemoryLow, MemoryMin, MemoryMax, MemorySwapMax ("max" is infinity);
    /// pids.max is TasksMax (0 becomes 1: systemd refuses 0). Other keys are left to
    /// cgroupfs. A key with a slash or without "controller." is an error, as is a value
    /// that is not a number where one is needed.
    public static func unifiedProperties(_ unified: [String: String], systemdVersion: Int) throws(SwrunError) -> (
        properties: [SystemdProperty], warnings: [String]
    ) {
        var props: [SystemdProperty] = [], warnings: [String] = []
        func bad(_ k: String, _ v: String) -> SwrunError {
            SwrunError.config("unified resource \(Quote.short(k)) value conversion error: \(Quote.short(v))")
        }
        let idle = trim(unified["cpu.idle"] ?? "") == "1" && systemdVersion >= 252
        for k in unified.keys.sorted() {
            let v = trim(unified[k] ?? "")
            guard !k.utf8.contains(UInt8(ascii: "/")) else {
                throw SwrunError.config("unified resource \(Quote.short(k)) must be a file name (no slashes)")
            }
            guard let dot = k.utf8.firstIndex(of: UInt8(ascii: ".")), dot != k.utf8.startIndex else {
                throw SwrunError.config("unified resource \(Quote.short(k)) must be in the form CONTROLLER.PARAMETER")
            }
            switch k {
            case "cpu.idle":
                if idle { props.append(SystemdProperty("CPUWeight", .uint64(0))) }
            case "cpu.max":
                let fields = v.utf8.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 10 }).map {
                    String(decoding: $0, as: UTF8.self)
                }
                guard fields.count == 1 || fields.count == 2 else { throw bad(k, v) }
                var quota: Int64 = 0
                var period: UInt64 = 100_000
                if fields[0] != "max" {
                    guard let q = parseInt64(fields[0]) else { throw bad(k, v) }
                    quota = q
                }
                if fields.count == 2 {
                    guard let p = parseUInt64(fields[1]) else { throw bad(k, v) }
                    period = p
                }
                props += try cpuQuota(quota: quota, period: period, systemdVersion: systemdVersion).properties
            case "cpu.weight":
                if idle {
                    warnings.append("unable to apply both cpu.weight and cpu.idle to systemd, ignoring cpu.weight")
                    continue
                }
                guard let n = parseUInt64(v) else { throw bad(k, v) }
                props.append(SystemdProperty("CPUWeight", .uint64(n)))
            case "cpuset.cpus", "cpuset.mems":
                let bits = try rangeToBits(v, field: "unified resource \(Quote.short(k))")
                if systemdVersion >= 244 {
                    props.append(
                        SystemdProperty(k == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", .bytes(bits)))
                }
            case "memory.high", "memory.low", "memory.min", "memory.max", "memory.swap.max":
                var n = UInt64.max
                if v != "max" {
                    guard let parsed = parseUInt64(v) else { throw bad(k, v) }
                    n = parsed
                }
                let names = [
                    "memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin",
                    "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax",
                ]
                props.append(SystemdProperty(names[k] ?? "", .uint64(n)))
            case "pids.max":
                var n = UInt64.max
                if v != "max" {
                    guard let parsed = parseUInt64(v) else { throw bad(k, v) }
                    n = parsed
                }
                props.append(SystemdProperty("TasksMax", .uint64(n == 0 ? 1 : n)))
            default:
                break // memory.oom.group: at creation (oomPolicy); the rest: cgroupfs only.
            }
        }
        return (props, warnings)
    }

    // MARK: text

    static func endsWith(_ s: String, _ suffix: String) -> Bool {
        s.utf8.count >= suffix.utf8.count && s.utf8.reversed().starts(with: suffix.utf8.reversed())
    }

    /// Go's strings.TrimSpace, for ASCII white space.
    static func trim(_ s: String) -> String {
        let b = Array(s.utf8)
        func space(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
        guard let first = b.firstIndex(where: { !space($0) }), let last = b.lastIndex(where: { !space($0) }) else {
            return ""
        }
        return String(decoding: b[first...last], as: UTF8.self)
    }

    /// Go's strconv.ParseUint(s, 10, 64): one or more decimal digits, nothing else.
    static func parseUInt64(_ s: String) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var v: UInt64 = 0
        for c in s.utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }

    /// Go's strconv.ParseInt(s, 10, 64): an optional sign, then digits.
    static func parseInt64(_ s: String) -> Int64? {
        var t = Substring(s)
        var negative = false
        if let f = t.utf8.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-")
            t = t.dropFirst()
        }
        guard let m = parseUInt64(String(t)) else { return nil }
        if negative { return m <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- m) : nil }
        return m <= UInt64(Int64.max) ? Int64(m) : nil
    }
}

/// runc's devices emulator (devices_emulator.go): the state of a v1 devices cgroup built
/// by applying rules in order, so that the result can be said as an allow list. A rule of
/// type "a" resets it to allow-all (allow) or deny-all (deny); any other rule adds or
/// removes permissions of one (type, major, minor) entry, -1 being a wildcard. As in
/// cgroup v1 (and runc, which refuses rather than pretend), an exception cannot be punched
/// into a wildcard entry that has the same permission.
struct DeviceEmulator {
    struct Key: Hashable {
        var type: UInt8 // 'b' or 'c'
        var major: Int64
        var minor: Int64
        var text: String {
            let t = String(decoding: [type], as: UTF8.self)
            return t + " " + (major < 0 ? "*" : Digits.decimal(major)) + ":" + (minor < 0 ? "*" : Digits.decimal(minor))
        }
    }

    var defaultAllow = false
    var rules: [Key: UInt8] = [:]

    static let read: UInt8 = 1, write: UInt8 = 2, mknod: UInt8 = 4

    static func bits(_ access: String?) -> UInt8 {
        var b: UInt8 = 0
        for c in (access ?? "rwm").utf8 {
            switch c {
            case UInt8(ascii: "r"): b |= read
            case UInt8(ascii: "w"): b |= write
            case UInt8(ascii: "m"): b |= mknod
            default: break
            }
        }
        return b
    }

    /// runc's Permissions text: r, w, m in that order.
    static func text(_ b: UInt8) -> String {
        (b & read != 0 ? "r" : "") + (b & write != 0 ? "w" : "") + (b & mknod != 0 ? "m" : "")
    }

    mutating func apply(_ rule: LinuxDeviceCgroup) throws(SwrunError) {
        let type = rule.type ?? "a"
        if type == "a" || type.isEmpty {
            self = DeviceEmulator(defaultAllow: rule.allow, rules: [:])
            return
        }
        guard type == "b" || type == "c" else {
            throw SwrunError.config("invalid cgroup device type \(Quote.short(type))")
        }
        let key = Key(
            type: type.utf8.first ?? 0, major: (rule.major ?? -1) < 0 ? -1 : (rule.major ?? -1),
            minor: (rule.minor ?? -1) < 0 ? -1 : (rule.minor ?? -1))
        let perms = DeviceEmulator.bits(rule.access)
        // An allow in a deny-list, or a deny in an allow-list, removes an exception.
        if rule.allow == defaultAllow {
            try remove(
                key, perms,
                what: rule.allow ? "unable to remove 'deny' exception" : "unable to remove 'allow' exception")
        } else {
            rules[key, default: 0] |= perms
            if rules[key] == 0 { rules[key] = nil }
        }
    }

    mutating func remove(_ key: Key, _ perms: UInt8, what: String) throws(SwrunError) {
        for partial in [
            Key(type: key.type, major: -1, minor: key.minor), Key(type: key.type, major: key.major, minor: -1),
            Key(type: key.type, major: -1, minor: -1),
        ] {
            guard partial != key else { continue }
            let held = rules[partial] ?? 0
            if held & perms != 0 {
                throw SwrunError.config(
                    "\(what): requested rule [\(key.text) \(DeviceEmulator.text(perms))] not supported by devices cgroupv1 (cannot punch hole in existing wildcard rule [\(partial.text) \(DeviceEmulator.text(held))])"
                )
            }
        }
        let left = (rules[key] ?? 0) & ~perms
        rules[key] = left == 0 ? nil : left
    }

    /// The entries sorted by major, minor, then type (runc's orderedEntries; -1 first).
    func sortedRules() -> [(Key, String)] {
        rules.sorted { a, b in
            if a.key.major != b.key.major { return a.key.major < b.key.major }
            if a.key.minor != b.key.minor { return a.key.minor < b.key.minor }
            return a.key.type < b.key.type
        }.map { ($0.key, DeviceEmulator.text($0.value)) }
    }
}
