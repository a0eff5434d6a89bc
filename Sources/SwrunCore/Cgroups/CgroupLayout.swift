import OCISpec
import SwrunSys

/// One mounted cgroup hierarchy: a v1 controller hierarchy (`/sys/fs/cgroup/memory`) or the
/// v2 unified one (`/sys/fs/cgroup` on pure v2, `/sys/fs/cgroup/unified` on hybrid hosts).
public struct CgroupHierarchy: Equatable, Sendable {
    public var mountpoint: String
    public var root: String // the mount's root within the hierarchy (field 4 of mountinfo)
    public var controllers: [String] // v1 controllers ("cpu", "cpuacct"); empty for v2
    public var isV2: Bool
    public var ownPath: String // this process's cgroup in the hierarchy, relative to `root`

    public var name: String { isV2 ? "unified" : controllers.joinedText(",") }
}

/// Discovers hierarchies from /proc/self/mountinfo and /proc/self/cgroup, and maps a
/// container's cgroupsPath onto one directory per hierarchy (runc's fs manager rules).
public struct CgroupLayout: Sendable {
    public var hierarchies: [CgroupHierarchy]

    public var isPureV2: Bool { hierarchies.count == 1 && hierarchies[0].isV2 }

    /// A pure v2 host's layout, for checks that only ask which kind of host it is.
    static let pureV2 = CgroupLayout(hierarchies: [
        CgroupHierarchy(mountpoint: "/sys/fs/cgroup", root: "/", controllers: [], isV2: true, ownPath: "/")
    ])

    /// Options of a v1 cgroup mount that are not controllers.
    static func isNonController(_ option: String) -> Bool {
        switch option {
        case "rw", "ro", "clone_children", "noprefix", "xattr", "nsdelegate", "cpuset_v2_mode", "favordynmods",
            "memory_recursiveprot", "memory_localevents", "memory_hugetlb_accounting", "pids_localevents":
            return true
        default: return false
        }
    }

    public static func discover() throws(SwrunError) -> CgroupLayout {
        let mountinfo = try sys { try Files.readString("/proc/self/mountinfo") }
        let selfCgroup = try sys { try Files.readString("/proc/self/cgroup") }
        return parse(mountinfo: mountinfo, selfCgroup: selfCgroup)
    }

