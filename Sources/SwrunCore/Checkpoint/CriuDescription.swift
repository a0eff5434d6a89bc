import OCISpec
import SwrunSys

/// How a container is described to CRIU, the way runc describes it (libcontainer/criu_linux.go):
/// which of its mounts are external (made from host paths, so CRIU records a key instead of
/// their contents, and on restore is told which host path each key is now), which of its
/// namespaces are external (joined by path: the network and PID ones are keyed, the others
/// joined again), and the stdio the images refer to. Pure functions of the plan, unit-tested.
public enum CriuDescription {
    /// `path` (absolute, inside the container) with the symlinks in `root` resolved the way
    /// the kernel resolves them for the container (filepath-securejoin, as runc's
    /// addCriuDumpMount does): an absolute link restarts at the root, ".." stops at it, a
    /// component that does not exist is taken as it is.
    public static func resolveInRoot(_ root: String, _ path: String) -> String {
        var done: [Substring] = []
        var todo = path.split(separator: "/", omittingEmptySubsequences: true).reversed().map { $0 }
        var links = 0
        while let comp = todo.popLast() {
            if comp == "." { continue }
            if comp == ".." {
                if !done.isEmpty { done.removeLast() }
                continue
            }
            let candidate = "/" + (done + [comp]).joined(separator: "/")
            if links < 40, let st = try? Files.lstat(root + candidate), st.isSymlink,
                let target = try? Files.readlinkat(-100, root + candidate)
            {
                links += 1
                if target.startsWithBytes("/") { done.removeAll() }
                todo += target.split(separator: "/", omittingEmptySubsequences: true).reversed()
                continue
            }
            done.append(comp)
        }
        return "/" + done.joined(separator: "/")
    }

    /// The cgroup mounts that are bind mounts of host cgroup directories: none with a cgroup
    /// namespace (each hierarchy is mounted anew inside it, a real mount CRIU dumps); on
    /// pure v2 the container's own cgroup at the destination; on v1 and hybrid hosts one per
    /// hierarchy, at destination/NAME (CgroupMount in RootfsSequence.swift).
    public static func cgroupBinds(_ plan: LaunchPlan) -> [(destination: String, source: String)] {
        guard !plan.newCgroupNamespace else { return [] }
        var out: [(destination: String, source: String)] = []
        for op in plan.mounts {
            guard case .cgroup = op.kind else { continue }
            let layout = plan.cgroupLayout
            if layout.isPureV2 {
                if let leaf = plan.cgroupLeaves.first { out.append((op.destination, leaf)) }
                continue
            }
            for (h, leaf) in zip(layout.hierarchies, plan.cgroupLeaves) {
                out.append((op.destination + "/" + (h.isV2 ? "unified" : h.name), leaf))
            }
        }
        return out
    }

    /// Dump: each bind mount, each cgroup bind, each masked file (bound from /dev/null) and
    /// each device node is external, keyed by its path in the container. `maskedFiles`: the
    /// masked paths that exist in the container and are not directories (runc's
    /// addMaskPaths stats them through /proc/PID/root).
    public static func dumpMounts(_ plan: LaunchPlan, maskedFiles: [String]) -> [CriuExtMountMap] {
        var out: [CriuExtMountMap] = []
        func add(_ dest: String) {
            let d = resolveInRoot(plan.rootfs, dest)
            out.append(CriuExtMountMap(key: d, val: d))
        }
        let binds = cgroupBinds(plan)
        for op in plan.mounts {
            switch op.kind {
            case .bind: add(op.destination)
            case .cgroup:
                for b in binds
                where b.destination == op.destination || b.destination.startsWithBytes(op.destination + "/") {
                    add(b.destination)
                }
            case .filesystem: break
            }
        }
        for p in maskedFiles { out.append(CriuExtMountMap(key: p, val: "/dev/null")) }
        for d in plan.devices { add(d.path) }
        return out
    }

