import CLibcap
import CSwrun
import Glibc

public enum Prctl {
    public static func setPdeathsig(_ sig: Int32) throws(SyscallError) {
        _ = try check("prctl(PR_SET_PDEATHSIG)") { swrun_prctl(SWRUN_PR_SET_PDEATHSIG, UInt(sig), 0, 0, 0) }
    }

    public static func setDumpable(_ on: Bool) throws(SyscallError) {
        _ = try check("prctl(PR_SET_DUMPABLE)") { swrun_prctl(SWRUN_PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0) }
    }

    public static func setKeepCaps(_ on: Bool) throws(SyscallError) {
        _ = try check("prctl(PR_SET_KEEPCAPS)") { swrun_prctl(SWRUN_PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) }
    }

    public static func setNoNewPrivs() throws(SyscallError) {
        _ = try check("prctl(PR_SET_NO_NEW_PRIVS)") { swrun_prctl(SWRUN_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }
    }

    public static func setChildSubreaper() throws(SyscallError) {
        _ = try check("prctl(PR_SET_CHILD_SUBREAPER)") { swrun_prctl(SWRUN_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
    }
}

/// Capability sets as bit masks (bit n = capability number n).
public struct CapabilityMasks: Sendable, Equatable {
    public var bounding: UInt64 = 0
    public var effective: UInt64 = 0
    public var permitted: UInt64 = 0
    public var inheritable: UInt64 = 0
    public var ambient: UInt64 = 0
    public init() {}
}

public enum Capabilities {
    /// /proc/sys/kernel/cap_last_cap.
    public static func lastCap() -> Int {
        guard let s = try? Files.readString("/proc/sys/kernel/cap_last_cap"),
            let n = Int(trimWhitespace(s))
        else { return 40 }
        return n
    }

    /// Drops every capability not in `keep` from the bounding set.
    public static func limitBounding(to keep: UInt64, lastCap: Int) throws(SyscallError) {
        for cap in 0...lastCap where keep & (1 << UInt64(cap)) == 0 {
            if cap_drop_bound(cap_value_t(cap)) != 0 {
                // A capability the kernel does not have in our bounding set is already dropped.
                if errno == EINVAL { continue }
                throw SyscallError("drop capability \(cap) from bounding set", nil, errno: errno)
            }
        }
    }

    /// Sets effective, permitted and inheritable with cap_set_proc (libcap).
    public static func setProcess(_ m: CapabilityMasks, lastCap: Int) throws(SyscallError) {
        guard let caps = cap_init() else { throw SyscallError("cap_init", nil, errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        for cap in 0...lastCap {
            var v = cap_value_t(cap)
            let bit = UInt64(1) << UInt64(cap)
            if m.effective & bit != 0 { cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) }
            if m.permitted & bit != 0 { cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) }
            if m.inheritable & bit != 0 { cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET) }
        }
        _ = try check("capset") { cap_set_proc(caps) }
    }

    public static func setAmbient(_ mask: UInt64, lastCap: Int) throws(SyscallError) {
        // One PR_CAP_AMBIENT_CLEAR_ALL (libcap's cap_reset_ambient asks every capability first).
        if swrun_prctl(SWRUN_PR_CAP_AMBIENT, SWRUN_PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL {
            throw SyscallError("reset ambient capabilities", nil, errno: errno)
        }
        for cap in 0...lastCap where mask & (1 << UInt64(cap)) != 0 {
            _ = try check("raise ambient capability \(cap)") { cap_set_ambient(cap_value_t(cap), CAP_SET) }
        }
    }
}

public enum Creds {
    public static func setgroups(_ gids: [UInt32]) throws(SyscallError) {
        _ = try check("setgroups") { Glibc.setgroups(gids.count, gids) }
    }

    public static func setresgid(_ gid: UInt32) throws(SyscallError) {
        _ = try check("setresgid", String(gid)) { swrun_setresgid(gid) }
    }

    public static func setresuid(_ uid: UInt32) throws(SyscallError) {
        _ = try check("setresuid", String(uid)) { swrun_setresuid(uid) }
    }

    public static func getuid() -> UInt32 { Glibc.getuid() }
    public static func geteuid() -> UInt32 { Glibc.geteuid() }
    public static func getegid() -> UInt32 { Glibc.getegid() }
}

public enum Rlimits {
    public static func set(_ resource: Int32, soft: UInt64, hard: UInt64) -> Int32 {
        var lim = rlimit(rlim_cur: rlim_t(soft), rlim_max: rlim_t(hard))
        // __rlimit_resource_t is an enum in glibc's headers.
        return setrlimit(__rlimit_resource_t(UInt32(resource)), &lim) == 0 ? 0 : errno
    }

    /// This process's soft limit of `resource` (nil if unlimited or unknown).
    public static func soft(_ resource: Int32) -> UInt64? {
        var lim = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(resource)), &lim) == 0, lim.rlim_cur != rlim_t.max else {
            return nil
        }
        return UInt64(lim.rlim_cur)
    }

    /// sysconf(_SC_ARG_MAX): what execve(2) takes in arguments and environment together.
    public static var argMax: Int { max(131_072, sysconf(Int32(_SC_ARG_MAX))) }

    /// prlimit(2) on another process.
    public static func set(pid: Int32, _ resource: Int32, soft: UInt64, hard: UInt64) -> Int32 {
        swrun_prlimit(pid, resource, soft, hard) == 0 ? 0 : errno
    }
}

/// Scheduling, I/O priority and execution domain of the calling process.
public enum Sched {
    public static func setAttr(
        policy: UInt32, flags: UInt64, nice: Int32, priority: UInt32, runtime: UInt64, deadline: UInt64, period: UInt64
    ) throws(SyscallError) {
        _ = try check("sched_setattr") { swrun_sched_setattr(policy, flags, nice, priority, runtime, deadline, period) }
    }

    public static func setIOPriority(_ value: Int32) throws(SyscallError) {
        _ = try check("ioprio_set") { swrun_ioprio_set(value) }
    }

    public static func setAffinity(_ cpus: [Int32]) throws(SyscallError) {
        _ = try check("sched_setaffinity") {
            cpus.withUnsafeBufferPointer { swrun_set_affinity($0.baseAddress!, $0.count) }
        }
    }

    public static func setPersonality(_ persona: UInt) throws(SyscallError) {
        _ = try check("personality") { swrun_personality(persona) }
    }
}
