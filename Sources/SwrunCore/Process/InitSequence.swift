import OCISpec
import SwrunSys

/// The container's init, from clone to execve. Runs in the child of a fork-like clone of the
/// single-threaded `swrun create`. Each step says why it happens where it does.
enum InitSequence {
    struct Context {
        var plan: LaunchPlan
        var channel: SyncChannel
        var stateDir: Int32      // O_RDONLY fd of <root>/<id>: reaches exec.fifo after pivot_root
        var parentPid: Int32
        var runtimeHooks: Bool   // prestart/createRuntime hooks exist: ask the parent to run them
        var cgroupTasks: [(fd: OwnedFD, dir: String)] // v1 `tasks` files to write "0" to (CgroupManager.Placement)
    }

    /// Never returns: execs the container process or exits after reporting the error.
    static func run(_ ctx: Context) -> Never {
        do {
            try steps(ctx)
        } catch {
            // The parent went away before the handover: it reports its own error (or was
            // killed, and there is nothing to add). A line from here would be a second error
            // line in the log, which podman cannot parse.
            if error.kind == .peerGone { Proc.exit(1) }
            // After the handover the parent may be gone (`create` has exited): then say it on
            // the log and stderr instead (`run`, still there, reports what it receives).
            let message = error.message
            if (try? ctx.channel.send(.error(errno: error.errno, message: message))) == nil {
                report(message)
            }
            Proc.exit(1)
        }
    }

    /// An init error after the handover, on the log and stderr: by the init when its parent
    /// has gone, by `run` when it received it.
    static func report(_ message: String) {
        Log.error("container init: \(message)")
        Stdio.writeStderr("swrun: container init: \(message)\n")
    }