    /// Restore: the same keys, each with the host path it is to be bound from now (a bind's
    /// source, the new cgroup, the host's /dev/null and device nodes).
    public static func restoreMounts(_ plan: LaunchPlan) -> [CriuExtMountMap] {
        var out: [CriuExtMountMap] = []
        let binds = cgroupBinds(plan)
        for op in plan.mounts {
            switch op.kind {
            case .bind(let source, _):
                out.append(CriuExtMountMap(key: resolveInRoot(plan.rootfs, op.destination), val: source))
            case .cgroup:
                for b in binds
                where b.destination == op.destination || b.destination.startsWithBytes(op.destination + "/") {
                    out.append(CriuExtMountMap(key: resolveInRoot(plan.rootfs, b.destination), val: b.source))
                }
            case .filesystem: break
            }
        }
        if !plan.maskedPaths.isEmpty { out.append(CriuExtMountMap(key: "/dev/null", val: "/dev/null")) }
        for d in plan.devices { out.append(CriuExtMountMap(key: resolveInRoot(plan.rootfs, d.path), val: d.path)) }
        return out
    }

    /// CRIU's name of a namespace type and runc's key for it when external
    /// (`extRoot` + Name + `NS`).
    public static func criuName(_ type: String) -> String {
        switch type {
        case "network": return "net"
        case "mount": return "mnt"
        default: return type
        }
    }

    public static func externalKey(_ type: String) -> String {
        let n = criuName(type)
        return "extRoot" + n.prefix(1).uppercased() + n.dropFirst() + "NS"
    }

    /// The namespaces joined by path, by type, the PID one included.
    public static func joinedNamespaces(_ plan: LaunchPlan) -> [(type: String, path: String)] {
        var out = plan.joins.map { (type: $0.type, path: $0.path) }
        if let p = plan.pidJoinPath { out.append((type: "pid", path: p)) }
        return out
    }

    /// Dump: a joined network or PID namespace is external, `net[INODE]:extRootNetNS`.
    public static func dumpExternal(_ plan: LaunchPlan, inode: (String) throws(SwrunError) -> UInt64) throws(SwrunError)
        -> [String]
    {
        var out: [String] = []
        for type in ["network", "pid"] {
            guard let j = joinedNamespaces(plan).first(where: { $0.type == type }) else { continue }
            out.append("\(criuName(type))[\(try inode(j.path))]:\(externalKey(type))")
        }
        return out
    }

    /// Restore: the namespaces joined by path. The network and PID ones are inherited by
    /// criu (their descriptors follow its socket, fd 4 on) under their keys; the others are
    /// joined by file; a cgroup namespace cannot be (CRIU has no code for it, as runc says).
    public static func restoreNamespaces(_ plan: LaunchPlan, firstFd: Int32) throws(SwrunError) -> (
        inherit: [(key: String, path: String, fd: Int32)], join: [CriuJoinNamespace]
    ) {
        var inherit: [(key: String, path: String, fd: Int32)] = []
        var join: [CriuJoinNamespace] = []
        for j in joinedNamespaces(plan) {
            switch j.type {
            case "network", "pid":
                inherit.append((externalKey(j.type), j.path, firstFd + Int32(inherit.count)))
            case "cgroup":
                throw SwrunError(
                    .usage,
                    "restore: the container joins the cgroup namespace \(j.path), which CRIU cannot restore into")
            default:
                join.append(CriuJoinNamespace(ns: criuName(j.type), nsFile: j.path))
            }
        }
        return (inherit, join)
    }

    /// descriptors.json: the targets of the init's descriptors 0-2 (`pipe:[N]`, `/dev/null`,
    /// `/dev/pts/0`), as runc writes it beside the images; on restore each pipe among them is
    /// given CRIU as the restoring swrun's own descriptor of the same number.
    public static func descriptorsJSON(_ targets: [String]) -> [UInt8] {
        JSON.array(targets.map { .string($0) }).encodedBytes()
    }

    public static func inheritedStdio(_ json: [UInt8]) throws(SwrunError) -> [CriuInheritFd] {
        let v: JValue
        do throws(SpecError) {
            var r = JSONReader(json)
            v = try r.readValue()
            try r.finish()
        } catch {
            throw SwrunError(.invalidConfig, "descriptors.json: \(error.message)")
        }
        guard case .array(let items) = v else {
            throw SwrunError(.invalidConfig, "descriptors.json: not an array of strings")
        }
        var out: [CriuInheritFd] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                throw SwrunError(.invalidConfig, "descriptors.json: not an array of strings")
            }
            if s.containsText("pipe:") { out.append(CriuInheritFd(key: s, fd: Int32(i))) }
        }
        return out
    }
}
