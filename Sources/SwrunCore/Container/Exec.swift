import OCISpec
import SwrunSys

/// `exec` options, as the CLI parsed them (runc's flags).
public struct ExecOptions: Sendable {
    public var processFile: String?
    public var args: [String] = []
    public var env: [String] = []
    public var cwd: String?
    public var user: String?
    public var additionalGids: [String] = []
    public var caps: [String] = []
    public var noNewPrivs = false
    public var apparmor: String?
    public var processLabel: String?
    public var tty = false
    public var consoleSocket: String?
    public var detach = false
    public var pidFile: String?
    public var preserveFds = 0
    public var pidfdSocket: String?
    public var ignorePaused = false
    /// --cgroup, runc 1.1's: `[controller[,controller...]:]path`, a sub-cgroup of the
    /// container's (existing) to run the process in.
    public var cgroups: [String] = []
    public init() {}
}

extension Container {
    /// Runs a new process in a running container: joins its namespaces and cgroups and gets
    /// the same treatment as the init (rlimits, user, capabilities, no_new_privs, seccomp).
    public func exec(_ id: String, _ o: ExecOptions) throws(SwrunError) -> Int32 {
        try ContainerID.validate(id)
        let r = try store.load(id)
        switch ContainerStatus.derive(r, store: store) {
        case .stopped, .creating: throw SwrunError(.badState, "cannot exec in a stopped container")
        case .paused where !o.ignorePaused: throw SwrunError(.badState, "cannot exec in a paused container (use --ignore-paused)")
        default: break
        }
        let spec = try savedSpec(r)
        let process = try execProcess(o, spec: spec, initPid: r.initPid)
        // The container's root as its init sees it (mounts included): HOME and a username
        // come from the passwd there.
        var plan = LaunchPlan(id: id, bundle: r.bundle, rootfs: "/proc/\(r.initPid)/root")
        try PlanBuilder.process(process, &plan)
        plan.preserveFds = try PlanBuilder.checkedPreserveFds(o.preserveFds)
        try PlanBuilder.security(spec.linux ?? Linux(), &plan, cache: store.root + "/.cache/seccomp")
        let listener = try SeccompNotify.connect(plan)
        plan.seccompListener = listener?.raw ?? -1
        let (console, relay) = try Console.connect(try absolute(o.consoleSocket), terminal: plan.terminal, detached: o.detach)
        plan.consoleSocket = console?.raw ?? relay?.theirs.raw ?? -1
        Console.startAtOurSize(&plan, relay: relay)
        let pidFile = try absolute(o.pidFile)
        if let pidFile { try sys("--pid-file") { try Files.checkReplaceable(pidFile) } }
        plan.hookState = HookStateTemplate(Self.state(r, status: .running, pid: r.initPid))
        let namespaces = try containerNamespaces(spec, initPid: r.initPid)
        // After setns(user) the process has no privilege in the host's namespace: a lower
        // oom_score_adj (Kubernetes gives -997) or a raised limit would be refused.
        plan.limitsByParent = namespaces.contains { $0.type == "user" }
        let cgroups = try Self.subCgroups(o.cgroups, leaves: r.cgroupLeaves, layout: try CgroupLayout.discover())
        let (pid, channel, v2Left) = try spawnExec(plan, namespaces: namespaces, cgroups: cgroups)
        do throws(SwrunError) {
            if let v2Left { try CgroupManager.join([v2Left], pid: pid) }
            if plan.limitsByParent { try Launcher.setLimits(plan, pid: pid) }
            try channel.send(.cgroupsReady(pid: r.initPid))
            _ = try channel.expect("ready")
            if let pidFile { try Launcher.writePidFile(pidFile, pid) }
            try channel.send(.proceed)
            if let extra = try channel.receive(), case .error(let e, let msg) = extra { throw SwrunError(.system, msg, errno: e) }
        } catch {
            _ = try? Proc.kill(pid, Signals.kill)
            _ = try? Proc.waitpid(pid)
            throw error.wrapped("unable to start container process")
        }
        console?.close()
        listener?.close()
        if let path = try absolute(o.pidfdSocket) { try PidfdSocket.send(pid: pid, to: path) }
        if o.detach { return 0 }
        Proc.forwardSignals(to: pid)
        if let relay { return try relay.relay(pid: pid).shellCode }
        guard let status = try sys("wait for exec process", { try Proc.waitpid(pid) }) else { return 1 }
        return status.shellCode
    }

