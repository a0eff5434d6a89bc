import OCISpec
import SwrunSys

extension Runtime {
    /// Runs a new process in a running container: joins its namespaces and cgroups and gets
    /// the same treatment as the init (rlimits, user, capabilities, no_new_privs, seccomp).
    public func exec(_ id: String, _ o: ExecOptions) throws(SwrunError) -> Int32 {
        try ContainerID.validate(id)
        let r = try store.load(id)
        switch ContainerStatus.derive(r, store: store) {
        case .stopped, .creating: throw SwrunError(.badState, "cannot exec in a stopped container")
        case .paused where !o.ignorePaused:
            throw SwrunError(.badState, "cannot exec in a paused container (use --ignore-paused)")
        default: break
        }
        let spec = try savedSpec(r)
        let process = try execProcess(o, spec: spec, initPid: r.initPid)
        // The container's root as its init sees it (mounts included): HOME and a username
        // come from the passwd there.
        var plan = LaunchPlan(id: id, bundle: r.bundle, rootfs: "/proc/\(r.initPid)/root")
        plan.creator = Identity.current
        try PlanBuilder.process(process, &plan)
        plan.preserveFds = try PlanBuilder.checkedPreserveFds(o.preserveFds)
        try PlanBuilder.security(spec.linux ?? Linux(), &plan, cache: store.root + "/.cache/seccomp")
        let listener = try SeccompNotify.connect(plan)
        plan.seccompListener = listener?.raw ?? -1
        let (console, relay) = try Console.connect(
            try absolute(o.consoleSocket), terminal: plan.terminal, detached: o.detach)
        plan.consoleSocket = console?.raw ?? relay?.theirs.raw ?? -1
        Console.startAtOurSize(&plan, relay: relay)
        let pidFile = try absolute(o.pidFile)
        if let pidFile { try sys("--pid-file") { try Files.checkReplaceable(pidFile) } }
        plan.hookState = HookStateTemplate(Self.state(r, status: .running, pid: r.initPid))
        let namespaces = try containerNamespaces(spec, initPid: r.initPid)
        // After setns(user) the process has no privilege in the host's namespace: a lower
        // oom_score_adj (Kubernetes gives -997) or a raised limit would be refused. Only the
        // host's root has that privilege to lend; anyone else sets what it can in the process.
        if let user = namespaces.first(where: { $0.type == "user" }) {
            plan.userJoinPath = user.path
            plan.limitsByParent = plan.creator.isHostRoot
            try checkMapped(plan, initPid: r.initPid)
        }
        let driver = CgroupDrivers.attach(r.cgroup)
        let dirs = try Self.subCgroups(o.cgroups, handle: r.cgroup)
        let (pid, channel, v2Left) = try spawnExec(plan, namespaces: namespaces, cgroups: driver, dirs: dirs)
        do throws(SwrunError) {
            try driver.join(pid: pid, v2Left: v2Left)
            if plan.limitsByParent { try Launcher.setLimits(plan, pid: pid) }
            try channel.send(.cgroupsReady(pid: r.initPid))
            _ = try channel.expect("ready")
            if let pidFile { try Launcher.writePidFile(pidFile, pid) }
            try channel.send(.proceed)
            if let extra = try channel.receive(), case .error(let e, let msg) = extra {
                throw SwrunError(.system, msg, errno: e)
            }
        } catch {
            _ = try? Proc.kill(pid, Signals.kill)
            _ = try? Proc.waitpid(pid)
            throw error.wrapped("unable to start container process")
        }
        console?.close()
        listener?.close()
        if let path = try absolute(o.pidfdSocket) { try PidfdSocket.send(pid: pid, to: path) }
        if o.detach { return 0 }
        if o.forwardSignals { Proc.forwardSignals(to: pid) }
        if let relay { return try relay.relay(pid: pid).shellCode }
        guard let status = try sys("wait for exec process", { try Proc.waitpid(pid) }) else { return 1 }
        return status.shellCode
    }

    /// An exec'd process's ids must be mapped by the container's user namespace: refused
    /// before anything is started, naming the field (setresuid would fail with EINVAL).
    func checkMapped(_ plan: LaunchPlan, initPid: Int32) throws(SwrunError) {
        guard let u = try? Files.readString("/proc/\(initPid)/uid_map"),
            let g = try? Files.readString("/proc/\(initPid)/gid_map")
        else { return }
        let uids = IDMapText.parse(u), gids = IDMapText.parse(g)
        guard IDRange.maps(uids, plan.uid) else {
            throw SwrunError(.usage, "process.user.uid: \(plan.uid) is not mapped in the container's user namespace")
        }
        guard IDRange.maps(gids, plan.gid) else {
            throw SwrunError(.usage, "process.user.gid: \(plan.gid) is not mapped in the container's user namespace")
        }
        for g in plan.additionalGids where !IDRange.maps(gids, g) {
            throw SwrunError(
                .usage, "process.user.additionalGids: \(g) is not mapped in the container's user namespace")
        }
    }

