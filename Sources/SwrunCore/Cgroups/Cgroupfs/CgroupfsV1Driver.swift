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

    /// Why each skipped leaf was left out (an errno), for the refusal of a limit that needs
    /// it (at create only).
    let skipReasons: [(leaf: String, errno: Int32)]

    /// `rootless`/`mayskip` (CgroupDrivers.forCreate): a hierarchy this user cannot write
    /// is left out, as runc's fs manager leaves it out (EPERM, EACCES and EROFS, no
    /// cgroupsPath given); on this lab's hybrid hosts that is every hierarchy for an
    /// unprivileged user. It is decided here, before the record names what will be made.
    init(layout: CgroupLayout, leaves: [String], rootless: Bool = false, mayskip: Bool = false) {
        var h = CgroupHandle(driver: .cgroupfsV1, leaves: leaves, rootless: rootless)
        var reasons: [(leaf: String, errno: Int32)] = []
        if mayskip {
            for (hierarchy, leaf) in zip(layout.hierarchies, leaves) {
                let own =
                    hierarchy.isV2 ? hierarchy.mountpoint + (hierarchy.ownPath == "/" ? "" : hierarchy.ownPath) : nil
                let e = CgroupfsTree.rootlessAccess(
                    leaf, procsFile: hierarchy.isV2 ? "cgroup.procs" : "tasks", own: own)
                if e == Errno.EACCES || e == Errno.EPERM || e == Errno.EROFS {
                    h.skipped.append(leaf)
                    reasons.append((leaf, e))
                }
            }
            if !h.skipped.isEmpty {
                Log.debug("rootless: cgroup hierarchies left out (not writable): \(h.skipped.joinedText(", "))")
            }
        }
        for (hierarchy, leaf) in zip(layout.hierarchies, leaves) where !h.skipped.contains(leaf) {
            if hierarchy.isV2 { h.unified = leaf }
            if hierarchy.controllers.contains("freezer") { h.freezer = leaf }
        }
        h.created = CgroupfsTree.missingDirectories(h.active, mounted: layout.hierarchies.map { $0.mountpoint })
        handle = h
        self.layout = layout
        skipReasons = reasons
    }

    init(handle: CgroupHandle) {
        self.handle = handle
        layout = nil
        skipReasons = []
    }

    /// Rootless: a limit whose controller's hierarchy was left out cannot be applied and is
    /// refused before anything exists, in runc's words ("cannot set memory limit: container
    /// could not join or create cgroup"), with the field and the reason.
    func checkRootless(_ r: LinuxResources) throws(SwrunError) {
        guard let layout, !skipReasons.isEmpty else { return }
        for (field, controller) in ResourceApplier.requested(r) {
            let names = controller == "blkio" ? ["blkio", "io"] : [controller]
            // The v1 hierarchy holding the controller, else the unified one (hybrid hosts).
            let index =
                layout.hierarchies.firstIndex { !$0.isV2 && $0.controllers.contains(where: names.contains) }
                ?? layout.hierarchies.firstIndex { $0.isV2 }
            guard let i = index, i < handle.leaves.count,
                let skip = skipReasons.first(where: { $0.leaf == handle.leaves[i] })
            else { continue }
            throw SwrunError(
                .invalidConfig,
                "linux.resources.\(field): cannot set \(controller) limit: container could not join or create cgroup "
                    + "(rootless: \(skip.leaf): \(Errno.text(skip.errno)) for uid \(Identity.current.euid))",
                errno: skip.errno)
        }
    }

    /// The v1 hierarchies' (controllers, directory), from `layout` in the handle's order,
    /// without the skipped ones.
    static func v1Dirs(_ layout: CgroupLayout, _ h: CgroupHandle) -> [(controllers: [String], dir: String)] {
        zip(layout.hierarchies, h.leaves).filter { !$0.0.isV2 && !h.skipped.contains($0.1) }.map {
            ($0.0.controllers, $0.1)
        }
    }

    /// The v1 leaves alone (the ones swrun manages).
    var v1Leaves: [String] { handle.active.filter { $0 != handle.unified } }

    func create(_ r: LinuxResources) throws(SwrunError) {
        guard let layout else { throw SwrunError(.system, "cgroups: create needs the host's layout") }
        guard handle.hasCgroup else { return }
        let cpuset = layout.hierarchies.first { $0.controllers.contains("cpuset") }?.mountpoint
        _ = try CgroupfsTree.create(handle.active, cpusetMount: cpuset)
        let state = freezerState()
        try CgroupfsTree.checkBeforePlacement(handle.active, frozen: state == "FROZEN" || state == "FREEZING")
        if let u = handle.unified { ResourceApplier.enableControllers(leaf: u, created: handle.created) }
        try ResourceApplier.apply(r, v1: Self.v1Dirs(layout, handle), v2: handle.unified, devices: !handle.rootless)
    }

    func placement(_ dirs: [String]) throws(SwrunError) -> CgroupPlacement {
        // `dirs` are in the leaves' order (sub-cgroups of exec --cgroup included); the
        // skipped hierarchies are not joined.
        var v2: String?, freezer: String?, joined: [String] = []
        for (leaf, dir) in zip(handle.leaves, dirs) where !handle.skipped.contains(leaf) {
            if leaf == handle.unified { v2 = dir }
            if leaf == handle.freezer { freezer = dir }
            joined.append(dir)
        }
        return try CgroupfsTree.placement(joined, v2Dir: v2, freezer: freezer)
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
        if !handle.skipped.isEmpty {
            throw SwrunError(
                .system,
                "the container has no freezer cgroup (rootless: the freezer hierarchy was not writable at create, and is left out)"
            )
        }
        throw SwrunError(.system, "no freezer available for the container's cgroup")
    }

    func freezerState() -> String? {
        if let f = handle.freezer { return CgroupfsTree.v1FreezerState(f) }
        return handle.unified.flatMap(CgroupfsTree.v2FreezerState)
    }

    func signalAll(_ sig: Int32) throws(SwrunError) {
        try CgroupfsTree.signalAll(handle.active, sig, v2Kill: handle.unified)
    }

    func pids() -> [Int32] { CgroupfsTree.allPids(handle.active) }

    func update(_ r: LinuxResources) throws(SwrunError) {
        let layout = try CgroupLayout.discover()
        guard layout.hierarchies.count == handle.leaves.count else {
            throw SwrunError(.system, "update: the host's cgroup hierarchies changed since the container was created")
        }
        try ResourceCheck.validate(r, layout: layout, field: "resources")
        try ResourceApplier.apply(
            r, v1: Self.v1Dirs(layout, handle), v2: handle.unified, update: true, devices: false,
            missing: handle.skipped.isEmpty
                ? nil : "the container has no cgroup for it (rootless: the hierarchy was not writable at create)")
    }

    func stats() -> JSON { CgroupStats.collect(v1Leaves, v2: false) }

    func oomKills() -> UInt64 { CgroupStats.oomKills(v1Leaves, v2: false) }

    var oomEventFiles: [String] { [] }

    func destroy() throws(SwrunError) {
        try CgroupfsTree.destroy(leaves: handle.active, created: handle.created, v2Kill: handle.unified)
    }
}
