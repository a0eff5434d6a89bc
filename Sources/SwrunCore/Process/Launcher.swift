import OCISpec
import SwrunSys

/// The parent side of `create`: validate, plan, record, clone, drive the sync protocol,
/// and on any failure remove everything this create made.
enum Launcher {
    struct Created {
        var record: ContainerRecord
        var pid: Int32
        var lock: StateStore.Lock
        var relay: TTYRelay?
        /// Open until the init's execve (`run` waits for its EOF).
        var channel: SyncChannel
    }

    static func create(id: String, bundle: String, options: CreateOptions, pidFile: String?, store: StateStore)
        throws(SwrunError) -> Created
    {
        try ContainerID.validate(id)
        // A pid file that could not be written is refused before anything exists.
        if let pidFile { try sys("--pid-file") { try Files.checkReplaceable(pidFile) } }
        // Relative paths in config.json are bundle-relative (runc chdirs into the bundle;
        // swrun resolves them against it instead, and leaves the caller's working directory
        // alone: a library caller did not ask for it to change). The bundle by its real
        // path, as runc's getcwd after its chdir gives it.
        let bundlePath: String
        do throws(SyscallError) {
            bundlePath = try Files.realpath(bundle)
            guard try Files.stat(bundlePath).isDirectory else {
                throw SyscallError("chdir", bundle, errno: Errno.ENOTDIR)
            }
        } catch {
            throw SwrunError(.invalidConfig, error.description, errno: error.errno)
        }
        let spec: Spec, configBytes: [UInt8]
        if let given = options.config {
            (spec, configBytes) = (try Validation.spec(given), given)
        } else {
            (spec, configBytes) = try loadSpec(bundlePath)
        }
        let layout = try CgroupLayout.discover()
        var options = options
        options.seccompCache = store.root + "/.cache/seccomp"
        var (plan, cgroups) = try Validation.planAndDriver(
            spec, bundle: bundlePath, id: id, layout: layout, options: options)
        if let run = options.run { try protectIfExposed(plan, run, bundle: bundlePath) }
        let (console, relay) = try Console.connect(
            options.consoleSocket, terminal: plan.terminal, detached: options.detached)
        plan.consoleSocket = console?.raw ?? relay?.theirs.raw ?? -1
        Console.startAtOurSize(&plan, relay: relay)
        let listener = try SeccompNotify.connect(plan)
        plan.seccompListener = listener?.raw ?? -1
        // Every hook is checked before anything exists: a bad poststop hook must not leave a
        // state directory behind.
        let hooks = spec.hooks ?? Hooks()
        let runtimeHooks =
            try PlanBuilder.validHooks(hooks.prestart, "hooks.prestart")
            + PlanBuilder.validHooks(hooks.createRuntime, "hooks.createRuntime")
        let me = Proc.getpid()
        var record = ContainerRecord(
            id: id, bundle: bundlePath, rootfs: plan.rootfs, created: Timestamp.rfc3339(nanoseconds: true),
            ociVersion: spec.ociVersion, annotations: spec.annotations ?? [:], owner: "",
            creatorPid: me, creatorStartTime: ProcFS.startTime(of: me) ?? 0)
        record.rootless = !plan.creator.isHostRoot
        // The driver has named what it will make (directories, a systemd unit); the record
        // names it before any of it exists (crash safety).
        record.cgroup = cgroups.handle
        record.ownerUid = Creds.geteuid()
        record.poststart = try PlanBuilder.validHooks(hooks.poststart, "hooks.poststart")
        record.poststop = try PlanBuilder.validHooks(hooks.poststop, "hooks.poststop")
        // From here on, any failure goes through the one teardown (Teardown.destroy), the
        // same as `delete --force`: nothing is left behind.
        let lock = try store.createDirectory(id)
        var pid: Int32 = 0
        do {
            try Notify.prepare(&plan, stateDir: store.directory(id))
            // Crash safety: each thing is recorded before it is made (the cgroup directories
            // that do not exist yet and the systemd unit included).
            try store.save(record)
            // exec reads the configuration the container was created with, not the bundle's
            // current one. Written in place: the directory is new and ours alone until the
            // container is set up, when nothing has read it yet (one inode, no rename).
            try sys("save config") { try Files.writeNew(store.directory(id) + "/config.json", configBytes) }
            // 0622 whatever our umask: the init opens it after switching to the container's user.
            try sys("create exec fifo") {
                try Files.mkfifo(store.fifoPath(id), mode: 0o622)
                try Files.chmod(store.fifoPath(id), mode: 0o622)
            }
            let resources = spec.linux?.resources ?? LinuxResources()
            try cgroups.create(resources)
            if cgroups.handle != record.cgroup {
                // The driver found something not to be made but joined (an existing systemd
                // unit): the record says so before the init exists, so that no teardown
                // stops or removes what is not the container's.
                record.cgroup = cgroups.handle
                try store.save(record)
            }
            plan.hookState = HookStateTemplate(Runtime.state(record, status: .created, pid: 0))
            let channel: SyncChannel
            let v2Left: String?
            (pid, channel, v2Left) = try spawnInit(
                plan, cgroups: cgroups, runtimeHooks: !runtimeHooks.isEmpty, stateDir: store.directory(id), lock: lock)
            record.initPid = pid
            record.initStartTime = ProcFS.startTime(of: pid) ?? 0
            // The pid is saved with the setup's completion, before the init may outlive us
            // (until then it dies with us: PDEATHSIG). Hooks that run in between may ask for
            // the state, so it is saved for them now.
            if !runtimeHooks.isEmpty || !plan.createContainerHooks.isEmpty { try store.save(record) }
            // The init waits for cgroupsReady: placed by the driver before it goes on.
            try cgroups.adopt(pid: pid, v2Left: v2Left, resources: resources)
            if plan.newUserNamespace || plan.userJoinPath != nil { try prepareUserNamespace(plan, pid: pid) }
            try handshake(
                channel, pid: pid, record: &record, runtimeHooks: runtimeHooks, pidFile: pidFile, store: store,
                completeAtExec: options.run != nil, plan: plan)
            if let path = options.pidfdSocket { try PidfdSocket.send(pid: pid, to: path) }
            console?.close()
            listener?.close()
            return Created(record: record, pid: pid, lock: lock, relay: relay, channel: channel)
        } catch {
            Log.debug("create failed, cleaning up: \(error.message)")
            if pid > 0 {
                // Our child: killed and reaped here (a zombie would count as gone, but would
                // stay a zombie until we exit).
                _ = try? Proc.kill(pid, Signals.kill)
                _ = try? Proc.waitpid(pid)
            }
            // What the driver found not to be ours (a systemd unit that existed) is off the
            // list now.
            record.cgroup = cgroups.handle
            do { try Teardown.destroy(record, store: store, hookCwd: bundlePath) } catch let cleanup {
                // One error line (podman reads the log as one object): the cause, and what
                // could not be undone.
                throw SwrunError(
                    error.kind, "\(error.message) (and cleaning up failed: \(cleanup.message))", errno: error.errno)
            }
            withExtendedLifetime(lock) {}
            throw error
        }
    }

