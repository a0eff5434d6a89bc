import CSwrun
import Glibc

public enum DeviceFilterBPF {
    /// Loads and attaches a cgroup device program (8-byte struct bpf_insn each).
    public static func attach(_ insns: [UInt8], cgroupDir: String, replacing: Bool = false) throws(SyscallError) {
        let dir = try Files.open(cgroupDir, O_RDONLY | O_DIRECTORY)
        var log = [CChar](repeating: 0, count: 4096)
        let fd = insns.withUnsafeBytes {
            swrun_bpf_attach_device_filter($0.baseAddress!, $0.count / 8, dir.raw, &log, 4096)
        }
        if fd < 0 {
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw SyscallError(
                "load device filter" + (text.isEmpty ? "" : " (\(text.split(separator: "\n").last ?? ""))"), cgroupDir,
                errno: errno)
        }
        defer { Glibc.close(fd) } // the attachment keeps the program alive
        if replacing {
            _ = try check("replace device filter", cgroupDir) { swrun_bpf_detach_other_device_filters(dir.raw, fd) }
        }
    }
}
