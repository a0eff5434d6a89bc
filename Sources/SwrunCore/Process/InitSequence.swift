import OCISpec
import SwrunSys

/// The container's init, from clone to execve. Runs in the child of a fork-like clone of the
/// single-threaded `swrun create`. Each step says why it happens where it does.
enum InitSequence {
    struct Context {
        var plan: LaunchPlan
        var channel: SyncChannel
        var stateDir: Int32 // O_RDONLY fd of <root>/<id>: reaches exec.fifo after pivot_root
        var parentPid: Int32
        var runtimeHooks: Bool // prestart/createRuntime hooks exist: ask the parent to run them
        var cgroupTasks: [(fd: OwnedFD, dir: String)] // v1 `tasks` files to write "0" to (CgroupPlacement)
        /// Made by the namespace helper (NamespaceHelper): its namespaces are joined, and the
        /// procfs handle was opened before any of them.
        var helperProc: OwnedFD? = nil
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
        // Our own descriptors, kept by the prologue's close and the final sweep alike.
        let own = ProcessSetup.own(
            plan, channel: ctx.channel, extra: [ctx.stateDir] + (ctx.helperProc.map { [$0.raw] } ?? []))
        // 1-4. Die with `swrun create` until it hands over (a killed create leaves no
        //      orphan; a parent that died before the prctl is seen as EOF on the socket:
        //      getppid() reads 0 in a new PID namespace), close what we inherited (an init
        //      may wait days for `start`), default signals, not dumpable.
        try ProcessSetup.prologue(plan, own: own + ctx.cgroupTasks.map { $0.fd.raw })
        // 5. Devices and files are created with exact modes; the spec's umask is set before exec.
        Files.umask(0)
        // 6. Placed in the container's cgroups before any process of the container exists
        //    and before a new cgroup namespace below is rooted at the container's cgroup.
        //    In a new user namespace, the bind sources come from the parent first (its
        //    rights, our mount namespace): one descriptor per bind mount, in mount order.
        let statePid = try ProcessSetup.awaitPlacement(ctx.channel)
        let stateJSON = plan.hookState.json(status: "created", pid: statePid)
        var bindSources: [OwnedFD] = []
        if plan.parentOpensBindSources {
            for op in plan.mounts {
                if case .bind = op.kind { bindSources.append(try ctx.channel.receiveDescriptor()) }
            }
        }
        //    A rootless parent has written our id maps by now: not dumpable from here on.
        if plan.dumpableForParent { try sys { try Prctl.setDumpable(false) } }
        try CgroupPlacement.joinSelf(ctx.cgroupTasks)
        //    In a new user namespace the parent has written our id maps by now: become its
        //    root (all capabilities in it are ours since clone, or since the helper joined it).
        if plan.newUserNamespace || plan.userJoinPath != nil {
            try sys("become root of the user namespace") { try Creds.setresgid(0) }
            try sys("become root of the user namespace") { try Creds.setresuid(0) }
        }
        let hostPid = SeccompNotify.hostPid(plan)
        // 7. A verified handle on the host's procfs: sysctls and /proc/self files are written
        //    through it, whatever the container mounts on /proc.
        let proc: OwnedFD
        if let p = ctx.helperProc { proc = p } else { proc = try sys { try ProcFS.openVerified() } }
        if ctx.helperProc == nil { try joinNamespaces(plan) }
        // 8. cgroup and time namespaces are unshared now (after the cgroup join; time offsets
        //    must be written before any process enters the namespace, which exec does).
        if plan.newCgroupNamespace {
            try sys { try Namespaces.unshare(NamespaceFlag.cgroup, display: "cgroup namespace") }
        }
        if plan.newTimeNamespace {
            try sys { try Namespaces.unshare(NamespaceFlag.time, display: "time namespace") }
            for line in plan.timeOffsets {
                try sys("set time offsets") {
                    try Files.writeFileAt(proc.raw, "self/timens_offsets", line, display: "/proc/self/timens_offsets")
                }
            }
        }
        // 9. A new session: the container must not share the caller's controlling terminal.
        try sys { try Proc.setsid() }
        if plan.newKeyring {
            do { try Namespaces.joinSessionKeyring("_ses.\(plan.id)") } catch
                where error.errno == Errno.ENOSYS || error.errno == Errno.EACCES
            {} catch {
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
        try RootfsSequence.reopenDevNull(plan)
        // The pty comes from the container's devpts, so after pivot_root; before the
        // read-only root, since /dev/console may have to be created.
        try Console.setUp(plan, bindDevConsole: true)
        // 13. Sysctls after the namespaces are final, through the verified procfs handle.
        for s in plan.sysctls {
            let file = "sys/" + s.key.replacingAll(".", with: "/")
            try sys("write sysctl \(s.key)") {
                try Files.writeFileAt(proc.raw, file, s.value ?? "", display: "/proc/" + file)
            }
        }
        try RootfsSequence.finalize(plan)
        // 14-18. The common finish (ProcessSetup.finish): limits, scores, scheduling, the
        //        working directory, the fd sweep, seccomp without NNP, stdio to the user,
        //        identity, umask, the executable looked up (a missing one fails `create`, as
        //        runc), no_new_privs.
        let executable = try ProcessSetup.finish(
            plan, proc: proc.raw, own: own + [proc.raw], hostPid: hostPid, stateJSON: stateJSON)
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
            try HookRunner.run(
                plan.startContainerHooks, kind: "startContainer",
                state: plan.hookState.json(status: "running", pid: statePid))
        }
        let err = Proc.exec(executable, plan.args, plan.env)
        throw SwrunError(.system, "exec \(executable): \(Errno.text(err.errno))")
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
}
