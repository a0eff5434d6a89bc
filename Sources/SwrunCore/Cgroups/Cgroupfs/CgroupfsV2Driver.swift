import OCISpec
import SwrunSys

/// cgroupfs on a pure cgroup v2 host: one directory, processes born in it (clone3
/// CLONE_INTO_CGROUP), devices through an eBPF program, the freezer in cgroup.freeze. The
/// systemd driver uses it for everything but making and removing its scope.
struct CgroupfsV2Driver: CgroupDriver {
    let handle: CgroupHandle

    init(leaf: String, created: [String]?, driver: CgroupDriverKind = .cgroupfsV2, unit: String? = nil) {
        let made = created ?? CgroupfsTree.missingDirectories([leaf])
        handle = CgroupHandle(driver: driver, leaves: [leaf], created: made, unified: leaf, unit: unit)
    }

    var leaf: String { handle.leaves.first ?? "" }

    func create(_ r: LinuxResources) throws(SwrunError) {
        _ = try CgroupfsTree.create([leaf], cpusetMount: nil)
        let state = freezerState()
        try CgroupfsTree.checkBeforePlacement([leaf], frozen: state == "FROZEN")
        ResourceApplier.enableControllers(leaf: leaf, created: handle.created)
        try ResourceApplier.apply(r, v1: [], v2: leaf)
    }

    func placement(_ dirs: [String]) throws(SwrunError) -> CgroupPlacement {
        try CgroupfsTree.placement(dirs, v2Dir: dirs.first, freezer: nil)
    }

    func adopt(pid: Int32, v2Left: String?, resources: LinuxResources) throws(SwrunError) {
        try join(pid: pid, v2Left: v2Left)
    }

    func join(pid: Int32, v2Left: String?) throws(SwrunError) {
        if let v2Left { try CgroupfsTree.join(v2Left, pid: pid) }
    }

    func freeze(_ frozen: Bool) throws(SwrunError) { try CgroupfsTree.freezeV2(leaf, frozen) }

    func freezerState() -> String? { CgroupfsTree.v2FreezerState(leaf) }

    func signalAll(_ sig: Int32) throws(SwrunError) { try CgroupfsTree.signalAll([leaf], sig, v2Kill: leaf) }

    func pids() -> [Int32] { CgroupfsTree.pids(leaf) }

    func update(_ r: LinuxResources) throws(SwrunError) {
        try ResourceCheck.validate(r, layout: CgroupLayout.pureV2, field: "resources")
        try ResourceApplier.apply(r, v1: [], v2: leaf, update: true)
    }

    func stats() -> JSON { CgroupStats.collect([leaf], v2: true) }

    func oomKills() -> UInt64 { CgroupStats.oomKills([leaf], v2: true) }

    var oomEventFiles: [String] { [leaf + "/memory.events"] }

    func destroy() throws(SwrunError) {
        try CgroupfsTree.destroy(leaves: [leaf], created: handle.created, v2Kill: leaf)
    }
}
