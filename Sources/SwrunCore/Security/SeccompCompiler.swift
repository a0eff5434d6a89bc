import OCISpec
import SwrunSys

/// linux.seccomp -> BPF, in the parent. Names are mapped here; libseccomp does the codegen.
public enum SeccompCompiler {
    public struct Compiled: Sendable {
        public var bpf: [UInt8]
        public var flags: UInt32
        /// SCMP_ACT_NOTIFY rules: the listener fd goes to listenerPath.
        public var notify = false
    }

    static let ops: [String: UInt32] = [
        "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
        "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
    ]

    static let flagBits: [String: UInt32] = [
        "SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
    ]

    static func action(_ name: String, errnoRet: UInt32?, defaultErrno: UInt32, field: String) throws(SwrunError)
        -> UInt32
    {
        switch name {
        case "SCMP_ACT_ALLOW": return SeccompBPF.actAllow
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return SeccompBPF.actKillThread
        case "SCMP_ACT_KILL_PROCESS": return SeccompBPF.actKillProcess
        case "SCMP_ACT_TRAP": return SeccompBPF.actTrap
        case "SCMP_ACT_LOG": return SeccompBPF.actLog
        case "SCMP_ACT_ERRNO": return SeccompBPF.actErrno(errnoRet ?? defaultErrno)
        case "SCMP_ACT_TRACE": return SeccompBPF.actTrace(errnoRet ?? defaultErrno)
        case "SCMP_ACT_NOTIFY": return SeccompBPF.actNotify
        default: throw SwrunError.config("\(field): unknown seccomp action \(Quote.short(name))")
        }
    }