    static func steps(_ ctx: Context) throws(SwrunError) -> Never {
        let plan = ctx.plan
        // 1. Die with `swrun create` until it hands over: a killed create leaves no orphan.
        //    (A parent that died before this prctl is seen as EOF on the sync socket below;
        //    getppid() cannot tell, as it reads 0 in a new PID namespace.)
        try sys { try Prctl.setPdeathsig(Signals.kill) }
        // 2. Inherited descriptors (a shim's socket, a test runner's status pipe) must not
        //    live on in an init that may wait for `start` for days: close all but stdio, the
        //    --preserve-fds range and our own.
        let keep = [ctx.channel.socket.fd.raw, ctx.stateDir, Log.config.fd, plan.consoleSocket, plan.seccompListener] + ctx.cgroupTasks.map { $0.fd.raw } + (0..<Int32(plan.preserveFds)).map { 3 + $0 }
        try sys("close inherited fds") { try Files.closeAll(except: keep) }
        // 3. The parent blocked signals around clone; reset inherited handlers, then unblock.
        Proc.resetSignalHandlers()
        Proc.unblockAllSignals()
        // 4. Not dumpable while we hold host fds: the container cannot ptrace us or open our
        //    /proc/<pid>/fd before exec (exec makes the process dumpable again).
        try sys { try Prctl.setDumpable(false) }
        // 5. Devices and files are created with exact modes; the spec's umask is set before exec.
        Files.umask(0)
        // 6. Wait until the parent has done its part of the cgroup placement (the v2 cgroup,
        //    where clone3 could not), then join the v1 hierarchies ourselves: "0" moves only
        //    this thread, which spares the kernel's global threadgroup lock and its RCU grace
        //    period (CgroupManager.Placement). Both before any process of the container exists
        //    and before a new cgroup namespace below is rooted at the container's cgroup.
        guard case .cgroupsReady(let statePid) = try ctx.channel.expect("cgroupsReady") else { Proc.exit(1) }
        let stateJSON = plan.hookState.json(status: "created", pid: statePid)
        //    In a new user namespace, the bind sources come from the parent (its rights, our
        //    mount namespace): one descriptor per bind mount, in mount order.
        var bindSources: [OwnedFD] = []
        if plan.parentOpensBindSources {
            for op in plan.mounts { if case .bind = op.kind { bindSources.append(try ctx.channel.receiveDescriptor()) } }
        }
        try CgroupManager.joinSelf(ctx.cgroupTasks)
        //    In a new user namespace the parent has written our id maps by now: become its
        //    root (all capabilities in it are ours since clone).
        if plan.newUserNamespace {
            try sys("become root of the user namespace") { try Creds.setresgid(0) }
            try sys("become root of the user namespace") { try Creds.setresuid(0) }
        }
        let hostPid = SeccompNotify.hostPid(plan)
        // 7. A verified handle on the host's procfs: sysctls and /proc/self files are written
        //    through it, whatever the container mounts on /proc.
        let proc = try sys { try ProcFS.openVerified() }
        try joinNamespaces(plan)
        // 8. cgroup and time namespaces are unshared now (after the cgroup join; time offsets
        //    must be written before any process enters the namespace, which exec does).
        if plan.newCgroupNamespace { try sys { try Namespaces.unshare(NamespaceFlag.cgroup, display: "cgroup namespace") } }
        if plan.newTimeNamespace {
            try sys { try Namespaces.unshare(NamespaceFlag.time, display: "time namespace") }
            for line in plan.timeOffsets {
                try sys("set time offsets") { try Files.writeFileAt(proc.raw, "self/timens_offsets", line, display: "/proc/self/timens_offsets") }
            }
        }
        // 9. A new session: the container must not share the caller's controlling terminal.
        try sys { try Proc.setsid() }
        if plan.newKeyring {
            do { try Namespaces.joinSessionKeyring("_ses.\(plan.id)") } catch where error.errno == Errno.ENOSYS || error.errno == Errno.EACCES {} catch {
                throw SwrunError.system(error)
            }
        }
        if let h = plan.hostname { try sys { try Namespaces.sethostname(h) } }
        if let d = plan.domainname { try sys { try Namespaces.setdomainname(d) } }
        if plan.newNetworkNamespace { try sys { try Namespaces.loopbackUp() } }
        // 10. Mounts and devices, still able to see the host's paths for bind sources.
        let root = try RootfsSequence.prepare(plan, bindSources: bindSources)
        // 11. prestart and createRuntime hooks run in the runtime's namespaces, by the parent,
        //     after the container's namespaces exist and before pivot_root.
        if ctx.runtimeHooks {
            try ctx.channel.send(.runHooks)
            _ = try ctx.channel.expect("hooksDone")
        }
        // 12. createContainer hooks: in the container's namespaces, before pivot_root, with
        //     the container's root as their working directory (as runc runs them).
        if !plan.createContainerHooks.isEmpty {
            try sys { try Files.fchdir(root.root.raw, display: plan.rootfs) }
            try HookRunner.run(plan.createContainerHooks, kind: "createContainer", state: stateJSON)
        }
        try RootfsSequence.pivot(plan, root: root)
        // The pty comes from the container's devpts, so after pivot_root; before the
        // read-only root, since /dev/console may have to be created.
        try Console.setUp(plan, bindDevConsole: true)
        // 13. Sysctls after the namespaces are final, through the verified procfs handle.
        for s in plan.sysctls {
            let file = "sys/" + s.key.replacingAll(".", with: "/")
            try sys("write sysctl \(s.key)") { try Files.writeFileAt(proc.raw, file, s.value ?? "", display: "/proc/" + file) }
        }
        try RootfsSequence.finalize(plan)
        // 14. Limits and scores need privileges the user switch below may drop.
        try applyRlimits(plan)
        try applyProcWrites(plan, proc: proc.raw)
        try applyScheduling(plan)
        // 15. The working directory and the fd sweep come before seccomp: a profile need not
        //     allow openat2 or close_range (runtime-tools' own profile allows neither). cwd is
        //     entered with the runtime's credentials, as runc's first chdir attempt is.
        //     Only 0-2 and --preserve-fds survive exec (CVE-2024-21626: no host fd may leak);
        //     everything swrun opens later is CLOEXEC already.
        try WorkingDirectory.enter(plan.cwd)
        try keepOnlyPreservedFds(plan, own: [ctx.channel.socket.fd.raw, ctx.stateDir, proc.raw, Log.config.fd, plan.consoleSocket, plan.seccompListener])
        // 16. Without no_new_privs, installing seccomp needs CAP_SYS_ADMIN, which the identity
        //     switch below may drop: install it now, as runc does (the profile must allow
        //     what follows, as it must for runc).
        if !plan.noNewPrivileges { try SeccompNotify.install(plan, hostPid: hostPid, stateJSON: stateJSON) }
        // 17. Identity: stdio to the container's user while we may still chown (CAP_CHOWN),
        //     then bounding set, groups, uid/gid, and the capability sets.
        try StdioOwnership.give(plan)
        try setIdentity(plan)
        Files.umask(plan.umask)
        // 18. Look the executable up now, so that a missing binary fails `create` (as runc).
        let executable = try lookPath(plan.args[0], env: plan.env)
        if plan.noNewPrivileges { try sys { try Prctl.setNoNewPrivs() } }
        try ctx.channel.send(.ready)
        _ = try ctx.channel.expect("proceed")
        // 19. Setup is handed over: survive the parent from now on, and tell it so. The socket
        //     stays open, close-on-exec: its EOF tells `run` that the user's program has
        //     replaced swrun's image in this process (Launcher.exposure says why that matters).
        try sys { try Prctl.setPdeathsig(0) }
        try ctx.channel.send(.handedOver)
        // 20. Block until `swrun start` opens the fifo for reading.
        let fifo = try sys("open exec fifo") { try Files.openat(ctx.stateDir, "exec.fifo", OpenFlags.writeOnly) }
        try sys("write exec fifo") { try Files.writeAll(fd: fifo.raw, "0") }
        fifo.close()
        // 21. With no_new_privs, seccomp goes in as late as possible, but before the
        //     startContainer hooks: they run programs of the container's image, which must
        //     already be under the container's profile (runc's order). What follows is the
        //     hooks and execve; the fifo and the sync socket are behind us.
        if plan.noNewPrivileges { try SeccompNotify.install(plan, hostPid: hostPid, stateJSON: stateJSON) }
        // 22. startContainer hooks: after start, before the user's program.
        if !plan.startContainerHooks.isEmpty {
            try HookRunner.run(plan.startContainerHooks, kind: "startContainer", state: plan.hookState.json(status: "running", pid: statePid))
        }
        let err = Proc.exec(executable, plan.args, plan.env)
        throw SwrunError(.system, "exec \(executable): \(Errno.text(err.errno))")
    }

