import OCISpec
import SwrunSys

/// The child side of exec: join, then the same process setup as the init.
enum ExecSequence {
    /// `helperProc`: made by the namespace helper, which joined every namespace and opened
    /// the procfs handle first (NamespaceHelper); `namespaces` is then empty.
    static func run(
        _ plan: LaunchPlan, channel: SyncChannel, namespaces: [(NamespaceJoin, OwnedFD)],
        cgroupTasks: [(fd: OwnedFD, dir: String)], helperProc: OwnedFD? = nil
    ) -> Never {
        do {
            try steps(plan, channel: channel, namespaces: namespaces, cgroupTasks: cgroupTasks, helperProc: helperProc)
        } catch {
            if error.kind == .peerGone { Proc.exit(1) } // the parent reports, or was killed
            let message = error.message
            if (try? channel.send(.error(errno: error.errno, message: message))) == nil {
                Stdio.writeStderr("swrun: exec: \(message)\n")
            }
            Proc.exit(1)
        }
    }

    static func steps(
        _ plan: LaunchPlan, channel: SyncChannel, namespaces: [(NamespaceJoin, OwnedFD)],
        cgroupTasks: [(fd: OwnedFD, dir: String)], helperProc: OwnedFD?
    ) throws(SwrunError) -> Never {
        // 0. execCPUAffinity.initial: the CPUs this process runs on until the end of setup,
        //    before it joins the container's cgroups (whose cpuset then applies).
        if let cpus = plan.affinityInitial {
            try sys("set process.execCPUAffinity.initial") { try Sched.setAffinity(cpus) }
        }
        // 1. The common prologue (ProcessSetup): die with swrun until set up, close what we
        //    inherited, default signals, not dumpable while we hold host fds.
        let own = ProcessSetup.own(plan, channel: channel, extra: helperProc.map { [$0.raw] } ?? [])
        try ProcessSetup.prologue(plan, own: own + namespaces.map { $0.1.raw } + cgroupTasks.map { $0.fd.raw })
        // 2. The container's cgroups before its cgroup namespace: the parent's part (v2, where
        //    clone3 could not), then the v1 hierarchies by our own write of "0" (no global lock).
        let statePid = try ProcessSetup.awaitPlacement(channel)
        let stateJSON = plan.hookState.json(status: "running", pid: statePid)
        try CgroupPlacement.joinSelf(cgroupTasks)
        let hostPid = SeccompNotify.hostPid(plan)
        // 3. The host's procfs, verified, before the container's mounts are joined: the
        //    /proc/self writes below must not go through a /proc the container controls.
        let proc: OwnedFD
        if let helperProc { proc = helperProc } else { proc = try sys { try ProcFS.openVerified() } }
        // 4. Join; the mount namespace last, which also moves root and cwd into the container.
        for (j, fd) in namespaces {
            try sys("join \(j.type) namespace") { try Namespaces.setns(fd.raw, j.flag, display: j.path) }
            fd.close()
        }
        try sys { try Files.chdir("/") }
        try sys { try Proc.setsid() }
        try Console.setUp(plan, bindDevConsole: false)
        // 5. The common finish, the same as the init's (ProcessSetup.finish).
        let executable = try ProcessSetup.finish(
            plan, proc: proc.raw, own: own + [proc.raw], hostPid: hostPid, stateJSON: stateJSON)
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