    /// The cgroups an exec'd process joins: the container's leaves, or below them where
    /// `--cgroup` says (runc 1.1): `path` for every hierarchy, `ctrl[,ctrl]:path` for the
    /// v1 hierarchies holding those controllers (on cgroup v2, only a bare path, or one
    /// whose controller list is empty). The path is relative, without "..", and must exist.
    static func subCgroups(_ specs: [String], handle: CgroupHandle) throws(SwrunError) -> [String] {
        let leaves = handle.leaves
        guard !specs.isEmpty else { return leaves }
        // v1: which controllers each leaf's hierarchy has (the host's layout, as at create).
        var layout = CgroupLayout.pureV2
        if handle.driver == .cgroupfsV1 {
            layout = try CgroupLayout.discover()
            guard layout.hierarchies.count == leaves.count else {
                throw SwrunError(
                    .system, "--cgroup: the host's cgroup hierarchies changed since the container was created")
            }
        }
        var out = leaves
        for spec in specs {
            var controllers: [String] = []
            var path = spec
            if let colon = spec.lastIndex(of: ":") {
                controllers = spec[..<colon].split(separator: ",").map(String.init)
                path = String(spec[spec.index(after: colon)...])
            }
            let comps = path.split(separator: "/")
            guard !path.isEmpty, !path.startsWithBytes("/"), !comps.contains(".."), !comps.isEmpty else {
                throw SwrunError(
                    .usage, "--cgroup \(Quote.short(spec)): the sub-cgroup must be a relative path without \"..\"")
            }
            var matched = false
            for (i, h) in layout.hierarchies.enumerated()
            where controllers.isEmpty || (!h.isV2 && h.controllers.contains(where: controllers.contains)) {
                if h.isV2 && !controllers.isEmpty { continue }
                let dir = leaves[i] + "/" + comps.map(String.init).joinedText("/")
                guard (try? Files.lstat(dir))?.isDirectory == true else {
                    throw SwrunError(.usage, "--cgroup \(Quote.short(spec)): \(dir) does not exist")
                }
                out[i] = dir
                matched = true
            }
            if !matched {
                throw SwrunError(
                    .usage,
                    "--cgroup \(Quote.short(spec)): no cgroup hierarchy of the container has \(controllers.joinedText(","))"
                )
            }
        }
        return out
    }

    func savedSpec(_ r: ContainerRecord) throws(SwrunError) -> Spec {
        let bytes = try sys("read saved config") { try Files.readFile(store.directory(r.id) + "/config.json") }
        do { return try SpecLoader.decodeSpecFast(bytes) } catch {
            throw SwrunError.config("config.json: \(error.message)")
        }
    }

    /// --process FILE, or the container's process with the argv-form flags on top (runc).
    func execProcess(_ o: ExecOptions, spec: Spec, initPid: Int32) throws(SwrunError) -> Process {
        if let file = o.processFile {
            let bytes = try sys("read process file") {
                file == "-"
                    ? try Files.readAll(fd: 0, max: Limits.configBytes, display: "standard input")
                    : try Files.readInput(file, max: Limits.configBytes)
            }
            do { return try SpecLoader.decodeProcessFast(bytes) } catch {
                throw SwrunError.config("\(file): \(error.message)")
            }
        }
        guard var p = spec.process else { throw SwrunError.config("process: required field is missing") }
        guard !o.args.isEmpty else { throw SwrunError(.usage, "exec: no command given (args or --process)") }
        p.args = o.args
        p.env = (p.env ?? []) + o.env
        if let cwd = o.cwd { p.cwd = cwd }
        p.terminal = o.tty
        p.consoleSize = nil
        if let user = o.user { p.user = try parseUser(user, base: p.user, initPid: initPid) }
        if !o.additionalGids.isEmpty {
            var gids: [UInt32] = []
            for g in o.additionalGids {
                guard let v = Self.strictID(Substring(g)) else {
                    throw SwrunError(
                        .usage, "invalid additional-gids value \(Quote.short(g)): a gid from 0 to \(IDs.max)")
                }
                gids.append(v)
            }
            p.user.additionalGids = gids
        }
        if !o.caps.isEmpty {
            // CVE-2022-29162: --cap goes to bounding, effective and permitted, never inheritable.
            var caps = p.capabilities ?? LinuxCapabilities()
            caps.bounding = (caps.bounding ?? []) + o.caps
            caps.effective = (caps.effective ?? []) + o.caps
            caps.permitted = (caps.permitted ?? []) + o.caps
            p.capabilities = caps
        }
        if o.noNewPrivs { p.noNewPrivileges = true }
        if let a = o.apparmor { p.apparmorProfile = a }
        if let l = o.processLabel { p.selinuxLabel = l }
        return p
    }

