import CLibseccomp
import CSwrun
import Glibc

/// One argument comparison of a seccomp rule.
public struct SeccompArgCmp: Sendable, Equatable {
    public var index: UInt32
    public var op: UInt32 // SCMP_CMP_* (1 NE .. 7 MASKED_EQ)
    public var a: UInt64
    public var b: UInt64
    public init(index: UInt32, op: UInt32, a: UInt64, b: UInt64) {
        self.index = index
        self.op = op
        self.a = a
        self.b = b
    }
}

public struct SeccompRule: Sendable, Equatable {
    public var syscall: Int32
    public var action: UInt32
    public var args: [SeccompArgCmp]
    public init(syscall: Int32, action: UInt32, args: [SeccompArgCmp]) {
        self.syscall = syscall
        self.action = action
        self.args = args
    }
}

/// libseccomp, used in the parent only: compile rules to classic BPF. The child installs the
/// bytes with seccomp(2) and never calls libseccomp (no allocation, no locks after fork).
public enum SeccompBPF {
    /// BPF_MAXINSNS: the most instructions seccomp(2) accepts in one filter.
    public static let maxInstructions = 4096
    public static let actAllow: UInt32 = 0x7fff_0000
    public static let actKillThread: UInt32 = 0x0000_0000
    public static let actKillProcess: UInt32 = 0x8000_0000
    public static let actTrap: UInt32 = 0x0003_0000
    public static let actLog: UInt32 = 0x7ffc_0000
    public static let actNotify: UInt32 = 0x7fc0_0000
    public static func actErrno(_ e: UInt32) -> UInt32 { swrun_scmp_act_errno(e) }
    public static func actTrace(_ m: UInt32) -> UInt32 { swrun_scmp_act_trace(m) }

    public static func resolveSyscall(_ name: String) -> Int32? {
        let nr = seccomp_syscall_resolve_name(name)
        return nr == __NR_SCMP_ERROR ? nil : nr
    }

    /// The syscall's number on `arch` (a libseccomp token), nil where it has none.
    public static func resolveSyscall(_ name: String, arch: UInt32) -> Int32? {
        let nr = seccomp_syscall_resolve_name_arch(arch, name)
        return nr < 0 ? nil : nr
    }

    public static func resolveArch(_ name: String) -> UInt32? {
        let a = seccomp_arch_resolve_name(name)
        return a == 0 ? nil : a
    }

    public static func compile(defaultAction: UInt32, arches: [UInt32], rules: [SeccompRule]) throws(SyscallError)
        -> [UInt8]
    {
        guard let ctx = seccomp_init(defaultAction) else { throw SyscallError("seccomp_init", nil, errno: EINVAL) }
        defer { seccomp_release(ctx) }
        for arch in arches {
            let rc = seccomp_arch_add(ctx, arch)
            if rc != 0 && rc != -EEXIST { throw SyscallError("seccomp_arch_add", String(arch), errno: -rc) }
        }
        // In the profile's order, as runc and crun add them. The order is not only a matter of
        // speed: on i386, socket-family rules are merged into socketcall(2)'s, and whether a
        // later rule conflicts with an earlier one (EEXIST) depends on what came before. A
        // profile that loads with runc and crun (Podman's default: several `socket` rules with
        // different argument conditions and actions) must load here too.
        for rule in rules {
            var cmps = rule.args.map {
                scmp_arg_cmp(arg: $0.index, op: scmp_compare(rawValue: $0.op), datum_a: $0.a, datum_b: $0.b)
            }
            let rc = seccomp_rule_add_array(ctx, rule.action, rule.syscall, UInt32(cmps.count), &cmps)
            if rc != 0 { throw SyscallError("seccomp_rule_add", "syscall \(rule.syscall)", errno: -rc) }
        }
        var out: UnsafeMutableRawPointer? = nil
        var len = 0
        let rc = swrun_seccomp_export(ctx, &out, &len)
        if rc != 0 { throw SyscallError("seccomp_export_bpf", nil, errno: -rc) }
        defer { free(out) }
        guard let out else { return [] }
        return Array(UnsafeRawBufferPointer(start: out, count: len))
    }

    public static let flagNewListener = SWRUN_SECCOMP_FLAG_NEW_LISTENER

    /// seccomp(SECCOMP_SET_MODE_FILTER): the child's only seccomp call. Returns the notify
    /// listener fd when `flags` asks for one, else nil.
    @discardableResult
    public static func install(_ bpf: [UInt8], flags: UInt32) throws(SyscallError) -> OwnedFD? {
        let r = try check("seccomp") {
            bpf.withUnsafeBytes { swrun_seccomp_install($0.baseAddress!, $0.count / 8, flags) }
        }
        return flags & flagNewListener != 0 ? OwnedFD(r) : nil
    }
}

public enum SeccompInfo {
    /// The linked libseccomp's version, "2.5.4".
    public static var version: String {
        guard let v = seccomp_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
    }

    /// The running kernel's release (uname -r), part of the BPF cache key.
    public static var kernelRelease: String {
        var u = utsname()
        uname(&u)
        return withUnsafePointer(to: u.release) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
    }

    public static let knownArchitectures = [
        "x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel", "mipsel64", "mipsel64n32",
        "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc", "parisc64", "riscv64",
    ]
}
