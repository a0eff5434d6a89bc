import SwrunSys

/// Container status, derived from the kernel every time it is asked for.
public enum ContainerStatus: String, Sendable {
    case creating, created, running, paused, stopped

    /// - creating: setup is under way and the `swrun create` process is still alive;
    /// - stopped: the init process is gone (or a create died before finishing);
    /// - paused: the freezer holds the cgroup;
    /// - created: the init waits on exec.fifo (the fifo exists);
    /// - running: otherwise.
    public static func derive(_ r: ContainerRecord, store: StateStore) -> ContainerStatus {
        if !r.setupComplete {
            return ProcFS.isSameLiveProcess(pid: r.creatorPid, startTime: r.creatorStartTime) ? .creating : .stopped
        }
        guard ProcFS.isSameLiveProcess(pid: r.initPid, startTime: r.initStartTime) else { return .stopped }
        if CgroupManager.freezerState(r.cgroupLeaves) == "FROZEN" { return .paused }
        if Files.exists(store.fifoPath(r.id)) { return .created }
        return .running
    }
}