    /// An id as `exec --user` takes it (CVE-2026-30892): decimal digits only (no sign, no
    /// space, no 0x), at most 2147483647 (IDs.max; 4294967295 is -1, "unchanged").
    public static func strictID(_ s: Substring) -> UInt32? {
        guard !s.isEmpty, s.utf8.count <= 10, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = UInt64(s),
            v <= UInt64(IDs.max)
        else { return nil }
        return UInt32(v)
    }

    /// `uid[:gid]` numerically, or a name from the container's /etc/passwd. Strict: no
    /// trailing garbage, no signs, no -1.
    func parseUser(_ s: String, base: User, initPid: Int32) throws(SwrunError) -> User {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else {
            throw SwrunError(.usage, "invalid user \(Quote.short(s)): expected <uid>[:<gid>]")
        }
        var u = base
        u.additionalGids = nil
        if parts[0].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let uid = Self.strictID(parts[0]) else {
                throw SwrunError(.usage, "invalid user \(Quote.short(s)): uid must be a number from 0 to \(IDs.max)")
            }
            u.uid = uid
            u.gid = 0
        } else {
            let text = PlanBuilder.readInRoot("/proc/\(initPid)/root", "/etc/passwd") ?? ""
            guard let e = UserDB.parsePasswd(text).first(where: { $0.name == parts[0] }) else {
                throw SwrunError(
                    .usage, "invalid user \(Quote.short(s)): no user \(parts[0]) in the container's /etc/passwd")
            }
            u.uid = e.uid
            u.gid = e.gid
        }
        if parts.count == 2 {
            guard let gid = Self.strictID(parts[1]) else {
                throw SwrunError(.usage, "invalid user \(Quote.short(s)): gid must be a number from 0 to \(IDs.max)")
            }
            u.gid = gid
        }
        return u
    }

    /// The init's namespaces, as /proc/<pid>/ns paths, for every type in the config.
    func containerNamespaces(_ spec: Spec, initPid: Int32) throws(SwrunError) -> [NamespaceJoin] {
        let names: [String: String] = [
            "pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup",
            "time": "time", "user": "user",
        ]
        var out: [NamespaceJoin] = []
        for ns in spec.linux?.namespaces ?? [] {
            guard let n = names[ns.type], let flag = PlanBuilder.namespaceFlag(ns.type) else { continue }
            out.append(NamespaceJoin(type: ns.type, flag: flag, path: "/proc/\(initPid)/ns/\(n)"))
        }
        // The user namespace first (the others belong to it); the mount namespace last: after
        // it, host paths are gone.
        return out.filter { $0.type == "user" } + out.filter { $0.type != "mount" && $0.type != "user" }
            + out.filter { $0.type == "mount" }
    }

    /// The third value: the v2 cgroup clone3 could not place the child in (the parent joins it).
    func spawnExec(_ plan: LaunchPlan, namespaces: [NamespaceJoin], cgroups: any CgroupDriver, dirs: [String])
        throws(SwrunError) -> (Int32, SyncChannel, String?)
    {
        let (parentEnd, childEnd) = try sys("create sync socket") { try PacketSocket.pair() }
        // An unprivileged user may join the container's PID, mount or network namespace only
        // from inside its user namespace, and only the host's root may return to its own PID
        // namespace after joining another: for anyone else a helper joins them all, then
        // makes the process (NamespaceHelper). The host's root joins the PID namespace here
        // and the rest in the child.
        let helper = !plan.creator.isHostRoot && !namespaces.isEmpty
        var fds: [(NamespaceJoin, OwnedFD)] = []
        if !helper {
            for j in namespaces {
                fds.append((j, try sys("open \(j.type) namespace") { try Files.open(j.path, OpenFlags.readOnly) }))
            }
        }
        var restore: PidNamespaceRestore?
        if let pidns = fds.first(where: { $0.0.type == "pid" }) {
            restore = try PidNamespaceRestore(joining: pidns.1.raw, display: pidns.0.path)
        }
        defer { restore?.undo() }
        // As for the init (Launcher.spawnInit): born in the v2 cgroup, joins v1 itself.
        let placement = try cgroups.placement(dirs)
        let (child, inV2) = try Launcher.cloneInto(placement, flags: 0)
        if child == 0 {
            parentEnd.fd.close()
            let channel = SyncChannel(childEnd, role: "exec")
            if helper {
                NamespaceHelper.run(namespaces, cloneFlags: 0, channel: channel) { proc in
                    ExecSequence.run(
                        plan, channel: channel, namespaces: [], cgroupTasks: placement.tasks, helperProc: proc)
                }
            }
            ExecSequence.run(
                plan, channel: channel, namespaces: fds.filter { $0.0.type != "pid" }, cgroupTasks: placement.tasks)
        }
        placement.closeTasks()
        childEnd.fd.close()
        let channel = SyncChannel(parentEnd, role: "exec")
        let pid = helper ? try NamespaceHelper.awaitMade(channel, helper: child) : child
        return (pid, channel, inV2 ? nil : placement.v2)
    }
}
