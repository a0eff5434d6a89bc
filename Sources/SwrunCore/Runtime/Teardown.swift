import OCISpec
import SwrunSys

/// The one teardown of a container: a failed create, the end of a foreground `run`, and
/// `delete` (with or without --force) all go through here, so processes, cgroups, poststop
/// hooks and state are handled the same way everywhere (runc's destroy does the same).
/// Idempotent: a teardown interrupted half way is finished by the next `delete --force`,
/// since the record still names everything and each step skips what is already gone.
enum Teardown {
    /// `hookCwd`: the poststop hooks' working directory (the bundle for a failed create and
    /// the end of `run`, where runc is in the bundle; the caller's for `delete`).
    static func destroy(_ r: ContainerRecord, store: StateStore, hookCwd: String? = nil) throws(SwrunError) {
        // 1. The init, if it is still the process that was recorded (pid + start time: a
        //    recycled pid is never signalled). Its death takes its PID namespace with it.
        if ProcFS.isSameLiveProcess(pid: r.initPid, startTime: r.initStartTime) {
            _ = try? Proc.kill(r.initPid, Signals.kill)
            for _ in 0..<400 where ProcFS.isSameLiveProcess(pid: r.initPid, startTime: r.initStartTime) {
                Proc.sleep(milliseconds: 5)
            }
        }
        // 2. A create that never finished (killed, or stalled): its process holds the sync
        //    socket and would go on.
        if r.creatorPid != Proc.getpid(), ProcFS.isSameLiveProcess(pid: r.creatorPid, startTime: r.creatorStartTime),
            !r.setupComplete
        {
            _ = try? Proc.kill(r.creatorPid, Signals.kill)
        }
        // 3. The cgroups swrun made, with whatever the container made inside them; any
        //    process left there (a joined PID namespace keeps them alive) is killed first.
        try CgroupDrivers.attach(r.cgroup).destroy()
        // 4. poststop hooks, every one of them: a failure is a warning (the spec's words).
        HookRunner.runAll(
            r.poststop, kind: "poststop", state: Runtime.state(r, status: .stopped, pid: 0).hookJSON.encoded(),
            cwd: hookCwd)
        // 5. The state directory last: until here `delete --force` can find and finish it.
        try store.remove(r.id)
    }
}
