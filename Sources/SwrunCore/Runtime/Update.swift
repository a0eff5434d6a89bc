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
        if let d = r.devices, !d.isEmpty {
            throw SwrunError(.usage, "update: device rules cannot be changed on a running container (as runc)")
        }
        try CgroupDrivers.attach(rec.cgroup).update(r)
    }

    /// `events --stats` data, in runc's shape (types.Stats), from whichever hierarchy has it.
    public func stats(_ id: String) throws(SwrunError) -> JSON {
        try ContainerID.validate(id)
        let rec = try store.load(id)
        if ContainerStatus.derive(rec, store: store) == .stopped { throw SwrunError.notRunning }
        return CgroupDrivers.attach(rec.cgroup).stats()
    }

    /// The OOM-kill counter of the container's memory cgroup (v2 memory.events oom_kill, v1
    /// memory.oom_control oom_kill), for `events` to report increases.
    func oomKills(_ id: String) -> UInt64 {
        guard let rec = try? store.load(id) else { return 0 }
        return CgroupDrivers.attach(rec.cgroup).oomKills()
    }

    /// A descriptor that becomes readable when the container's OOM count may have changed
    /// (inotify on v2's memory.events), or nil where only polling tells (v1). A systemd
    /// scope's cgroup goes as soon as its last process exits, often the OOM-killed one:
    /// `events` must read the count the moment it changes, not at its next poll.
    func oomWatch(_ id: String) -> OwnedFD? {
        guard let rec = try? store.load(id) else { return nil }
        let files = CgroupDrivers.attach(rec.cgroup).oomEventFiles
        guard !files.isEmpty else { return nil }
        return try? Files.watchModified(files)
    }

    /// One event of `events`: a stats sample or an OOM kill.
    public enum Event: Sendable {
        case stats(JSON)
        case oom
    }

    /// `events`: a stats sample every `intervalMilliseconds` and an OOM event whenever the
    /// OOM-kill count grows, until the container stops or `handler` returns false. An OOM
    /// kill often ends the container: it is reported before the end.
    public func events(_ id: String, intervalMilliseconds: Int, _ handler: (Event) -> Bool) throws(SwrunError) {
        try ContainerID.validate(id)
        _ = try store.load(id)
        let watch = oomWatch(id)
        var ooms = oomKills(id)
        var next = 0
        while true {
            let stopped = isStopped(id)
            let o = oomKills(id)
            if o > ooms, !handler(.oom) { return }
            ooms = o
            if stopped { return }
            let now = Clock.monotonicMilliseconds()
            if now >= next {
                guard let s = try? stats(id) else { return }
                if !handler(.stats(s)) { return }
                next = now + intervalMilliseconds
            }
            if let watch {
                // Woken at once by an OOM kill (memory.events changed), else at the interval.
                _ = try? Files.pollReadable(watch.raw, timeoutMs: Int32(min(intervalMilliseconds, 50)))
                Files.drain(watch.raw)
            } else {
                Proc.sleep(milliseconds: min(intervalMilliseconds, 50))
            }
        }
    }

    public func isStopped(_ id: String) -> Bool {
        guard let rec = try? store.load(id) else { return true }
        return ContainerStatus.derive(rec, store: store) == .stopped
    }
}