    /// Pure parsing, unit-tested with this host's hybrid layout and a pure v2 one. By bytes:
    /// every create parses both files, and slice-by-slice `split` cost ~20% of a create's
    /// user-space instructions.
    public static func parse(mountinfo: String, selfCgroup: String) -> CgroupLayout {
        var v1Paths: [String: String] = [:]
        var v2Path: String?
        // /proc/self/cgroup: "hierarchy-id:controller,list:path" per line; "0::path" is v2.
        ByteText.forEachLine(Array(selfCgroup.utf8)) { line in
            guard let c1 = line.firstIndex(of: UInt8(ascii: ":")),
                let c2 = line[(c1 + 1)...].firstIndex(of: UInt8(ascii: ":"))
            else { return }
            let path = String(decoding: line[(c2 + 1)...], as: UTF8.self)
            let ctrls = line[(c1 + 1)..<c2]
            if ctrls.isEmpty {
                if line[line.startIndex..<c1].elementsEqual("0".utf8) { v2Path = path }
                return
            }
            for c in MountInfo.words(ctrls, separator: UInt8(ascii: ",")) {
                v1Paths[String(decoding: c, as: UTF8.self)] = path
            }
        }
        var result: [CgroupHierarchy] = []
        var seen: [String] = [] // controllers already placed: a dozen, no Set
        // Only cgroup lines matter: a line is split into fields once the filesystem type
        // after its " - " says cgroup.
        MountInfo.forEachLine(mountinfo) { before, after in
            guard after.starts(with: "cgroup".utf8) else { return }
            guard let type = MountInfo.word(after, 0, separator: UInt8(ascii: " ")),
                MountInfo.word(after, 1, separator: UInt8(ascii: " ")) != nil,
                let rootField = MountInfo.word(before, 3, separator: UInt8(ascii: " ")),
                let mountField = MountInfo.word(before, 4, separator: UInt8(ascii: " "))
            else { return }
            let isV2 = type.elementsEqual("cgroup2".utf8)
            guard isV2 || type.elementsEqual("cgroup".utf8) else { return }
            let root = String(decoding: rootField, as: UTF8.self)
            let mountpoint = MountInfo.unescape(String(decoding: mountField, as: UTF8.self))
            if isV2 {
                guard let own = v2Path, !seen.contains("unified") else { return }
                seen.append("unified")
                result.append(
                    CgroupHierarchy(
                        mountpoint: mountpoint, root: root, controllers: [], isV2: true,
                        ownPath: relative(own, to: root)))
            } else {
                guard
                    let superOptions = MountInfo.word(after, 2, separator: UInt8(ascii: " "))
                        ?? MountInfo.word(after, 1, separator: UInt8(ascii: " "))
                else { return }
                let opts = MountInfo.words(superOptions, separator: UInt8(ascii: ",")).map {
                    String(decoding: $0, as: UTF8.self)
                }
                if opts.contains(where: { $0.startsWithBytes("name=") }) { return } // named (systemd): left alone
                let ctrls = opts.filter { !isNonController($0) && !$0.utf8.contains(UInt8(ascii: "=")) }
                guard let first = ctrls.first, let own = v1Paths[first], !seen.contains(first) else { return }
                seen += ctrls
                result.append(
                    CgroupHierarchy(
                        mountpoint: mountpoint, root: root, controllers: ctrls, isV2: false,
                        ownPath: relative(own, to: root)))
            }
        }
        return CgroupLayout(hierarchies: result)
    }

    static func relative(_ path: String, to root: String) -> String {
        if root == "/" { return path }
        if path == root { return "/" }
        if path.startsWithBytes(root + "/") { return String(path.dropFirst(root.count)) }
        return path
    }

    /// The container's directory in each hierarchy. Absolute cgroupsPath: from the hierarchy's
    /// root; relative (or empty, meaning the container id): under this process's own cgroup,
    /// or, on a pure v2 host, under its parent (runc's fs2 defaultDirPath: our own cgroup
    /// most probably has processes in it, us among them, and no controller can be enabled
    /// below a cgroup that has: a rootless user in a service of its systemd instance gets
    /// its containers beside that service, where its limits can apply).
    public func directories(cgroupsPath: String?, id: String) throws(SwrunError) -> [String] {
        var inner = cgroupsPath ?? ""
        if inner.isEmpty { inner = id }
        let bytes = Array(inner.utf8)
        if bytes.contains(UInt8(ascii: ":")) && bytes.first != UInt8(ascii: "/") {
            throw SwrunError.config(
                "linux.cgroupsPath \(Quote.short(inner)): a slice:prefix:name path is for the systemd cgroup driver (--systemd-cgroup)"
            )
        }
        let comps = MountInfo.words(bytes[...], separator: UInt8(ascii: "/"))
        if comps.contains(where: { $0.elementsEqual("..".utf8) }) {
            throw SwrunError.config("linux.cgroupsPath \(Quote.short(inner)): must not contain \"..\"")
        }
        let clean = comps.map { String(decoding: $0, as: UTF8.self) }.joinedText("/")
        if clean.isEmpty { throw SwrunError.config("linux.cgroupsPath \(Quote.short(inner)): names the root cgroup") }
        let pureV2 = isPureV2
        return hierarchies.map { h in
            var own = h.ownPath
            if pureV2 { own = String(own[..<(own.lastIndex(of: "/") ?? own.startIndex)]) }
            let base = inner.startsWithBytes("/") || own.isEmpty || own == "/" ? "" : own
            return h.mountpoint + base + "/" + clean
        }
    }
}