    /// The cgroups an exec'd process joins: the container's leaves, or below them where
    /// `--cgroup` says (runc 1.1): `path` for every hierarchy, `ctrl[,ctrl]:path` for the
    /// v1 hierarchies holding those controllers (on cgroup v2, only a bare path, or one
    /// whose controller list is empty). The path is relative, without "..", and must exist.
    static func subCgroups(_ specs: [String], leaves: [String], layout: CgroupLayout) throws(SwrunError) -> [String] {
        guard !specs.isEmpty else { return leaves }
        guard layout.hierarchies.count == leaves.count else {
            throw SwrunError(.system, "--cgroup: the host's cgroup hierarchies changed since the container was created")
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
                throw SwrunError(.usage, "--cgroup \(Quote.short(spec)): the sub-cgroup must be a relative path without \"..\"")
            }
            var matched = false
            for (i, h) in layout.hierarchies.enumerated() where controllers.isEmpty || (!h.isV2 && h.controllers.contains(where: controllers.contains)) {
                if h.isV2 && !controllers.isEmpty { continue }
                let dir = leaves[i] + "/" + comps.map(String.init).joinedText("/")
                guard (try? Files.lstat(dir))?.isDirectory == true else {
                    throw SwrunError(.usage, "--cgroup \(Quote.short(spec)): \(dir) does not exist")
                }
                out[i] = dir
                matched = true
            }
            if !matched { throw SwrunError(.usage, "--cgroup \(Quote.short(spec)): no cgroup hierarchy of the container has \(controllers.joinedText(","))") }
        }
        return out
    }

    func savedSpec(_ r: ContainerRecord) throws(SwrunError) -> Spec {
        let bytes = try sys("read saved config") { try Files.readFile(store.directory(r.id) + "/config.json") }
        do { return try SpecLoader.decodeSpecFast(bytes) } catch { throw SwrunError.config("config.json: \(error.message)") }
    }

    /// --process FILE, or the container's process with the argv-form flags on top (runc).
    func execProcess(_ o: ExecOptions, spec: Spec, initPid: Int32) throws(SwrunError) -> Process {
        if let file = o.processFile {
            let bytes = try sys("read process file") {
                file == "-" ? try Files.readAll(fd: 0, max: Limits.configBytes, display: "standard input") : try Files.readInput(file, max: Limits.configBytes)
            }
            do { return try SpecLoader.decodeProcessFast(bytes) } catch { throw SwrunError.config("\(file): \(error.message)") }
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
                    throw SwrunError(.usage, "invalid additional-gids value \(Quote.short(g)): a gid from 0 to \(IDs.max)")
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
        guard !s.isEmpty, s.utf8.count <= 10, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = UInt64(s), v <= UInt64(IDs.max) else { return nil }
        return UInt32(v)
    }

    /// `uid[:gid]` numerically, or a name from the container's /etc/passwd. Strict: no
    /// trailing garbage, no signs, no -1.
    func parseUser(_ s: String, base: User, initPid: Int32) throws(SwrunError) -> User {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { throw SwrunError(.usage, "invalid user \(Quote.short(s)): expected <uid>[:<gid>]") }
        var u = base
        u.additionalGids = nil
        if parts[0].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let uid = Self.strictID(parts[0]) else { throw SwrunError(.usage, "invalid user \(Quote.short(s)): uid must be a number from 0 to \(IDs.max)") }
            u.uid = uid
            u.gid = 0
        } else {
            let text = PlanBuilder.readInRoot("/proc/\(initPid)/root", "/etc/passwd") ?? ""
            guard let e = UserDB.parsePasswd(text).first(where: { $0.name == parts[0] }) else {
                throw SwrunError(.usage, "invalid user \(Quote.short(s)): no user \(parts[0]) in the container's /etc/passwd")
            }
            u.uid = e.uid
            u.gid = e.gid
        }
        if parts.count == 2 {
            guard let gid = Self.strictID(parts[1]) else { throw SwrunError(.usage, "invalid user \(Quote.short(s)): gid must be a number from 0 to \(IDs.max)") }
            u.gid = gid
        }
        return u
    }

    /// The init's namespaces, as /proc/<pid>/ns paths, for every type in the config.
    func containerNamespaces(_ spec: Spec, initPid: Int32) throws(SwrunError) -> [NamespaceJoin] {
        let names: [String: String] = ["pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup", "time": "time", "user": "user"]
        var out: [NamespaceJoin] = []
        for ns in spec.linux?.namespaces ?? [] {
            guard let n = names[ns.type], let flag = PlanBuilder.namespaceFlag(ns.type) else { continue }
            out.append(NamespaceJoin(type: ns.type, flag: flag, path: "/proc/\(initPid)/ns/\(n)"))
        }
        // The user namespace first (the others belong to it); the mount namespace last: after
        // it, host paths are gone.
        return out.filter { $0.type == "user" } + out.filter { $0.type != "mount" && $0.type != "user" } + out.filter { $0.type == "mount" }
    }

    /// The third value: the v2 cgroup clone3 could not place the child in (the parent joins it).
    func spawnExec(_ plan: LaunchPlan, namespaces: [NamespaceJoin], cgroups: [String]) throws(SwrunError) -> (Int32, SyncChannel, String?) {
        let (parentEnd, childEnd) = try sys("create sync socket") { try PacketSocket.pair() }
        var fds: [(NamespaceJoin, OwnedFD)] = []
        for j in namespaces {
            fds.append((j, try sys("open \(j.type) namespace") { try Files.open(j.path, OpenFlags.readOnly) }))
        }
        var restore: PidNamespaceRestore?
        if let pidns = fds.first(where: { $0.0.type == "pid" }) {
            restore = try PidNamespaceRestore(joining: pidns.1.raw, display: pidns.0.path)
        }
        defer { restore?.undo() }
        // As for the init (Launcher.spawnInit): born in the v2 cgroup, joins v1 itself.
        let placement = try CgroupManager.placement(cgroups)
        let (pid, inV2) = try Launcher.cloneInto(placement, flags: 0)
        if pid == 0 {
            parentEnd.fd.close()
            ExecSequence.run(plan, channel: SyncChannel(childEnd, role: "exec"), namespaces: fds.filter { $0.0.type != "pid" }, cgroupTasks: placement.tasks)
        }
        placement.closeTasks()
        childEnd.fd.close()
        return (pid, SyncChannel(parentEnd, role: "exec"), inV2 ? nil : placement.v2)
    }
}

