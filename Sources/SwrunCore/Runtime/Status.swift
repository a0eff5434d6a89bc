import SwrunSys

/// Container status, derived from the kernel every time it is asked for.
public enum ContainerStatus: String, Sendable {
    case creating, created, running, paused, stopped

    /// - creating: setup is under way and the `swrun create` process is still alive;
    /// - stopped: the init process is gone (or a create died before handing over);
    /// - paused: the freezer holds the cgroup;
    /// - created: the init waits on exec.fifo (the fifo exists);
    /// - running: otherwise.
    public static func derive(_ r: ContainerRecord, store: StateStore) -> ContainerStatus {
        derive(r, StatusReader(store))
    }

    static func derive(_ r: ContainerRecord, _ reader: StatusReader) -> ContainerStatus {
        if !r.setupComplete, reader.liveState(r.creatorPid, r.creatorStartTime) != nil { return .creating }
        // Whenever an init is recorded, its own liveness decides: a `run -d` killed after the
        // handover (the init no longer dies with it) leaves a container that runs, and kill,
        // exec and ps must reach it. Before the handover the init dies with its creator.
        guard let state = reader.liveState(r.initPid, r.initStartTime) else { return .stopped }
        if CgroupDrivers.isFrozen(r.cgroup, initState: state, read: reader.read) { return .paused }
        if reader.fifoExists(r.id) { return .created }
        return .running
    }
}

/// What status derivation reads, for one container or for many in a row (`list`): /proc,
/// the state root and each cgroup's parent directory are opened once, and every file is
/// opened by a short path relative to them (a path walk through sysfs is most of the cost
/// of a read there).
final class StatusReader {
    let store: StateStore
    private var dirs: [String: OwnedFD] = [:]
    private let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 16384)

    init(_ store: StateStore) { self.store = store }
    deinit { scratch.deallocate() }

    /// `rest` (a relative path) read under the directory `base`, opened once.
    func read(_ base: String, _ rest: String) -> [UInt8]? {
        guard let dir = directory(base) else { return try? Files.readSmall(base + "/" + rest) }
        return try? Files.readSmallAt(dir, rest, scratch: scratch)
    }

    private func directory(_ base: String) -> Int32? {
        if let fd = dirs[base] { return fd.raw >= 0 ? fd.raw : nil }
        let fd = (try? Files.open(base, OpenFlags.path | OpenFlags.directory)) ?? OwnedFD(-1)
        dirs[base] = fd
        return fd.raw >= 0 ? fd.raw : nil
    }

    private lazy var proc: Int32? = directory("/proc")
    private lazy var root: Int32? = directory(store.root)

    /// The state letter of `pid` if it is the live process that started at `startTime`.
    func liveState(_ pid: Int32, _ startTime: UInt64) -> UInt8? {
        guard pid > 0 else { return nil }
        let b: [UInt8]?
        if let proc {
            b = try? Files.readSmallAt(proc, "\(pid)/stat", scratch: scratch)
        } else {
            b = try? Files.readSmall("/proc/\(pid)/stat")
        }
        guard let b else { return nil }
        return ProcFS.liveState(stat: b, startTime: startTime)
    }

    func fifoExists(_ id: String) -> Bool {
        guard let root else { return Files.exists(store.fifoPath(id)) }
        return Files.existsAt(root, id + "/exec.fifo")
    }

    func stateFile(_ id: String) -> [UInt8]? {
        guard let root else { return try? Files.readSmall(store.directory(id) + "/state.json", max: 16384) }
        return try? Files.readSmallAt(root, id + "/state.json", scratch: scratch)
    }
}
