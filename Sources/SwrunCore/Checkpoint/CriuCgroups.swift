import OCISpec
import SwrunSys

/// Every cgroup step of checkpoint and restore, and nothing else touches cgroups for them:
/// the freezer CRIU stops the container with, the cgroups a restore makes (as create makes
/// them), and criu's own process placed in them so that what it restores is born there.
public enum CriuCgroups {
    /// Checkpoint: freeze_cgroup, the directory of the freezer that holds the container (the
    /// v1 freezer's, else the v2 leaf; CRIU 3.14 and later freeze through cgroup.freeze).
    /// Without one CRIU stops the tasks with ptrace.
    static func freezer(_ h: CgroupHandle) -> String? {
        switch h.driver {
        case .cgroupfsV1:
            if let f = h.freezer, !h.skipped.contains(f) { return f }
            return h.unified.flatMap { Files.exists($0 + "/cgroup.freeze") ? $0 : nil }
        case .cgroupfsV2, .systemd:
            return h.active.first { Files.exists($0 + "/cgroup.freeze") }
        }
    }

    /// Restore: criu's swrk process (`pid`) joins the container's cgroups, made before by
    /// the driver's `create` (as create makes them), so that the tree it restores is born in
    /// them; CRIU is given them as the roots of the restored cgroups, from /proc/PID/cgroup
    /// (runc's criuApplyCgroups). With systemd the scope is started with criu's process in
    /// it, as runc's systemd manager applies it to criu's pid.
    static func place(criu pid: Int32, driver: any CgroupDriver, resources: LinuxResources) throws(SwrunError)
        -> [CriuCgroupRoot]
    {
        switch driver.handle.driver {
        case .systemd:
            // An existing unit that is joined has a cgroup already: criu joins it first
            // (adopt then sets the limits); a new scope is started with criu in it.
            if driver.handle.joinedUnit {
                for leaf in driver.handle.active { try CgroupfsTree.join(leaf, pid: pid) }
            }
            try driver.adopt(pid: pid, v2Left: nil, resources: resources)
        case .cgroupfsV1, .cgroupfsV2:
            for leaf in driver.handle.active { try CgroupfsTree.join(leaf, pid: pid) }
        }
        let text = try sys("read /proc/\(pid)/cgroup") { try Files.readString("/proc/\(pid)/cgroup") }
        return roots(procCgroup: text)
    }

    /// /proc/PID/cgroup ("ID:CONTROLLERS:PATH" lines) as cgroup_root messages: one per
    /// controller, named as the kernel names it ("" for cgroup v2, "name=systemd").
    public static func roots(procCgroup text: String) -> [CriuCgroupRoot] {
        var out: [CriuCgroupRoot] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty {
                out.append(CriuCgroupRoot(ctrl: "", path: path))
                continue
            }
            for c in parts[1].split(separator: ",") { out.append(CriuCgroupRoot(ctrl: String(c), path: path)) }
        }
        return out
    }
}
