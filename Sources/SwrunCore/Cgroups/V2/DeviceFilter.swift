import OCISpec

/// cgroup v2 device control: linux.resources.devices compiled to a
/// BPF_PROG_TYPE_CGROUP_DEVICE program. The rules keep their v1 meaning: default deny, and
/// the last matching rule wins, so the program tests them last to first and returns at the
/// first match.
public enum DeviceFilter {
    struct Insn {
        var code: UInt8, dst: UInt8, src: UInt8, off: Int16, imm: Int32
        var bytes: [UInt8] {
            let o = UInt16(bitPattern: off), i = UInt32(bitPattern: imm)
            return [
                code, (src << 4) | dst, UInt8(o & 0xff), UInt8(o >> 8),
                UInt8(i & 0xff), UInt8((i >> 8) & 0xff), UInt8((i >> 16) & 0xff), UInt8(i >> 24),
            ]
        }
    }

    // Opcodes (linux/bpf.h)
    static let ldxw: UInt8 = 0x61 // BPF_LDX | BPF_MEM | BPF_W
    static let and32K: UInt8 = 0x54 // BPF_ALU | BPF_AND | BPF_K
    static let rsh32K: UInt8 = 0x74 // BPF_ALU | BPF_RSH | BPF_K
    static let mov32X: UInt8 = 0xbc // BPF_ALU | BPF_MOV | BPF_X
    static let mov64K: UInt8 = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
    static let jneK: UInt8 = 0x55 // BPF_JMP | BPF_JNE | BPF_K
    static let exit: UInt8 = 0x95

    static func accessBits(_ s: String?) -> Int32 {
        var bits: Int32 = 0
        for c in s ?? "rwm" {
            switch c {
            case "m": bits |= 1 // BPF_DEVCG_ACC_MKNOD
            case "r": bits |= 2 // BPF_DEVCG_ACC_READ
            case "w": bits |= 4 // BPF_DEVCG_ACC_WRITE
            default: break
            }
        }
        return bits == 0 ? 7 : bits
    }

    /// The program for `rules` (spec rules, then runc's defaults).
    public static func program(_ rules: [LinuxDeviceCgroup]) -> [UInt8] {
        // r2 = device type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx)
        var prog: [Insn] = [
            Insn(code: ldxw, dst: 2, src: 1, off: 0, imm: 0),
            Insn(code: and32K, dst: 2, src: 0, off: 0, imm: 0xFFFF),
            Insn(code: ldxw, dst: 3, src: 1, off: 0, imm: 0),
            Insn(code: rsh32K, dst: 3, src: 0, off: 0, imm: 16),
            Insn(code: ldxw, dst: 4, src: 1, off: 4, imm: 0),
            Insn(code: ldxw, dst: 5, src: 1, off: 8, imm: 0),
        ]
        for rule in rules.reversed() {
            var block: [Insn] = []
            var jumps: [Int] = []
            let type = rule.type ?? "a"
            if type == "c" || type == "b" {
                jumps.append(block.count)
                block.append(Insn(code: jneK, dst: 2, src: 0, off: 0, imm: type == "b" ? 1 : 2))
            }
            let access = accessBits(rule.access)
            if access != 7 {
                // The requested access must be a subset of the rule's.
                block.append(Insn(code: mov32X, dst: 1, src: 3, off: 0, imm: 0))
                block.append(Insn(code: and32K, dst: 1, src: 0, off: 0, imm: ~access & 7))
                jumps.append(block.count)
                block.append(Insn(code: jneK, dst: 1, src: 0, off: 0, imm: 0))
            }
            if type != "a", let major = rule.major, major >= 0 {
                jumps.append(block.count)
                block.append(Insn(code: jneK, dst: 4, src: 0, off: 0, imm: Int32(truncatingIfNeeded: major)))
            }
            if type != "a", let minor = rule.minor, minor >= 0 {
                jumps.append(block.count)
                block.append(Insn(code: jneK, dst: 5, src: 0, off: 0, imm: Int32(truncatingIfNeeded: minor)))
            }
            block.append(Insn(code: mov64K, dst: 0, src: 0, off: 0, imm: rule.allow ? 1 : 0))
            block.append(Insn(code: exit, dst: 0, src: 0, off: 0, imm: 0))
            // A failed test skips the rest of this rule's block.
            for j in jumps { block[j].off = Int16(block.count - j - 1) }
            prog += block
            // A rule that matches everything ends the program: the verifier rejects
            // unreachable instructions, and earlier rules could never decide.
            if jumps.isEmpty { return prog.flatMap { $0.bytes } }
        }
        prog.append(Insn(code: mov64K, dst: 0, src: 0, off: 0, imm: 0))
        prog.append(Insn(code: exit, dst: 0, src: 0, off: 0, imm: 0))
        return prog.flatMap { $0.bytes }
    }

    /// The full rule list swrun enforces: the spec's, then runc's default allow list
    /// (never the config's device nodes: linux.devices does not widen the policy).
    public static func rules(_ spec: [LinuxDeviceCgroup]) -> [LinuxDeviceCgroup] {
        spec + DefaultDeviceRules.rules
    }
}
