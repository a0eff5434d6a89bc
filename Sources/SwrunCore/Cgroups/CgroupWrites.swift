import SwrunSys
import OCISpec

/// One file write into a cgroup directory. Resource application is split into a pure part
/// (resources -> [CgroupWrite], unit-tested on every field) and the writing itself.
public struct CgroupWrite: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var value: String
    public init(_ file: String, _ value: String) {
        self.file = file
        self.value = value
    }
    public var description: String { "\(file)=\(value)" }
}

/// The files whose names and values are the same on cgroup v1 and v2.
public enum SharedCgroupWrites {
    public static func cpuset(_ c: LinuxCPU?) -> [CgroupWrite] {
        guard let c else { return [] }
        var w: [CgroupWrite] = []
        if let s = c.cpus, !s.isEmpty { w.append(CgroupWrite("cpuset.cpus", s)) }
        if let s = c.mems, !s.isEmpty { w.append(CgroupWrite("cpuset.mems", s)) }
        return w
    }

    /// 0 leaves the limit unchanged, as runc; -1 (or less) is "max".
    public static func pids(_ p: LinuxPids?) -> [CgroupWrite] {
        guard let p, p.limit != 0 else { return [] }
        return [CgroupWrite("pids.max", CgroupConversions.pids(p.limit))]
    }
}

/// The device rules every container gets after its own (runc's AllowedDevices): mknod of
/// anything, and use of null, zero, full, random, urandom, tty, ptmx, the ptys and
/// /dev/net/tun. What runc leaves in devices.list.
enum DefaultDeviceRules {
    static let rules: [LinuxDeviceCgroup] = [
        ("c", nil, nil, "m"), ("b", nil, nil, "m"),
        ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"), ("c", 1, 5, "rwm"),
        ("c", 1, 9, "rwm"),
        ("c", 136, nil, "rwm"), ("c", 5, 2, "rwm"), ("c", 10, 200, "rwm"),
    ].map { LinuxDeviceCgroup(allow: true, type: $0.0, major: $0.1, minor: $0.2, access: $0.3) }
}

extension LinuxDeviceCgroup {
    /// "c 1:3 rwm", with * for wildcards, as the v1 devices files take it.
    var v1Rule: String {
        let t = (type ?? "a").isEmpty ? "a" : (type ?? "a")
        if t == "a" { return "a" }
        // Absent or -1: any (runc's wildcard).
        let maj = major.flatMap { $0 < 0 ? nil : Digits.decimal($0) } ?? "*"
        let min = minor.flatMap { $0 < 0 ? nil : Digits.decimal($0) } ?? "*"
        return "\(t) \(maj):\(min) \(access ?? "rwm")"
    }
}