    /// CVE-2019-5736 (SealedBinary). A process of the container that can see a process whose
    /// exe is swrun's file can hold that exe and write it once swrun exits. `create` and
    /// `exec` always run from a protected view: the init of a created container waits as
    /// swrun's image for as long as `start` takes, and `exec` enters a container whose
    /// processes already run. `run` starts its init at once, and until the init's execve no
    /// other process can be in the init's new PID namespace: the parent is outside it, the
    /// state says "creating" (which `exec` refuses) until `run` has seen the execve (the EOF
    /// of the sync socket), and nothing else is spawned in it. So `run` re-executes from a
    /// protected view only when that does not hold: a PID namespace joined or shared with
    /// the host, or hooks the init runs inside the container (createContainer,
    /// startContainer). Returns the reason, or nil.
    static func exposure(_ plan: LaunchPlan) -> String? {
        if plan.pidJoinPath != nil { return "the container joins an existing PID namespace" }
        if plan.cloneFlags & NamespaceFlag.pid == 0 { return "the container shares swrun's PID namespace" }
        if !plan.createContainerHooks.isEmpty || !plan.startContainerHooks.isEmpty {
            return "createContainer/startContainer hooks run in the container's PID namespace"
        }
        return nil
    }

    /// `run`: re-executes from a protected view (before anything is made) if `exposure` says
    /// so; returns otherwise.
    static func protectIfExposed(_ plan: LaunchPlan, _ run: CreateOptions.Run, bundle: String) throws(SwrunError) {
        guard let why = exposure(plan) else {
            Log.debug(
                "CVE-2019-5736: run needs no protected view (a new PID namespace, no hooks inside it, \"creating\" until the init's execve)"
            )
            return
        }
        Log.debug("CVE-2019-5736: run needs a protected view: \(why)")
        // The re-executed swrun parses the same arguments, in the caller's (unchanged)
        // working directory.
        do { try SealedBinary.ensure(scratch: run.scratch, argv: run.argv) } catch {
            throw SwrunError(.system, "cannot protect the swrun binary (CVE-2019-5736): \(error)")
        }
        if let note = SealedBinary.note { Log.debug("CVE-2019-5736: \(note)") }
    }

    static func loadSpec(_ bundle: String) throws(SwrunError) -> (Spec, [UInt8]) {
        let bytes = try Validation.configBytes(bundle)
        return (try Validation.spec(bytes), bytes)
    }

