import OCISpec
import SwrunSys

/// The systemd cgroup driver (--systemd-cgroup), as runc's and crun's on a pure cgroup v2
/// host: the container's cgroup is a transient scope that systemd makes with the init in
/// it (StartTransientUnit: Delegate=yes, DefaultDependencies=no, the init's PID, and the
/// limits systemd knows as unit properties), and everything systemd does not manage is
/// written through cgroupfs into the scope's cgroup (the device filter, swap, unified
/// keys, ...), as runc's Set does after setUnitProperties. Freezing, signals, pids and
/// stats are cgroupfs reads and writes on the scope's cgroup (runc: fsMgr); `update` sets
/// the unit's properties and then the files; `delete` stops the unit.
///
/// D-Bus round trips are only those systemd needs: a create connects once (before the
/// clone, so an unreachable systemd fails before anything runs), starts the unit with its
/// limits in the same call, and waits for the job; systemd's version is asked only when a
/// conversion depends on it (SystemdProperties.needsVersion).
final class SystemdDriver: CgroupDriver {
    private(set) var handle: CgroupHandle
    /// Where the unit goes and what it is called (at create).
    private let unitPlacement: SystemdUnitPlacement?
    private var manager: SystemdManager?
    private var version = -1
    private var converted: SystemdResources?
    /// The unit has been started (or, for a driver made from a record, may have been).
    private var started: Bool

    /// A create's driver: the unit's name and cgroup from cgroupsPath ("slice:prefix:name",
    /// runc's defaults), before anything exists.
    /// `rootless` (Identity.rootlessCgroups): the user's own systemd instance, on its
    /// session bus, as runc's rootless systemd driver: the default slice is user.slice, and
    /// the unit's cgroup is below the instance's own (its ControlGroup, asked here).
    init(layout: CgroupLayout, cgroupsPath: String?, id: String, rootless: Bool = false) throws(SwrunError) {
        guard layout.isPureV2, let h = layout.hierarchies.first else {
            if rootless {
                throw SwrunError(
                    .usage,
                    "--systemd-cgroup: cannot use rootless systemd cgroups manager on cgroup v1 (this host mounts cgroup v1 hierarchies); run without --systemd-cgroup"
                )
            }
            throw SwrunError(
                .usage,
                "--systemd-cgroup: swrun's systemd cgroup driver needs a pure cgroup v2 host (this one mounts cgroup v1 hierarchies); use the cgroupfs driver (no --systemd-cgroup)"
            )
        }
        self.rootless = rootless
        let p = try SystemdProperties.placement(cgroupsPath: cgroupsPath, id: id, rootless: rootless)
        unitPlacement = p
        started = false
        var managerCgroup: String?
        if rootless {
            handle = CgroupHandle(driver: .systemd, rootless: true)
            do { managerCgroup = try connect().managerControlGroup() } catch {
                throw error.wrapped("systemd cgroup driver (rootless)")
            }
        }
        let path = try SystemdProperties.cgroupPath(p, managerCgroup: managerCgroup)
        // The cgroup2 mount may show a subtree only (swrun in a cgroup namespace): systemd's
        // path is from the hierarchy's root.
        let visible: String
        if h.root == "/" {
            visible = path
        } else if path.startsWithBytes(h.root + "/") {
            visible = String(path.dropFirst(h.root.utf8.count))
        } else {
            throw SwrunError(
                .system,
                "--systemd-cgroup: the unit's cgroup \(path) is outside this process's view of cgroup2 (\(h.root))")
        }
        let leaf = h.mountpoint + visible
        if let m = managerCgroup {
            managerDir = h.mountpoint + (h.root == "/" ? m : String(m.dropFirst(h.root.utf8.count)))
        }
        // The scope's cgroup is systemd's to make and remove; it is listed as made by swrun
        // so that a stop that left it behind (systemd gone) is finished by rmdir.
        handle = CgroupHandle(
            driver: .systemd, leaves: [leaf], created: [leaf], unified: leaf, unit: p.unitName, rootless: rootless)
    }

    /// The driver of an existing container, from its record.
    init(handle: CgroupHandle) {
        self.handle = handle
        unitPlacement = nil
        started = true
        rootless = handle.rootless
    }

    /// The user's own instance (the session bus) rather than the system's.
    private let rootless: Bool
    /// Rootless: the instance's own cgroup directory, whose controllers are all a user's
    /// units can have (user@.service's Delegate=; systemd 252 gives cpu, memory and pids).
    private var managerDir: String?