/// The child side of exec: join, then the same process setup as the init.
enum ExecSequence {
    static func run(_ plan: LaunchPlan, channel: SyncChannel, namespaces: [(NamespaceJoin, OwnedFD)], cgroupTasks: [(fd: OwnedFD, dir: String)]) -> Never {
        do {
            try steps(plan, channel: channel, namespaces: namespaces, cgroupTasks: cgroupTasks)
        } catch {
            if error.kind == .peerGone { Proc.exit(1) } // the parent reports, or was killed
            let message = error.message
            if (try? channel.send(.error(errno: error.errno, message: message))) == nil {
                Stdio.writeStderr("swrun: exec: \(message)\n")
            }
            Proc.exit(1)
        }
    }

    static func steps(_ plan: LaunchPlan, channel: SyncChannel, namespaces: [(NamespaceJoin, OwnedFD)], cgroupTasks: [(fd: OwnedFD, dir: String)]) throws(SwrunError) -> Never {
        // 0. execCPUAffinity.initial: the CPUs this process runs on until the end of setup,
        //    before it joins the container's cgroups (whose cpuset then applies).
        if let cpus = plan.affinityInitial { try sys("set process.execCPUAffinity.initial") { try Sched.setAffinity(cpus) } }
        // 1. Die with swrun until set up; close what we inherited; default signals; not
        //    dumpable while we hold host fds (the container must not ptrace us).
        try sys { try Prctl.setPdeathsig(Signals.kill) }
        let keep = [channel.socket.fd.raw, Log.config.fd, plan.consoleSocket, plan.seccompListener] + namespaces.map { $0.1.raw } + cgroupTasks.map { $0.fd.raw } + (0..<Int32(plan.preserveFds)).map { 3 + $0 }
        try sys("close inherited fds") { try Files.closeAll(except: keep) }
        Proc.resetSignalHandlers()
        Proc.unblockAllSignals()
        try sys { try Prctl.setDumpable(false) }
        // 2. The container's cgroups before its cgroup namespace: the parent's part (v2, where
        //    clone3 could not), then the v1 hierarchies by our own write of "0" (no global lock).
        guard case .cgroupsReady(let statePid) = try channel.expect("cgroupsReady") else { Proc.exit(1) }
        let stateJSON = plan.hookState.json(status: "running", pid: statePid)
        try CgroupManager.joinSelf(cgroupTasks)
        let hostPid = SeccompNotify.hostPid(plan)
        // 3. The host's procfs, verified, before the container's mounts are joined: the
        //    /proc/self writes below must not go through a /proc the container controls.
        let proc = try sys { try ProcFS.openVerified() }
        // 4. Join; the mount namespace last, which also moves root and cwd into the container.
        for (j, fd) in namespaces {
            try sys("join \(j.type) namespace") { try Namespaces.setns(fd.raw, j.flag, display: j.path) }
            fd.close()
        }
        try sys { try Files.chdir("/") }
        try sys { try Proc.setsid() }
        try Console.setUp(plan, bindDevConsole: false)
        try InitSequence.applyRlimits(plan)
        try InitSequence.applyProcWrites(plan, proc: proc.raw)
        try InitSequence.applyScheduling(plan)
        // execCPUAffinity.final: where the user's program runs, set once the cgroups (and
        // their cpuset) are joined and before seccomp, which need not allow it.
        if let cpus = plan.affinityFinal { try sys("set process.execCPUAffinity.final") { try Sched.setAffinity(cpus) } }
        // 5. Working directory inside the container (CVE-2024-21626: never a host directory)
        //    and the fd sweep, both before seccomp (a profile need not allow openat2 or
        //    close_range).
        try WorkingDirectory.enter(plan.cwd)
        try InitSequence.keepOnlyPreservedFds(plan, own: [channel.socket.fd.raw, proc.raw, Log.config.fd, plan.consoleSocket, plan.seccompListener])
        // 6. Seccomp before the identity switch when it needs CAP_SYS_ADMIN (no NNP), as runc.
        if !plan.noNewPrivileges { try SeccompNotify.install(plan, hostPid: hostPid, stateJSON: stateJSON) }
        // 7. Identity (stdio to the container's user first, as for the init).
        try StdioOwnership.give(plan)
        try InitSequence.setIdentity(plan)
        Files.umask(plan.umask)
        let executable = try InitSequence.lookPath(plan.args[0], env: plan.env)
        if plan.noNewPrivileges { try sys { try Prctl.setNoNewPrivs() } }
        try channel.send(.ready)
        _ = try channel.expect("proceed")
        try sys { try Prctl.setPdeathsig(0) }
        channel.socket.fd.close()
        // Last before execve: the profile need not allow swrun's own syscalls.
        if plan.noNewPrivileges { try SeccompNotify.install(plan, hostPid: hostPid, stateJSON: stateJSON) }
        let err = Proc.exec(executable, plan.args, plan.env)
        throw SwrunError(.system, "exec \(executable): \(Errno.text(err.errno))")
    }
}