    public static func compile(_ s: LinuxSeccomp, cacheDir: String? = nil) throws(SwrunError) -> Compiled {
        let defAction = try action(
            s.defaultAction, errnoRet: s.defaultErrnoRet, defaultErrno: 1, field: "linux.seccomp.defaultAction")
        var arches: [UInt32] = []
        for (i, a) in (s.architectures ?? []).enumerated() {
            let name = a.startsWithBytes("SCMP_ARCH_") ? String(a.dropFirst(10)).lowercased() : a.lowercased()
            guard let v = SeccompBPF.resolveArch(name) else {
                throw SwrunError.config("linux.seccomp.architectures[\(i)]: unknown architecture \(Quote.short(a))")
            }
            arches.append(v)
        }
        var flags: UInt32 = 0
        for (i, f) in (s.flags ?? []).enumerated() {
            guard let bit = flagBits[f] else {
                throw SwrunError.config("linux.seccomp.flags[\(i)]: unknown flag \(Quote.short(f))")
            }
            flags |= bit
        }
        var rules: [SeccompRule] = []
        var named: [String] = []
        // As runc: the runtime's own syscalls after the filter is in (the state write to a
        // startContainer hook, the init's last steps) must never wait on the user's agent.
        if s.defaultAction == "SCMP_ACT_NOTIFY" {
            throw SwrunError.config("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action")
        }
        for (i, sc) in (s.syscalls ?? []).enumerated()
        where sc.action == "SCMP_ACT_NOTIFY" && sc.names.contains("write") {
            throw SwrunError.config(
                "linux.seccomp.syscalls[\(i)]: SCMP_ACT_NOTIFY cannot be used for the write syscall")
        }
        let notify = (s.syscalls ?? []).contains { $0.action == "SCMP_ACT_NOTIFY" }
        if notify {
            guard let path = s.listenerPath, path.startsWithBytes("/") else {
                throw SwrunError.config("linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs an absolute listenerPath")
            }
            flags |= SeccompBPF.flagNewListener
        }
        for (i, sc) in (s.syscalls ?? []).enumerated() {
            let field = "linux.seccomp.syscalls[\(i)]"
            let act = try action(sc.action, errnoRet: sc.errnoRet, defaultErrno: 1, field: field + ".action")
            var cmps: [SeccompArgCmp] = []
            for (j, arg) in (sc.args ?? []).enumerated() {
                guard let op = ops[arg.op] else {
                    throw SwrunError.config("\(field).args[\(j)].op: unknown operator \(Quote.short(arg.op))")
                }
                guard arg.index < 6 else {
                    throw SwrunError.config("\(field).args[\(j)].index: \(arg.index) is out of range 0..5")
                }
                cmps.append(SeccompArgCmp(index: arg.index, op: op, a: arg.value, b: arg.valueTwo ?? 0))
            }
            // A rule with the default action is a no-op, and libseccomp rejects it: dropped,
            // after it has been checked like any other.
            if act == defAction { continue }
            // Several comparisons on one argument cannot be one rule: runc adds one rule each.
            let indices = cmps.map { $0.index }
            let split = Set(indices).count != indices.count
            for name in sc.names {
                // Names unknown to libseccomp (newer or other-arch syscalls) are skipped, as runc does.
                guard let nr = SeccompBPF.resolveSyscall(name) else {
                    Log.debug("seccomp: skipping unknown syscall \(name)")
                    continue
                }
                named.append(name)
                if split {
                    for c in cmps { rules.append(SeccompRule(syscall: nr, action: act, args: [c])) }
                } else {
                    rules.append(SeccompRule(syscall: nr, action: act, args: cmps))
                }
            }
        }
        // The kernel takes at most 4096 instructions, and every rule costs at least one per
        // architecture: a profile past that cannot load, and libseccomp would spend minutes
        // finding out. Refused before compiling.
        // (A lower bound: the native architecture may or may not be among those listed.)
        let archCount = max(1, Set(arches).count)
        if rules.count * archCount > SeccompBPF.maxInstructions {
            throw SwrunError.config(
                "linux.seccomp: \(rules.count) rules for \(archCount) architecture(s) cannot fit the kernel's limit of \(SeccompBPF.maxInstructions) filter instructions"
            )
        }
        let key = SeccompCache.describe(defaultAction: defAction, arches: arches, rules: rules)
        if let cacheDir, let bpf = SeccompCache.load(cacheDir, key) {
            return Compiled(bpf: bpf, flags: flags, notify: notify)
        }
        var bpf = try sys("compile seccomp profile") {
            try SeccompBPF.compile(defaultAction: defAction, arches: arches, rules: rules)
        }
        // The highest number the profile names on each ABI the filter admits.
        let inFilter = { (a: UInt32) in arches.contains(a) }
        let maxOn = { (arch: UInt32) -> Int32? in named.compactMap { SeccompBPF.resolveSyscall($0, arch: arch) }.max() }
        bpf =
            NewerSyscalls.stub(
                defaultAction: defAction, maxNative: rules.map { $0.syscall }.max(),
                maxX32: inFilter(NewerSyscalls.scmpX32) ? maxOn(NewerSyscalls.scmpX32) : nil,
                maxI386: inFilter(NewerSyscalls.scmpX86) ? maxOn(NewerSyscalls.scmpX86) : nil) + bpf
        guard bpf.count / 8 <= SeccompBPF.maxInstructions else {
            throw SwrunError.config(
                "linux.seccomp: the compiled filter has \(bpf.count / 8) instructions, more than the kernel's limit of \(SeccompBPF.maxInstructions)"
            )
        }
        if let cacheDir { SeccompCache.store(cacheDir, key, bpf) }
        return Compiled(bpf: bpf, flags: flags, notify: notify)
    }
}

/// Compiled filters, cached under `<root>/.cache/seccomp` (crun does the same): a 3-arch
/// docker-style profile costs ~7 ms in libseccomp. The file name is a hash of the exact
/// compiler input (rules after name resolution, default action, architectures) plus the
/// libseccomp version and kernel release; the file also holds that input, compared byte for
/// byte on load, so a hash collision can never hand a container another profile's filter.
enum SeccompCache {
    static func describe(defaultAction: UInt32, arches: [UInt32], rules: [SeccompRule]) -> [UInt8] {
        var d = Array("swrun-bpf-3 libseccomp \(SeccompInfo.version) kernel \(SeccompInfo.kernelRelease)\n".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d += $0 } }
        u32(defaultAction)
        u32(UInt32(arches.count))
        arches.forEach(u32)
        u32(UInt32(rules.count))
        for r in rules {
            u32(UInt32(bitPattern: r.syscall))
            u32(r.action)
            u32(UInt32(r.args.count))
            for a in r.args { u32(a.index); u32(a.op); u64(a.a); u64(a.b) }
        }
        return d
    }

    static func fnv1a(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        var h = seed
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }

    static func path(_ dir: String, _ key: [UInt8]) -> String {
        let a = String(fnv1a(key, seed: 0xcbf29ce484222325), radix: 16)
        let b = String(fnv1a(key, seed: 0x84222325cbf29ce4), radix: 16)
        return dir + "/" + a + b + ".bpf"
    }

    static func load(_ dir: String, _ key: [UInt8]) -> [UInt8]? {
        guard let bytes = try? Files.readFile(path(dir, key)), bytes.count >= 4 else { return nil }
        let n = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard bytes.count >= 4 + n, Array(bytes[4..<(4 + n)]) == key else { return nil }
        let bpf = Array(bytes[(4 + n)...])
        guard !bpf.isEmpty, bpf.count % 8 == 0 else { return nil }
        Log.debug("seccomp: filter from cache")
        return bpf
    }

    /// Best effort: a cache that cannot be written only costs the next start a compile.
    static func store(_ dir: String, _ key: [UInt8], _ bpf: [UInt8]) {
        let n = UInt32(key.count)
        let header: [UInt8] = [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), UInt8(n >> 24)]
        _ = try? Files.mkdirAll(dir, mode: 0o700)
        try? Files.writeAtomic(path(dir, key), header + key + bpf, mode: 0o600, uniqueTemp: true)
    }
}

