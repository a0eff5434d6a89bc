import OCISpec

/// linux.resources checked before a cgroup is made or a file written: values the kernel
/// would take in a way the config does not mean (a device number cut to 32 bits, a weight
/// that converts to nonsense), names that would leave the cgroup directory, and settings
/// this host's hierarchy cannot hold. Shared by create and `update`.
enum ResourceCheck {
    static func validate(_ r: LinuxResources?, layout: CgroupLayout, field: String = "linux.resources")
        throws(SwrunError)
    {
        guard let r else { return }
        try Unsupported.resources(r, field: field)
        // The field's name is built only for an error (an integer's description and an
        // interpolation per rule are off the start path).
        for (i, d) in (r.devices ?? []).enumerated() { try device(d, field: "\(field).devices[\(i)]") }
        if let b = r.blockIO { try blockIO(b, field: field + ".blockIO") }
        for (i, h) in (r.hugepageLimits ?? []).enumerated() where !validPageSize(h.pageSize) {
            throw SwrunError.config(
                "\(field).hugepageLimits[\(i)].pageSize: \(Quote.short(h.pageSize)) is not a page size (such as 2MB or 1GB)"
            )
        }
        if let u = r.unified, !u.isEmpty {
            // runc and crun: the unified map is cgroup v2's; a v1 (or hybrid) container has no
            // single directory it could be written to.
            guard layout.isPureV2 else {
                throw SwrunError.config("\(field).unified: invalid configuration: cannot use unified on cgroup v1")
            }
            for key in u.keys.sorted() { try unifiedKey(key, field: field) }
        }
    }

    /// A device rule: type a, b or c; access one or more of r, w, m; major and minor a
    /// 32-bit device number or -1 (or absent) for "any".
    static func device(_ d: LinuxDeviceCgroup, field: @autoclosure () -> String) throws(SwrunError) {
        switch d.type ?? "a" {
        case "a", "b", "c", "": break
        default: throw SwrunError.config("\(field()).type: \(Quote.short(d.type ?? "")) is not a, b or c")
        }
        if let access = d.access {
            guard !access.isEmpty,
                access.utf8.allSatisfy({ $0 == UInt8(ascii: "r") || $0 == UInt8(ascii: "w") || $0 == UInt8(ascii: "m") }
                )
            else {
                throw SwrunError.config("\(field()).access: \(Quote.short(access)) must be one or more of r, w and m")
            }
        }
        // Two checks, not a loop over an array of tuples (tuple metadata at run time).
        func number(_ v: Int64?, _ name: String) throws(SwrunError) {
            if let v, v < -1 || v > Int64(UInt32.max) {
                throw SwrunError.config("\(field()).\(name): \(v) is out of range (-1 for any, or 0 to \(UInt32.max))")
            }
        }
        try number(d.major, "major")
        try number(d.minor, "minor")
    }

    /// Weights as the blkio controller takes them: 10 to 1000 (0 leaves them unset).
    static func blockIO(_ b: LinuxBlockIO, field: String) throws(SwrunError) {
        func weight(_ w: UInt16?, _ name: String) throws(SwrunError) {
            if let w, w != 0, !(10...1000).contains(w) {
                throw SwrunError.config("\(field).\(name): \(w) is out of range (10 to 1000)")
            }
        }
        try weight(b.weight, "weight")
        try weight(b.leafWeight, "leafWeight")
        for (i, d) in (b.weightDevice ?? []).enumerated() {
            try weight(d.weight, "weightDevice[\(i)].weight")
            try weight(d.leafWeight, "weightDevice[\(i)].leafWeight")
        }
        let throttles = [
            b.throttleReadBpsDevice, b.throttleWriteBpsDevice, b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice,
        ]
        for list in throttles {
            for d in list ?? []
            where d.major < 0 || d.minor < 0 || d.major > Int64(UInt32.max) || d.minor > Int64(UInt32.max) {
                throw SwrunError.config("\(field): device \(d.major):\(d.minor) is out of range")
            }
        }
        for (i, d) in (b.weightDevice ?? []).enumerated()
        where d.major < 0 || d.minor < 0 || d.major > Int64(UInt32.max) || d.minor > Int64(UInt32.max) {
            throw SwrunError.config("\(field).weightDevice[\(i)]: device \(d.major):\(d.minor) is out of range")
        }
    }

    /// "2MB", "1GB", "64KB": digits then KB, MB, GB (the hugetlb file names' part).
    static func validPageSize(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 3, b.count <= 12, b[b.count - 1] == UInt8(ascii: "B"),
            [UInt8(ascii: "K"), UInt8(ascii: "M"), UInt8(ascii: "G"), UInt8(ascii: "T")].contains(b[b.count - 2])
        else { return false }
        return b.dropLast(2).allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// A unified key names one interface file of the container's own cgroup. The cgroup.*
    /// core files that move processes or reshape the tree (cgroup.procs, cgroup.threads,
    /// cgroup.subtree_control, cgroup.type) and the ones the runtime drives itself
    /// (cgroup.freeze, cgroup.kill) are refused: a config that writes a host pid into
    /// cgroup.procs would move that process into the container, where `delete --force`
    /// kills it. Of the core files only the limits are allowed.
    static func unifiedKey(_ key: String, field: String) throws(SwrunError) {
        let name = "\(field).unified[\(Quote.short(key))]"
        guard !key.isEmpty, !key.utf8.contains(UInt8(ascii: "/")), key != ".", key != "..",
            key.utf8.contains(UInt8(ascii: "."))
        else {
            throw SwrunError.config("\(name): not a cgroup interface file name")
        }
        if key.startsWithBytes("cgroup.") {
            switch key {
            case "cgroup.max.depth", "cgroup.max.descendants": return
            default: throw SwrunError.config("\(name): a cgroup core file that the container's config may not write")
            }
        }
    }
}

/// Input values quoted for an error message, cut to a few hundred bytes: an error line must
/// stay readable (and fit a log line) whatever the config holds.
public enum Quote {
    public static let limit = 200

    public static func short(_ s: String) -> String {
        let u = s.utf8
        if u.count <= limit { return JSON.quoted(s) }
        var end = u.index(u.startIndex, offsetBy: limit)
        // Never cut inside a UTF-8 sequence.
        while end > u.startIndex, u[end] & 0xC0 == 0x80 { end = u.index(before: end) }
        return JSON.quoted(String(decoding: u[u.startIndex..<end], as: UTF8.self)) + "... (\(u.count) bytes)"
    }
}