    /// Clones the init. Joining an existing PID namespace is done here, in the parent, since
    /// setns(CLONE_NEWPID) only applies to children: no extra process is needed.
    static func spawnInit(
        _ plan: LaunchPlan, cgroups: any CgroupDriver, runtimeHooks: Bool, stateDir: String, lock: StateStore.Lock
    ) throws(SwrunError) -> (Int32, SyncChannel, String?) {
        // Its own O_PATH fd, not the locked one: flock belongs to the open file description,
        // and an init holding the locked description would hold the lock until `start`.
        let dirFd = try sys { try Files.open(stateDir, OpenFlags.path | OpenFlags.directory) }
        let (parentEnd, childEnd) = try sys("create sync socket") { try PacketSocket.pair() }
        let helper = NamespaceHelper.needed(plan)
        var restore: PidNamespaceRestore?
        if let path = plan.pidJoinPath, !helper {
            let fd = try sys("open pid namespace") { try Files.open(path, OpenFlags.readOnly) }
            restore = try PidNamespaceRestore(joining: fd.raw, display: path)
        }
        defer { restore?.undo() }
        let me = Proc.getpid()
        // Cgroup placement without the kernel's global threadgroup lock (CgroupPlacement):
        // the init is born in its v2 cgroup (clone3 CLONE_INTO_CGROUP) and joins the v1
        // hierarchies itself; only where clone3 cannot place it does the parent write the v2
        // cgroup.procs. A systemd scope is made with the init in it, after the clone.
        let placement = try cgroups.placement(plan.cgroupLeaves)
        // With a joined user namespace (and the other cases NamespaceHelper names) the clone
        // makes the helper, which joins and makes the init, our child all the same.
        let (child, inV2) = try cloneInto(placement, flags: helper ? 0 : plan.cloneFlags)
        if child == 0 {
            // The child's copy of the locked description would keep `start` waiting.
            lock.unlock()
            parentEnd.fd.close()
            let ctx = InitSequence.Context(
                plan: plan, channel: SyncChannel(childEnd, role: "init"), stateDir: dirFd.raw, parentPid: me,
                runtimeHooks: runtimeHooks, cgroupTasks: placement.tasks)
            if helper {
                NamespaceHelper.run(NamespaceHelper.joins(plan), cloneFlags: plan.cloneFlags, channel: ctx.channel) {
                    proc in
                    var c = ctx
                    c.helperProc = proc
                    InitSequence.run(c)
                }
            }
            InitSequence.run(ctx)
        }
        placement.closeTasks()
        childEnd.fd.close()
        let channel = SyncChannel(parentEnd, role: "create")
        let pid = helper ? try NamespaceHelper.awaitMade(channel, helper: child) : child
        return (pid, channel, inV2 ? nil : placement.v2)
    }

    /// Fork-like clone with `flags`, into `placement`'s v2 cgroup where there is one; true
    /// if clone3 placed the child there (false: the caller writes the v2 cgroup.procs).
    static func cloneInto(_ placement: CgroupPlacement, flags: Int32) throws(SwrunError) -> (Int32, Bool) {
        try sys {
            try Proc.withSignalsBlocked { () throws(SyscallError) -> (Int32, Bool) in
                if let fd = placement.v2Fd, let pid = try Proc.fork(namespaces: flags, intoCgroup: fd.raw) {
                    if pid != 0 { Log.debug("child born in its cgroup (clone3 CLONE_INTO_CGROUP)") }
                    return (pid, true)
                }
                return (try Proc.fork(namespaces: flags), false)
            }
        }
    }

    /// `v2Left`: the v2 cgroup the clone could not place the init in (the parent joins it).
    /// Each bind mount's source, opened (O_PATH) by us, with the host's root's rights, but
    /// through /proc/<init>/root so that the descriptor belongs to the init's mount
    /// namespace (open_tree there refuses a mount of another namespace); sent in mount order.
    /// An id-mapped mount's source goes as its detached, id-mapped tree (IDMappedMounts).
    static func sendBindSources(_ plan: LaunchPlan, pid: Int32, _ channel: SyncChannel) throws(SwrunError) {
        let root = "/proc/" + Digits.decimal(pid) + "/root"
        var namespaces: [(map: MountIDMap, ns: OwnedFD)] = []
        for (i, op) in plan.mounts.enumerated() {
            guard case .bind(let source, let recursive) = op.kind else { continue }
            if op.idmap != nil {
                let tree = try IDMappedMounts.tree(
                    op, index: i, source: source, recursive: recursive, pid: pid, made: &namespaces)
                try channel.sendDescriptor(tree.raw)
                continue
            }
            let fd = try sys("mounts[\(i)]: open bind source \(Quote.short(source))") {
                try Files.open(root + source, OpenFlags.path)
            }
            try channel.sendDescriptor(fd.raw)
        }
    }