    /// Marks every descriptor from 3 up CLOEXEC except the --preserve-fds range, which is
    /// made inheritable (minus swrun's own descriptors that happen to sit in it).
    static func keepOnlyPreservedFds(_ plan: LaunchPlan, own: [Int32]) throws(SwrunError) {
        try sys { try Files.markCloexec(from: 3 + Int32(plan.preserveFds)) }
        for fd in 3..<(3 + Int32(plan.preserveFds)) where !own.contains(fd) && Files.isOpen(fd) {
            try sys { try Files.setCloexec(fd, false) }
        }
    }

    /// process.scheduler, process.ioPriority and linux.personality, with the runtime's
    /// privileges (a real-time class needs CAP_SYS_NICE or CAP_SYS_ADMIN).
    static func applyScheduling(_ plan: LaunchPlan) throws(SwrunError) {
        if let s = plan.scheduler {
            try sys("set process.scheduler") { try Sched.setAttr(policy: s.policy, flags: s.flags, nice: s.nice, priority: s.priority, runtime: s.runtime, deadline: s.deadline, period: s.period) }
        }
        if let io = plan.ioPriority { try sys("set process.ioPriority") { try Sched.setIOPriority(io) } }
        if let p = plan.personality { try sys("set linux.personality") { try Sched.setPersonality(p) } }
    }