    var leaf: String { handle.leaves.first ?? "" }

    /// cgroupfs on the scope's cgroup.
    var cgroupfs: CgroupfsV2Driver { CgroupfsV2Driver(handle: handle) }

    /// What an unprivileged systemd instance cannot do is not asked of it: device rules (a
    /// BPF program needs privileges the user's instance lacks; runc's rootless containers
    /// go without, and their devices are the host's nodes, bound).
    private func unitResources(_ c: SystemdResources) -> [SystemdProperty] {
        rootless ? c.properties.filter { $0.name != "DevicePolicy" && $0.name != "DeviceAllow" } : c.properties
    }

    /// The unit turned out not to be ours (it existed before): the teardown of the failed
    /// create must neither stop it nor remove its cgroup.
    private func disown() {
        handle.unit = nil
        handle.created = []
    }

    private func connect() throws(SwrunError) -> SystemdManager {
        if let manager { return manager }
        do {
            let m = rootless ? try SystemdManager.connectUser() : try SystemdManager.connectAsRoot()
            manager = m
            return m
        } catch {
            if rootless {
                throw error.wrapped(
                    "systemd cgroup driver: cannot reach the user's systemd instance (its session bus: $DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus; "
                        + "a login session or loginctl enable-linger, and the dbus-user-session package, give one)")
            }
            throw error.wrapped("systemd cgroup driver: cannot reach systemd (the system bus, /run/systemd/private)")
        }
    }

    deinit { manager?.close() }

    func create(_ r: LinuxResources) throws(SwrunError) {
        if Files.exists(leaf) {
            // The unit exists already: it is joined, as runc's startUnit takes "already
            // exists" for done. The init is born in the unit's cgroup (placement, as for an
            // exec) and the limits are set on the unit (adopt); the unit stays its owner's:
            // swrun never stops it nor removes its cgroup (destroy).
            handle.joinedUnit = true
            handle.created = []
            started = true
            Log.debug("systemd cgroup driver: unit \(handle.unit ?? "") exists: joining it (\(leaf))")
        }
        if let dir = managerDir { try checkDelegated(r, dir: dir) }
        let m = try connect()
        if SystemdProperties.needsVersion(r) { version = try m.version() }
        let converted = try SystemdProperties.resourcesV2(r, systemdVersion: version)
        for w in converted.warnings { Log.warning(w) }
        self.converted = converted
    }

    /// Rootless: a limit whose controller the user's instance was not given cannot be
    /// applied; it is refused before the unit is started, with what the instance has.
    func checkDelegated(_ r: LinuxResources, dir: String) throws(SwrunError) {
        let text = (try? Files.readString(dir + "/cgroup.controllers")) ?? ""
        let available = text.split(separator: " ").map { trimWhitespace($0) }.filter { !$0.isEmpty }
        for (field, controller) in ResourceApplier.requested(r) {
            let name = controller == "blkio" ? "io" : controller
            guard !available.contains(name) else { continue }
            throw SwrunError(
                .invalidConfig,
                "linux.resources.\(field): the \(name) controller is not delegated to the user's systemd instance "
                    + "(\(dir) has \(available.isEmpty ? "none" : available.joinedText(" ")); user@.service's Delegate= gives more)"
            )
        }
    }

    /// Before the scope exists there is nothing to be born in: systemd moves the init into
    /// it. An exec'd process is born in the scope's cgroup, as with cgroupfs.
    func placement(_ dirs: [String]) throws(SwrunError) -> CgroupPlacement {
        guard started else { return CgroupPlacement() }
        return try cgroupfs.placement(dirs)
    }

