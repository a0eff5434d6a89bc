import OCISpec
import SwrunSys

/// Every cgroup step of checkpoint and restore, and nothing else touches cgroups for them:
/// the freezer CRIU stops the container with, the cgroups a restore makes (as create makes
/// them), and criu's own process placed in them so that what it restores is born there.
public enum CriuCgroups {
    /// Checkpoint: freeze_cgroup, the directory of the freezer that holds the container (the
    /// v1 freezer's, else the v2 leaf; CRIU 3.14 and later freeze through cgroup.freeze).
    /// Without one CRIU stops the tasks with ptrace.
    static func freezer(_ leaves: [String]) -> String? {
        if let v1 = leaves.first(where: CgroupManager.isV1FreezerPath) { return v1 }
        return leaves.first { Files.exists($0 + "/cgroup.freeze") }
    }

    /// Restore, before criu starts: the container's cgroups, made (recorded first, by the
    /// caller, in `created`) and given linux.resources, as create does.
    static func prepare(_ leaves: [String], layout: CgroupLayout, created: [String], resources: LinuxResources) throws(SwrunError) {
        _ = try CgroupManager.create(leaves, layout: layout)
        try CgroupManager.checkBeforePlacement(leaves)
        ResourceApplier.enableControllers(layout: layout, leaves: leaves, created: created)
        try ResourceApplier.apply(resources, leaves: leaves, layout: layout)
    }

    /// Restore: criu's swrk process (`pid`) joins the container's cgroups, so that the tree
    /// it restores is born in them, and CRIU is given them as the roots of the restored
    /// cgroups, from /proc/PID/cgroup (runc's criuApplyCgroups).
    static func place(criu pid: Int32, leaves: [String]) throws(SwrunError) -> [CriuCgroupRoot] {
        try CgroupManager.join(leaves, pid: pid)
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