/// Syscalls newer than the profile get ENOSYS, not the default action (runc's patchbpf): a
/// profile written before a syscall existed cannot mention it, and glibc falls back to an
/// older syscall only on ENOSYS (EPERM would break, say, clone3 or openat2 users). A short
/// classic-BPF stub is put before libseccomp's program: for each ABI the profile admits
/// (x86_64, x32, i386), a number above the highest one the profile names on that ABI returns
/// ENOSYS; everything else falls through.
enum NewerSyscalls {
    static let auditArchX86_64: UInt32 = 0xC000_003E
    static let auditArchI386: UInt32 = 0x4000_0003
    static let x32Bit: UInt32 = 0x4000_0000
    static let retErrnoENOSYS: UInt32 = 0x0005_0000 | 38
    /// libseccomp's tokens for the other two ABIs (SCMP_ARCH_X86, SCMP_ARCH_X32).
    static let scmpX86: UInt32 = 0x4000_0003
    static let scmpX32: UInt32 = 0x4000_003E

    static func insn(_ code: UInt16, _ jt: UInt8, _ jf: UInt8, _ k: UInt32) -> [UInt8] {
        [
            UInt8(code & 0xff), UInt8(code >> 8), jt, jf, UInt8(k & 0xff), UInt8((k >> 8) & 0xff),
            UInt8((k >> 16) & 0xff), UInt8(k >> 24),
        ]
    }

    /// Empty when the default action already allows (or only logs/traces) everything. An ABI
    /// without a maximum compares against 0xFFFFFFFF, which nothing exceeds.
    static func stub(defaultAction: UInt32, maxNative: Int32?, maxX32: Int32? = nil, maxI386: Int32? = nil) -> [UInt8] {
        let allowLike =
            [SeccompBPF.actAllow, SeccompBPF.actLog].contains(defaultAction)
            || defaultAction & 0xFFFF_0000 == SeccompBPF.actTrace(0)
        guard !allowLike, maxNative != nil || maxX32 != nil || maxI386 != nil else { return [] }
        let ldAbs: UInt16 = 0x20, jeq: UInt16 = 0x15, jgt: UInt16 = 0x25, jset: UInt16 = 0x45, ret: UInt16 = 0x06
        let none: UInt32 = 0xFFFF_FFFF
        let max64 = maxNative.map { UInt32($0) } ?? none
        let maxX = maxX32.map { UInt32($0) | x32Bit } ?? none
        let max32 = maxI386.map { UInt32($0) } ?? none
        // Jumps are relative to the next instruction; END is the first instruction after
        // the stub (index 10), ENOSYS is index 9.
        return insn(ldAbs, 0, 0, 4) // 0: A = arch
            + insn(jeq, 1, 0, auditArchX86_64) // 1: x86_64 -> 3
            + insn(jeq, 4, 7, auditArchI386) // 2: i386 -> 7, other -> END
            + insn(ldAbs, 0, 0, 0) // 3: A = nr
            + insn(jset, 1, 0, x32Bit) // 4: x32 -> 6
            + insn(jgt, 3, 4, max64) // 5: native: > max -> ENOSYS, else END
            + insn(jgt, 2, 3, maxX) // 6: x32: > max -> ENOSYS, else END
            + insn(ldAbs, 0, 0, 0) // 7: A = nr (i386)
            + insn(jgt, 0, 1, max32) // 8: > max -> ENOSYS, else END
            + insn(ret, 0, 0, retErrnoENOSYS) // 9: ENOSYS
    }
}
