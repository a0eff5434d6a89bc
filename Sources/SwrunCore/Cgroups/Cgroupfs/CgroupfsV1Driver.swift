import OCISpec
import SwrunSys

/// cgroupfs on a cgroup v1 host: one directory per controller hierarchy, from the host's
/// CgroupLayout, and on a hybrid host also one in cgroup2's unified mount (which sees the
/// controllers no v1 hierarchy took: hugetlb on this lab's hosts). The process joins the v1
/// hierarchies itself ("0" to each `tasks`, no global lock) and is born in the unified one.
struct CgroupfsV1Driver: CgroupDriver {
    let handle: CgroupHandle
    /// The host's hierarchies, at create (a driver made from a record rediscovers them
    /// where it needs controllers: update).
    let layout: CgroupLayout?

    init(layout: CgroupLayout, leaves: [String]) {
        var h = CgroupHandle(driver: .cgroupfsV1, leaves: leaves)
        for (hierarchy, leaf) in zip(layout.hierarchies, leaves) {
            if hierarchy.isV2 { h.unified = leaf }
            if hierarchy.controllers.contains("freezer") { h.freezer = leaf }
        }
        h.created = CgroupfsTree.missingDirectories(leaves, mounted: layout.hierarchies.map { $0.mountpoint })
        handle = h
        self.layout = layout
    }

    init(handle: CgroupHandle) {
        self.handle = handle
        layout = nil
    }

    /// The v1 hierarchies' (controllers, directory), from `layout` in the handle's order.
    static func v1Dirs(_ layout: CgroupLayout, _ leaves: [String]) -> [(controllers: [String], dir: String)] {
        zip(layout.hierarchies, leaves).filter { !$0.0.isV2 }.map { ($0.0.controllers, $0.1) }
    }

    /// The v1 leaves alone.
    var v1Leaves: [String] { handle.leaves.filter { $0 != handle.unified } }

    func create(_ r: LinuxResources) throws(SwrunError) {
        guard let layout else { throw SwrunError(.system, "cgroups: create needs the host's layout") }
        let cpuset = layout.hierarchies.first { $0.controllers.contains("cpuset") }?.mountpoint
        _ = try CgroupfsTree.create(handle.leaves, cpusetMount: cpuset)
        let state = freezerState()
        try CgroupfsTree.checkBeforePlacement(handle.leaves, frozen: state == "FROZEN" || state == "FREEZING")
        if let u = handle.unified { ResourceApplier.enableControllers(leaf: u, created: handle.created) }
        try ResourceApplier.apply(r, v1: Self.v1Dirs(layout, handle.leaves), v2: handle.unified)
    }

    func placement(_ dirs: [String]) throws(SwrunError) -> CgroupPlacement {
        // `dirs` are in the leaves' order (sub-cgroups of exec --cgroup included).
        var v2: String?, freezer: String?
        for (leaf, dir) in zip(handle.leaves, dirs) {
            if leaf == handle.unified { v2 = dir }
            if leaf == handle.freezer { freezer = dir }
        }
        return try CgroupfsTree.placement(dirs, v2Dir: v2, freezer: freezer)
    }

    func adopt(pid: Int32, v2Left: String?, resources: LinuxResources) throws(SwrunError) {
        try join(pid: pid, v2Left: v2Left)
    }

    func join(pid: Int32, v2Left: String?) throws(SwrunError) {
        if let v2Left { try CgroupfsTree.join(v2Left, pid: pid) }
    }

    func freeze(_ frozen: Bool) throws(SwrunError) {
        if let f = handle.freezer { return try CgroupfsTree.freezeV1(f, frozen) }
        // No v1 freezer hierarchy: cgroup2's freezer is in every cgroup of the unified
        // hierarchy, which holds the same processes on a hybrid host.
        if let u = handle.unified { return try CgroupfsTree.freezeV2(u, frozen) }
        throw SwrunError(.system, "no freezer available for the container's cgroup")
    }

    func freezerState() -> String? {
        if let f = handle.freezer { return CgroupfsTree.v1FreezerState(f) }
        return handle.unified.flatMap(CgroupfsTree.v2FreezerState)
    }

    func signalAll(_ sig: Int32) throws(SwrunError) {
        try CgroupfsTree.signalAll(handle.leaves, sig, v2Kill: handle.unified)
    }

    func pids() -> [Int32] { CgroupfsTree.allPids(handle.leaves) }

    func update(_ r: LinuxResources) throws(SwrunError) {
        let layout = try CgroupLayout.discover()
        guard layout.hierarchies.count == handle.leaves.count else {
            throw SwrunError(.system, "update: the host's cgroup hierarchies changed since the container was created")
        }
        try ResourceCheck.validate(r, layout: layout, field: "resources")
        try ResourceApplier.apply(r, v1: Self.v1Dirs(layout, handle.leaves), v2: handle.unified, update: true)
    }

    func stats() -> JSON { CgroupStats.collect(v1Leaves, v2: false) }

    func oomKills() -> UInt64 { CgroupStats.oomKills(v1Leaves, v2: false) }

    var oomEventFiles: [String] { [] }

    func destroy() throws(SwrunError) {
        try CgroupfsTree.destroy(leaves: handle.leaves, created: handle.created, v2Kill: handle.unified)
    }
}
