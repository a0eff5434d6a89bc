/// Capability names and numbers (linux/capability.h). Unknown names are configuration errors:
/// a silently dropped capability is a container that behaves differently than asked.
public enum CapabilityNames {
    public static let all: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    public static func number(_ name: String) -> Int? {
        // ASCII upper case by bytes (names are ASCII; uppercased() takes the Unicode path).
        let upper = String(decoding: name.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
        let full = upper.startsWithBytes("CAP_") ? upper : "CAP_" + upper
        return all.firstIndex(of: full)
    }

    /// A mask from names; `field` names the config field in the error.
    public static func mask(_ names: [String]?, field: String) throws(SwrunError) -> UInt64 {
        var m: UInt64 = 0
        for n in names ?? [] {
            guard let bit = number(n) else { throw SwrunError.config("\(field): unknown capability \(Quote.short(n))") }
            m |= 1 << UInt64(bit)
        }
        return m
    }
}

/// RLIMIT_* names, as the spec spells them.
public enum RlimitNames {
    /// The number of an RLIMIT_* name: a switch (the dictionary below is for listing; built
    /// on the start path it mapped the standard library's dictionary code).
    public static func number(_ name: String) -> Int32? {
        switch name {
        case "RLIMIT_CPU": return 0
        case "RLIMIT_FSIZE": return 1
        case "RLIMIT_DATA": return 2
        case "RLIMIT_STACK": return 3
        case "RLIMIT_CORE": return 4
        case "RLIMIT_RSS": return 5
        case "RLIMIT_NPROC": return 6
        case "RLIMIT_NOFILE": return 7
        case "RLIMIT_MEMLOCK": return 8
        case "RLIMIT_AS": return 9
        case "RLIMIT_LOCKS": return 10
        case "RLIMIT_SIGPENDING": return 11
        case "RLIMIT_MSGQUEUE": return 12
        case "RLIMIT_NICE": return 13
        case "RLIMIT_RTPRIO": return 14
        case "RLIMIT_RTTIME": return 15
        default: return nil
        }
    }

    public static let all: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]
}