    func adopt(pid: Int32, v2Left: String?, resources: LinuxResources) throws(SwrunError) {
        guard let p = unitPlacement, let converted, let unit = handle.unit else {
            throw SwrunError(.system, "systemd cgroup driver: adopt before create")
        }
        let m = try connect()
        if handle.joinedUnit {
            // An existing unit: the init is in its cgroup (born there, or placed now), and
            // the config's limits become the unit's properties and files, as runc's Set.
            try cgroupfs.join(pid: pid, v2Left: v2Left)
            guard CgroupfsTree.pids(leaf).contains(pid) else {
                throw SwrunError(
                    .system,
                    "systemd cgroup driver: the container's init (pid \(pid)) is not in \(unit)'s cgroup \(leaf)")
            }
            let properties = unitResources(converted)
            if !properties.isEmpty {
                do { try m.setUnitProperties(unit, properties: properties) } catch {
                    throw error.wrapped("systemd cgroup driver: set properties of the existing unit \(unit)")
                }
            }
            var r = resources
            if let q = converted.cpuQuota { r.cpu?.quota = q }
            try ResourceApplier.apply(r, v1: [], v2: leaf, devices: !rootless)
            return
        }
        let properties =
            try SystemdProperties.unitProperties(p, pid: pid, unified: resources.unified, systemdVersion: version)
            + unitResources(converted)
        do {
            try m.startUnit(unit, properties: properties)
        } catch  where error.errno == Errno.EEXIST {
            disown()
            throw error.wrapped("systemd cgroup driver: start unit \(unit)")
        } catch {
            throw error.wrapped("systemd cgroup driver: start unit \(unit)")
        }
        started = true
        // The limits only take effect if the init is where they are: systemd says the job
        // is done, the kernel says where the process is.
        guard CgroupfsTree.pids(leaf).contains(pid) else {
            throw SwrunError(
                .system,
                "systemd cgroup driver: unit \(unit) started, but the container's init (pid \(pid)) is not in \(leaf)")
        }
        // What systemd does not manage, through cgroupfs (runc's Set: the unit's
        // properties, then fs2's writes), with the CPU quota as systemd rounded it.
        var r = resources
        if let q = converted.cpuQuota { r.cpu?.quota = q }
        try ResourceApplier.apply(r, v1: [], v2: leaf, devices: !rootless)
    }

    func join(pid: Int32, v2Left: String?) throws(SwrunError) { try cgroupfs.join(pid: pid, v2Left: v2Left) }

    func freeze(_ frozen: Bool) throws(SwrunError) { try cgroupfs.freeze(frozen) }

    func freezerState() -> String? { cgroupfs.freezerState() }

    func signalAll(_ sig: Int32) throws(SwrunError) { try cgroupfs.signalAll(sig) }

    func pids() -> [Int32] { cgroupfs.pids() }

    /// runc's update on the systemd driver: the unit's properties first (so that a later
    /// daemon-reload or restart of systemd keeps them), then the files. The device rules
    /// are not sent: `update` never changes them, and systemd would take an absent list
    /// as "none but the defaults".
    func update(_ r: LinuxResources) throws(SwrunError) {
        try ResourceCheck.validate(r, layout: CgroupLayout.pureV2, field: "resources")
        guard let unit = handle.unit else {
            throw SwrunError(.system, "systemd cgroup driver: the container's record names no unit")
        }
        let m = try connect()
        if SystemdProperties.needsVersion(r) { version = try m.version() }
        let converted = try SystemdProperties.resourcesV2(r, systemdVersion: version)
        for w in converted.warnings { Log.warning(w) }
        let properties = unitResources(converted).filter { $0.name != "DevicePolicy" && $0.name != "DeviceAllow" }
        if !properties.isEmpty {
            do { try m.setUnitProperties(unit, properties: properties) } catch {
                throw error.wrapped("systemd cgroup driver: set properties of \(unit)")
            }
        }
        var r = r
        if let q = converted.cpuQuota { r.cpu?.quota = q }
        try ResourceApplier.apply(r, v1: [], v2: leaf, update: true)
    }

    func stats() -> JSON { cgroupfs.stats() }

    func oomKills() -> UInt64 { cgroupfs.oomKills() }

    var oomEventFiles: [String] { cgroupfs.oomEventFiles }

    /// What is left in the scope is killed first (a stop would send SIGTERM and wait up to
    /// its timeout), then the unit is stopped (systemd removes its cgroup; a unit already
    /// gone is fine), then anything systemd left is removed by rmdir.
    func destroy() throws(SwrunError) {
        // Only a unit that is ours: one that a create found existing was joined (or, in a
        // race with its start, disowned), and is its owner's to stop. The container's own
        // processes went with its init (Teardown, before this).
        guard handle.unit != nil, !handle.joinedUnit else { return }
        if Files.exists(leaf) { CgroupfsTree.thawAndKill([leaf], v2Kill: leaf) }
        if let unit = handle.unit, started {
            let m = try connect()
            do { try m.stopUnit(unit) } catch { throw error.wrapped("systemd cgroup driver: stop unit \(unit)") }
        }
        try CgroupfsTree.destroy(leaves: [leaf], created: handle.created, v2Kill: leaf)
    }
}
