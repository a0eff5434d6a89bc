/// runc's conversions between the spec's (cgroup v1 shaped) values and cgroup v2 files.
/// Each function names the runc code whose behaviour it copies.
public enum CgroupConversions {
    /// runc cgroups.ConvertCPUSharesToCgroupV2Value: [2, 262144] -> [1, 10000]; 0 = unset.
    /// Shares outside the kernel's [2, 262144] clamp to the ends, as runc (1.1.9+) and the
    /// kernel do, so no input overflows.
    public static func cpuWeight(shares: UInt64) -> UInt64 {
        if shares == 0 { return 0 }
        if shares <= 2 { return 1 }
        if shares >= 262144 { return 10000 }
        return 1 + ((shares - 2) * 9999) / 262142
    }

    /// runc cgroups.ConvertBlkIOToIOWeightValue: [10, 1000] -> [1, 10000]; 0 = unset.
    /// Values outside [10, 1000] (refused by ResourceCheck) clamp to the ends here.
    public static func ioWeight(blkio: UInt16) -> UInt64 {
        if blkio == 0 { return 0 }
        let w = UInt64(min(max(blkio, 10), 1000))
        return 1 + (w - 10) * 9999 / 990
    }

    /// runc cgroups.ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap (v1's
    /// memsw); v2's memory.swap.max is swap alone. -1 stays "max"; 0 means unset.
    public static func swapMax(swap: Int64, memory: Int64) throws(SwrunError) -> String? {
        if swap == 0 { return nil }
        if swap == -1 { return "max" }
        if memory == -1 || memory == 0 {
            throw SwrunError.config("linux.resources.memory.swap: setting swap requires memory.limit")
        }
        if swap < memory {
            throw SwrunError.config("linux.resources.memory.swap: \(swap) is less than memory.limit \(memory)")
        }
        return String(swap - memory)
    }

    /// "max" for -1 (unlimited), the number otherwise.
    public static func limit(_ v: Int64) -> String { v < 0 ? "max" : String(v) }

    /// runc: pids limit 0 or -1 means unlimited.
    public static func pids(_ v: Int64) -> String { v <= 0 ? "max" : String(v) }
}
