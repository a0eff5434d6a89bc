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
    }

    static func create(id: String, bundle: String, options: CreateOptions, pidFile: String?, store: StateStore) throws(SwrunError) -> Created {
        try ContainerID.validate(id)
        // runc chdirs into the bundle: relative paths in config.json are bundle-relative.
        let bundlePath: String
        do {
            try Files.chdir(bundle)
            bundlePath = try Files.getcwd()
        } catch {
            throw SwrunError(.invalidConfig, error.description)
        }
        let (spec, configBytes) = try loadSpec(bundlePath)
        let layout = try CgroupLayout.discover()
        let leaves = try layout.directories(cgroupsPath: spec.linux?.cgroupsPath, id: id)
        var options = options
        options.seccompCache = store.root + "/.cache/seccomp"
        var plan = try PlanBuilder.build(spec: spec, bundle: bundlePath, id: id, options: options, layout: layout, cgroupLeaves: leaves)
        let (console, relay) = try Console.connect(options.consoleSocket, terminal: plan.terminal, detached: options.detached)
        plan.consoleSocket = console?.raw ?? relay?.theirs.raw ?? -1
        let listener = try SeccompNotify.connect(plan)
        plan.seccompListener = listener?.raw ?? -1
        let hooks = spec.hooks ?? Hooks()
        let runtimeHooks = try PlanBuilder.validHooks(hooks.prestart, "hooks.prestart") + PlanBuilder.validHooks(hooks.createRuntime, "hooks.createRuntime")
        let lock = try store.createDirectory(id)
        do { try Notify.prepare(&plan, stateDir: store.directory(id)) } catch {
            try? store.remove(id)
            throw error
        }
        let me = Proc.getpid()
        var record = ContainerRecord(
            id: id, bundle: bundlePath, rootfs: plan.rootfs, created: Clock.rfc3339(nanoseconds: true),
            ociVersion: spec.ociVersion, annotations: spec.annotations ?? [:], owner: "",
            creatorPid: me, creatorStartTime: ProcFS.startTime(of: me) ?? 0)
        record.cgroupLeaves = leaves
        record.ownerUid = Creds.geteuid()
        record.poststart = try PlanBuilder.validHooks(hooks.poststart, "hooks.poststart")
        record.poststop = try PlanBuilder.validHooks(hooks.poststop, "hooks.poststop")
        var pid: Int32 = 0
        do {
            // Crash safety: each thing is recorded before it is made (the cgroup directories
            // that do not exist yet included).
            record.cgroupCreated = missingDirectories(leaves)
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
            _ = try CgroupManager.create(leaves, layout: layout)
            ResourceApplier.enableControllers(layout: layout, leaves: leaves, created: record.cgroupCreated)
            try ResourceApplier.apply(spec.linux?.resources ?? LinuxResources(), leaves: leaves, layout: layout, nodes: plan.devices)
            let channel: SyncChannel
            let placed: Bool
            (pid, channel, placed) = try spawnInit(plan, runtimeHooks: !runtimeHooks.isEmpty, stateDir: store.directory(id), lock: lock)
            record.initPid = pid
            record.initStartTime = ProcFS.startTime(of: pid) ?? 0
            // The pid is saved with the setup's completion, before the init may outlive us
            // (until then it dies with us: PDEATHSIG). Hooks that run in between may ask for
            // the state, so it is saved for them now.
            if !runtimeHooks.isEmpty || !plan.createContainerHooks.isEmpty { try store.save(record) }
            if plan.newUserNamespace { try prepareUserNamespace(plan, pid: pid) }
            try handshake(channel, pid: pid, placed: placed, record: &record, runtimeHooks: runtimeHooks, pidFile: pidFile, store: store)
            if let path = options.pidfdSocket { try PidfdSocket.send(pid: pid, to: path) }
            console?.close()
            listener?.close()
            return Created(record: record, pid: pid, lock: lock, relay: relay)
        } catch {
            Log.debug("create failed, cleaning up: \(error.message)")
            if pid > 0 {
                _ = try? Proc.kill(pid, Signals.kill)
                _ = try? Proc.waitpid(pid)
            }
            try? CgroupManager.destroy(leaves: record.cgroupLeaves, created: record.cgroupCreated)
            try? store.remove(id)
            throw error
        }
    }

    static func loadSpec(_ bundle: String) throws(SwrunError) -> (Spec, [UInt8]) {
        let bytes: [UInt8]
        do { bytes = try Files.readFile("config.json") } catch where error.errno == Errno.ENOENT {
            throw SwrunError.config("JSON specification file config.json not found in \(bundle)")
        } catch {
            throw SwrunError.config(error.description)
        }
        do { return (try SpecLoader.decodeSpecFast(bytes), bytes) } catch {
            throw SwrunError.config("config.json: \(error.message)")
        }
    }

    /// The directories mkdir -p would create for `leaves`, outermost first.
    static func missingDirectories(_ leaves: [String]) -> [String] {
        var out: [String] = []
        for leaf in leaves {
            var missing: [String] = []
            var dir = leaf
            while !dir.isEmpty, dir != "/", !Files.exists(dir) {
                missing.insert(dir, at: 0)
                dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
            }
            out += missing
        }
        return out
    }

    /// Clones the init. Joining an existing PID namespace is done here, in the parent, since
    /// setns(CLONE_NEWPID) only applies to children: no extra process is needed.
    static func spawnInit(_ plan: LaunchPlan, runtimeHooks: Bool, stateDir: String, lock: StateStore.Lock) throws(SwrunError) -> (Int32, SyncChannel, Bool) {
        // Its own O_PATH fd, not the locked one: flock belongs to the open file description,
        // and an init holding the locked description would hold the lock until `start`.
        let dirFd = try sys { try Files.open(stateDir, OpenFlags.path | OpenFlags.directory) }
        let (parentEnd, childEnd) = try sys("create sync socket") { try PacketSocket.pair() }
        var restore: PidNamespaceRestore?
        if let path = plan.pidJoinPath {
            let fd = try sys("open pid namespace") { try Files.open(path, OpenFlags.readOnly) }
            restore = try PidNamespaceRestore(joining: fd.raw, display: path)
        }
        defer { restore?.undo() }
        let me = Proc.getpid()
        // On a pure v2 host the init is born in its cgroup (clone3 CLONE_INTO_CGROUP);
        // otherwise the parent writes cgroup.procs before the init proceeds.
        let cgroupFd: OwnedFD? = plan.cgroupLayout.isPureV2 ? try? Files.open(plan.cgroupLeaves[0], OpenFlags.readOnly | OpenFlags.directory) : nil
        var placed = false
        let pid = try sys { try Proc.withSignalsBlocked { () throws(SyscallError) -> Int32 in
            if let cgroupFd, let pid = try Proc.fork(namespaces: plan.cloneFlags, intoCgroup: cgroupFd.raw) {
                placed = true
                return pid
            }
            return try Proc.fork(namespaces: plan.cloneFlags)
        } }
        if pid == 0 {
            // The child's copy of the locked description would keep `start` waiting.
            lock.unlock()
            parentEnd.fd.close()
            let ctx = InitSequence.Context(plan: plan, channel: SyncChannel(childEnd, role: "init"), stateDir: dirFd.raw, parentPid: me, runtimeHooks: runtimeHooks)
            InitSequence.run(ctx)
        }
        childEnd.fd.close()
        return (pid, SyncChannel(parentEnd, role: "create"), placed)
    }

    static func handshake(_ channel: SyncChannel, pid: Int32, placed: Bool, record: inout ContainerRecord, runtimeHooks: [Hook], pidFile: String?, store: StateStore) throws(SwrunError) {
        if placed {
            Log.debug("init born in its cgroup (clone3 CLONE_INTO_CGROUP)")
        } else {
            try CgroupManager.join(record.cgroupLeaves, pid: pid)
        }
        // Hooks see "created", as crun's and runtime-tools' reading of the spec has it (the
        // container exists and waits for start; runc says "creating"; no engine's hook cares).
        let state = Container.state(record, status: .created, pid: pid)
        try channel.send(.cgroupJoined(stateJSON: state.hookJSON.encoded()))
        while true {
            guard let m = try channel.receive() else {
                throw SwrunError(.system, "unable to start container process: container init exited unexpectedly")
            }
            switch m {
            case .runHooks:
                try HookRunner.run(runtimeHooks, kind: "prestart/createRuntime", state: state.hookJSON.encoded())
                try channel.send(.hooksDone)
            case .ready:
                record.setupComplete = true
                try store.save(record)
                if let pidFile { try writePidFile(pidFile, pid) }
                try channel.send(.proceed)
                // EOF: the init has cleared its parent-death signal and may outlive us.
                if let extra = try channel.receive() {
                    if case .error(_, let msg) = extra { throw SwrunError(.system, "unable to start container process: \(msg)") }
                }
                return
            case .error(_, let msg):
                throw SwrunError(.system, "unable to start container process: \(msg)")
            default:
                throw SwrunError(.system, "unexpected sync message \(m.name)")
            }
        }
    }

    /// What only the parent can do for an init in its own user namespace, before it goes on:
    /// write its id maps (the init then becomes the namespace's root), and raise limits and
    /// lower oom_score_adj, which need privileges in the host's user namespace.
    static func prepareUserNamespace(_ plan: LaunchPlan, pid: Int32) throws(SwrunError) {
        try sys("write uid_map") { try Files.writeFile("/proc/\(pid)/uid_map", IDRange.mapText(plan.uidMappings)) }
        try sys("write gid_map") { try Files.writeFile("/proc/\(pid)/gid_map", IDRange.mapText(plan.gidMappings)) }
        for r in plan.rlimits {
            let e = Rlimits.set(pid: pid, r.resource, soft: r.soft, hard: r.hard)
            if e != 0 { throw SwrunError(.system, "error setting rlimit type \(r.resource): \(Errno.text(e))") }
        }
        if let adj = plan.oomScoreAdj {
            try sys("set oom_score_adj") { try Files.writeFile("/proc/\(pid)/oom_score_adj", String(adj)) }
        }
    }

    /// A bare decimal pid, no newline (containerd parses it with strconv.Atoi), written
    /// atomically so a reader never sees a partial file.
    static func writePidFile(_ path: String, _ pid: Int32) throws(SwrunError) {
        try sys("write pid file") { try Files.writeAtomic(path, Array(String(pid).utf8), mode: 0o644) }
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