    /// process.rlimits, with runc's wording on failure (podman users grep for it).
    static func applyRlimits(_ plan: LaunchPlan) throws(SwrunError) {
        // In a user namespace the parent set them (raising needs the host's CAP_SYS_RESOURCE):
        // LaunchPlan.limitsByParent.
        if plan.limitsByParent { return }
        for r in plan.rlimits {
            let e = Rlimits.set(r.resource, soft: r.soft, hard: r.hard)
            if e != 0 { throw r.failure(e) }
        }
    }

    /// oom_score_adj and the LSM exec labels, written through the verified host procfs
    /// handle (CVE-2019-16884, CVE-2025-52881: never through a /proc the container controls).
    static func applyProcWrites(_ plan: LaunchPlan, proc: Int32) throws(SwrunError) {
        if let adj = plan.oomScoreAdj, !plan.limitsByParent {
            try sys("set oom_score_adj") { try Files.writeFileAt(proc, "self/oom_score_adj", String(adj), display: "/proc/self/oom_score_adj") }
        }
        if let profile = plan.apparmorProfile {
            try sys("apply AppArmor profile") { try Files.writeFileAt(proc, "self/attr/apparmor/exec", "exec \(profile)", display: "/proc/self/attr/apparmor/exec") }
        }
        if let label = plan.selinuxLabel {
            try sys("apply SELinux label") { try Files.writeFileAt(proc, "self/attr/exec", label, display: "/proc/self/attr/exec") }
        }
    }

    static func joinNamespaces(_ plan: LaunchPlan) throws(SwrunError) {
        // Open every namespace file first: after joining a mount namespace, paths change.
        var fds: [(NamespaceJoin, OwnedFD)] = []
        for j in plan.joins {
            let fd = try sys("open \(j.type) namespace") { try Files.open(j.path, OpenFlags.readOnly) }
            fds.append((j, fd))
        }
        for (j, fd) in fds {
            try sys("join \(j.type) namespace") { try Namespaces.setns(fd.raw, j.flag, display: j.path) }
        }
    }

    static func setIdentity(_ plan: LaunchPlan) throws(SwrunError) {
        let caps = plan.capabilities
        try sys { try Prctl.setKeepCaps(true) }
        try sys { try Capabilities.limitBounding(to: caps.bounding, lastCap: plan.lastCap) }
        try sys { try Creds.setgroups(plan.additionalGids) }
        try sys { try Creds.setresgid(plan.gid) }
        try sys { try Creds.setresuid(plan.uid) }
        try sys("apply capabilities") { try Capabilities.setProcess(caps, lastCap: plan.lastCap) }
        try sys { try Prctl.setKeepCaps(false) }
        try sys { try Capabilities.setAmbient(caps.ambient, lastCap: plan.lastCap) }
    }

    /// Go's exec.LookPath, with runc's wording (docker maps "no such file or directory" and
    /// "executable file not found" to exit 127).
    static func lookPath(_ name: String, env: [String]) throws(SwrunError) -> String {
        if name.contains("/") {
            let st: FileStat
            do { st = try Files.stat(name) } catch {
                throw SwrunError(.system, "exec: \(JSONQuote.q(name)): stat \(name): \(Errno.text(error.errno))")
            }
            if st.isDirectory || !Files.isExecutableByUs(name) {
                throw SwrunError(.system, "exec: \(JSONQuote.q(name)): permission denied")
            }
            return name
        }
        let pathVar = env.last { $0.startsWithBytes("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in pathVar.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            if let st = try? Files.stat(candidate), st.isRegular, Files.isExecutableByUs(candidate) { return candidate }
        }
        throw SwrunError(.system, "exec: \(JSONQuote.q(name)): executable file not found in $PATH")
    }
}

enum JSONQuote {
    static func q(_ s: String) -> String { JSON.quoted(s) }
}
