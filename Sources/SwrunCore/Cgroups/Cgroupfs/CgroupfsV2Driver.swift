import OCISpec
import SwrunSys

/// cgroupfs on a pure cgroup v2 host: one directory, processes born in it (clone3
/// CLONE_INTO_CGROUP), devices through an eBPF program, the freezer in cgroup.freeze. The
/// systemd driver uses it for everything but making and removing its scope.
///
/// Rootless (CgroupHandle.rootless): a subtree delegated to the user (systemd's
/// user@UID.service and what runs below it) is used as root uses the whole tree; where the
/// user may not write, a container without a cgroupsPath and without limits goes without a
/// cgroup (runc's fs2 rule), and one with limits is refused before anything exists.
struct CgroupfsV2Driver: CgroupDriver {
    let handle: CgroupHandle
    /// Why the leaf was left out (rootless, at create): for the refusal of limits.
    let skipReason: Int32

    init(
        leaf: String, created: [String]?, driver: CgroupDriverKind = .cgroupfsV2, unit: String? = nil,
        rootless: Bool = false, mayskip: Bool = false, layout: CgroupLayout? = nil
    ) {
        var reason: Int32 = 0
        if mayskip, let h = layout?.hierarchies.first {
            let own = h.mountpoint + (h.ownPath == "/" ? "" : h.ownPath)
            let e = CgroupfsTree.rootlessAccess(leaf, procsFile: "cgroup.procs", own: own)
            if e == Errno.EACCES || e == Errno.EPERM || e == Errno.EROFS { reason = e }
        }
        skipReason = reason
        if reason != 0 {
            Log.debug("rootless: no cgroup for the container (\(leaf): \(Errno.text(reason)))")
            handle = CgroupHandle(
                driver: driver, leaves: [leaf], created: [], unit: unit, skipped: [leaf], rootless: rootless)
            return
        }
        let made = created ?? CgroupfsTree.missingDirectories([leaf])
        handle = CgroupHandle(
            driver: driver, leaves: [leaf], created: made, unified: leaf, unit: unit, rootless: rootless)
    }

    init(handle: CgroupHandle) {
        self.handle = handle
        skipReason = 0
    }

    var leaf: String { handle.leaves.first ?? "" }
    var active: Bool { handle.hasCgroup }

    /// runc's fs2 Apply for a rootless container without a cgroupsPath that cannot make its
    /// cgroup: without limits it goes on without one; with limits it is refused
    /// ("rootless needs no limits + no cgrouppath when no permission is granted for
    /// cgroups"), here before anything exists.
    func checkRootless(_ r: LinuxResources) throws(SwrunError) {
        guard skipReason != 0 else { return }
        let needs =
            ResourceApplier.requested(r).map { $0.0 } + (r.unified?.keys.sorted().map { "unified[\($0)]" } ?? [])
        guard let first = needs.first else { return }
        throw SwrunError(
            .invalidConfig,
            "linux.resources.\(first): rootless needs no limits + no cgrouppath when no permission is granted for cgroups "
                + "(\(leaf): \(Errno.text(skipReason)) for uid \(Identity.current.euid); use a delegated cgroup, or the systemd driver on the user's instance: --systemd-cgroup)",
            errno: skipReason)
    }

    func create(_ r: LinuxResources) throws(SwrunError) {
        guard active else { return }
        _ = try CgroupfsTree.create([leaf], cpusetMount: nil)
        let state = freezerState()
        try CgroupfsTree.checkBeforePlacement([leaf], frozen: state == "FROZEN")
        ResourceApplier.enableControllers(leaf: leaf, created: handle.created)
        try ResourceApplier.apply(r, v1: [], v2: leaf, devices: !handle.rootless)
    }

    func placement(_ dirs: [String]) throws(SwrunError) -> CgroupPlacement {
        guard active else { return CgroupPlacement() }
        return try CgroupfsTree.placement(dirs, v2Dir: dirs.first, freezer: nil)
    }

    func adopt(pid: Int32, v2Left: String?, resources: LinuxResources) throws(SwrunError) {
        try join(pid: pid, v2Left: v2Left)
    }

    func join(pid: Int32, v2Left: String?) throws(SwrunError) {
        if let v2Left { try CgroupfsTree.join(v2Left, pid: pid) }
    }

    func freeze(_ frozen: Bool) throws(SwrunError) {
        guard active else {
            throw SwrunError(
                .system,
                "the container has no cgroup to freeze (rootless: \(leaf) was not writable at create, and is left out)")
        }
        try CgroupfsTree.freezeV2(leaf, frozen)
    }

    func freezerState() -> String? { active ? CgroupfsTree.v2FreezerState(leaf) : nil }

    func signalAll(_ sig: Int32) throws(SwrunError) {
        guard active else { return }
        try CgroupfsTree.signalAll([leaf], sig, v2Kill: leaf)
    }

    func pids() -> [Int32] { active ? CgroupfsTree.pids(leaf) : [] }

    func update(_ r: LinuxResources) throws(SwrunError) {
        try ResourceCheck.validate(r, layout: CgroupLayout.pureV2, field: "resources")
        guard active else {
            if ResourceApplier.requested(r).isEmpty && (r.unified ?? [:]).isEmpty { return }
            throw SwrunError(
                .invalidConfig,
                "update: the container has no cgroup (rootless: \(leaf) was not writable at create), so no limit can be set"
            )
        }
        try ResourceApplier.apply(r, v1: [], v2: leaf, update: true)
    }

    func stats() -> JSON { CgroupStats.collect(active ? [leaf] : [], v2: true) }

    func oomKills() -> UInt64 { active ? CgroupStats.oomKills([leaf], v2: true) : 0 }

    var oomEventFiles: [String] { active ? [leaf + "/memory.events"] : [] }

    func destroy() throws(SwrunError) {
        guard active else { return }
        try CgroupfsTree.destroy(leaves: [leaf], created: handle.created, v2Kill: leaf)
    }
}