    static func handshake(
        _ channel: SyncChannel, pid: Int32, record: inout ContainerRecord, runtimeHooks: [Hook], pidFile: String?,
        store: StateStore, completeAtExec: Bool, plan: LaunchPlan
    ) throws(SwrunError) {
        // Hooks see "created", as crun's and runtime-tools' reading of the spec has it (the
        // container exists and waits for start; runc says "creating"; no engine's hook cares).
        let state = Runtime.state(record, status: .created, pid: pid)
        try channel.send(.cgroupsReady(pid: pid))
        if plan.parentOpensBindSources { try sendBindSources(plan, pid: pid, channel) }
        while true {
            guard let m = try channel.receive() else {
                throw SwrunError(
                    .system,
                    "unable to start container process: \(initExitReason(pid, cgroups: CgroupDrivers.attach(record.cgroup)))"
                )
            }
            switch m {
            case .runHooks:
                try HookRunner.run(
                    runtimeHooks, kind: "prestart/createRuntime", state: state.hookJSON.encoded(), cwd: record.bundle)
                try channel.send(.hooksDone)
            case .ready:
                // `run` says "created" only once the init has executed the user's program
                // (Runtime.run); the pid is recorded now all the same, for `delete --force`.
                record.setupComplete = !completeAtExec
                try store.save(record)
                if let pidFile { try writePidFile(pidFile, pid) }
                try channel.send(.proceed)
                // The init has cleared its parent-death signal and may outlive us.
                _ = try channel.expect("handedOver")
                return
            case .error(let e, let msg):
                throw SwrunError(.system, "unable to start container process: \(msg)", errno: e)
            default:
                throw SwrunError(.system, "unexpected sync message \(m.name)")
            }
        }
    }

    /// Why an init that closed its sync socket before the handover is gone: it can no
    /// longer say so itself (killed, or its error did not get out). Its exit status, and the
    /// OOM killer's count in its memory cgroup, tell the user what to change.
    static func initExitReason(_ pid: Int32, cgroups: any CgroupDriver) -> String {
        let status = try? Proc.waitpid(pid)
        if cgroups.oomKills() > 0 {
            return
                "container init was killed by the OOM killer during setup: linux.resources.memory.limit is too small for it"
        }
        switch status {
        case .exited(let c)?: return "container init exited unexpectedly (exit status \(c))"
        case .signaled(let sig)?: return "container init exited unexpectedly (killed by signal \(sig))"
        default: return "container init exited unexpectedly"
        }
    }

    /// What only the parent can do for an init in its own user namespace, before it goes on:
    /// write its id maps (the init then becomes the namespace's root), and raise limits and
    /// lower oom_score_adj, which need privileges in the host's user namespace.
    static func prepareUserNamespace(_ plan: LaunchPlan, pid: Int32) throws(SwrunError) {
        if plan.newUserNamespace { try IDMaps.write(pid: pid, plan: plan) }
        if plan.limitsByParent { try setLimits(plan, pid: pid) }
    }

    /// rlimits and oom_score_adj of a process in a user namespace, set from outside it
    /// (LaunchPlan.limitsByParent): the init's, and an exec'd process's.
    static func setLimits(_ plan: LaunchPlan, pid: Int32) throws(SwrunError) {
        for r in plan.rlimits {
            let e = Rlimits.set(pid: pid, r.resource, soft: r.soft, hard: r.hard)
            if e != 0 { throw r.failure(e) }
        }
        if let adj = plan.oomScoreAdj {
            try sys("set oom_score_adj") { try Files.writeFile("/proc/\(pid)/oom_score_adj", String(adj)) }
        }
    }

    /// A bare decimal pid, no newline (containerd parses it with strconv.Atoi), written
    /// atomically so a reader never sees a partial file.
    static func writePidFile(_ path: String, _ pid: Int32) throws(SwrunError) {
        try sys("write pid file") { try Files.replaceRegular(path, Array(Digits.decimal(pid).utf8), mode: 0o644) }
    }
}

/// setns(CLONE_NEWPID) changes only where our next child is born; this puts that back when
/// the clone is done, on the error paths too (a later hook must not start in the container's
/// pid namespace).
final class PidNamespaceRestore {
    let own: OwnedFD

    init(joining fd: Int32, display: String) throws(SwrunError) {
        own = try sys { try Files.open("/proc/self/ns/pid", OpenFlags.readOnly) }
        try sys("join pid namespace") { try Namespaces.setns(fd, NamespaceFlag.pid, display: display) }
    }

    func undo() {
        // Our own (active) pid namespace is always a valid target; a failure here would leave
        // hooks in the container's namespace, so it ends the process rather than go unnoticed.
        do { try Namespaces.setns(own.raw, NamespaceFlag.pid, display: "/proc/self/ns/pid") } catch {
            Log.error("restore pid namespace: \(error)")
            Proc.exit(1)
        }
    }
}
