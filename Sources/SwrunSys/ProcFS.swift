import CSwrun
import Glibc

public enum ProcFS {
    /// Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot. Together with
    /// the pid it names one process for its whole life (pids are reused; start times are not).
    public static func startTime(of pid: Int32) -> UInt64? {
        stat(of: pid).flatMap { fields(stat: $0)?.startTime }
    }

    /// True if `pid` is the same live, non-zombie process that started at `startTime`
    /// (one read of /proc/<pid>/stat).
    public static func isSameLiveProcess(pid: Int32, startTime: UInt64) -> Bool {
        guard pid > 0, let b = stat(of: pid) else { return false }
        return liveState(stat: b, startTime: startTime) != nil
    }

    /// The text of /proc/<pid>/stat; nil if there is no such process.
    static func stat(of pid: Int32) -> [UInt8]? {
        try? Files.readSmall("/proc/" + Digits.decimal(pid) + "/stat")
    }

    /// The state letter (field 3) of a /proc/<pid>/stat text if it is that of a live,
    /// non-zombie process that started at `startTime`; nil otherwise.
    public static func liveState(stat b: [UInt8], startTime: UInt64) -> UInt8? {
        guard let f = fields(stat: b), f.state != UInt8(ascii: "Z"), f.startTime == startTime else { return nil }
        return f.state
    }

    /// Fields 3 (state) and 22 (start time) of a /proc/<pid>/stat text, read as bytes: every
    /// create, start and `list` asks this, and Character-wise String scanning cost ~100 times
    /// more here. nil if the text is not a stat line.
    static func fields(stat b: [UInt8]) -> (state: UInt8, startTime: UInt64)? {
        // The command name (field 2) may hold spaces and parentheses: start after the last ')'.
        guard let close = b.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After ") ": field 3 (state) is the first word, field 22 (start time) the 20th.
        var i = close + 1, field = 0
        while i < b.count, b[i] == UInt8(ascii: " ") { i += 1 }
        guard i < b.count else { return nil }
        let state = b[i]
        while i < b.count, field < 19 {
            if b[i] == UInt8(ascii: " ") { field += 1 }
            i += 1
        }
        guard field == 19, i < b.count else { return nil }
        var v: UInt64 = 0, digits = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            v = v &* 10 &+ UInt64(b[i] - 0x30)
            digits += 1
            i += 1
        }
        return digits > 0 ? (state, v) : nil
    }

    public static let procSuperMagic: Int = 0x9fa0

    /// Opens /proc as an O_PATH directory and verifies it is a real procfs (a container or a
    /// racing mount must not be able to substitute another filesystem for it).
    public static func openVerified(_ path: String = "/proc") throws(SyscallError) -> OwnedFD {
        let fd = try Files.open(path, OpenFlags.path | Glibc.O_DIRECTORY)
        let type = try check("statfs", path) { swrun_fstatfs_type(fd.raw) }
        if type != procSuperMagic {
            throw SyscallError("\(path) is not procfs", nil, errno: EINVAL)
        }
        return fd
    }
}

/// Trims ASCII whitespace (no Foundation in the runtime targets), by bytes: a Character
/// walk runs the standard library's grapheme-breaking code for kernel files.
public func trimWhitespace(_ s: String) -> String { trimWhitespace(Substring(s)) }

public func trimWhitespace(_ s: Substring) -> String {
    func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }
    let u = s.utf8
    var start = u.startIndex, end = u.endIndex
    while start < end, space(u[start]) { u.formIndex(after: &start) }
    while start < end {
        let last = u.index(before: end)
        guard space(u[last]) else { break }
        end = last
    }
    return String(s[start..<end])
}
