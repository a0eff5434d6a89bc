import OCISpec
import SwrunSys

extension Runtime {
    /// `update`: writes new limits into a live container's cgroups. The kernel's files are
    /// the record of the limits (events --stats reads them back); the saved configuration
    /// keeps what create was given.
    public func update(_ id: String, _ r: LinuxResources) throws(SwrunError) {
        try ContainerID.validate(id)
        let lock = try store.lock(id)
        defer { withExtendedLifetime(lock) {} }
        let rec = try store.load(id)
        if ContainerStatus.derive(rec, store: store) == .stopped { throw SwrunError.notRunning }
        let layout = try CgroupLayout.discover()
        guard layout.hierarchies.count == rec.cgroupLeaves.count else {
            throw SwrunError(.system, "update: the host's cgroup hierarchies changed since the container was created")
        }
        if let d = r.devices, !d.isEmpty {
            throw SwrunError(.usage, "update: device rules cannot be changed on a running container (as runc)")
        }
        try ResourceCheck.validate(r, layout: layout, field: "resources")
        try ResourceApplier.apply(r, leaves: rec.cgroupLeaves, layout: layout, update: true)
    }

    /// `events --stats` data, in runc's shape (types.Stats), from whichever hierarchy has it.
    public func stats(_ id: String) throws(SwrunError) -> JSON {
        try ContainerID.validate(id)
        let rec = try store.load(id)
        if ContainerStatus.derive(rec, store: store) == .stopped { throw SwrunError.notRunning }
        return CgroupStats.collect(rec.cgroupLeaves)
    }

    /// The OOM-kill counter of the container's memory cgroup (v2 memory.events oom_kill, v1
    /// memory.oom_control oom_kill), for `events` to report increases.
    public func oomKills(_ id: String) -> UInt64 {
        guard let rec = try? store.load(id) else { return 0 }
        return CgroupStats.oomKills(rec.cgroupLeaves)
    }

    public func isStopped(_ id: String) -> Bool {
        guard let rec = try? store.load(id) else { return true }
        return ContainerStatus.derive(rec, store: store) == .stopped
    }
}
