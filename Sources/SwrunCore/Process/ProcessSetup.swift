import OCISpec
import SwrunSys

/// The steps every process swrun starts in a container takes, the init and an exec'd
/// process alike, in one order: a prologue right after the clone, the wait for the
/// parent's part of the cgroup placement, and the finish from limits to the executable. The
/// two sequences (InitSequence, ExecSequence) call these at their places; what is theirs
/// alone (namespaces, mounts and pivot_root for the init; setns for exec) sits between.
enum ProcessSetup {
    /// The descriptors a child keeps besides stdio and --preserve-fds: the sync socket, the
    /// log, the console socket, the seccomp listener's socket and `extra`. One list for the
    /// prologue's close and the final sweep (an fd in one and not the other was a bug to
    /// look for in two places).
    static func own(_ plan: LaunchPlan, channel: SyncChannel, extra: [Int32]) -> [Int32] {
        [channel.socket.fd.raw, Log.config.fd, plan.consoleSocket, plan.seccompListener] + extra
    }

    /// 1. Die with the parent until it hands over; 2. close every inherited descriptor but
    /// stdio, --preserve-fds and `own`; 3. default signal handlers (the parent blocked
    /// signals around the clone), then unblock; 4. not dumpable while we hold host
    /// descriptors (the container cannot ptrace us or open /proc/<pid>/fd before exec,
    /// which makes the process dumpable again).
    static func prologue(_ plan: LaunchPlan, own: [Int32]) throws(SwrunError) {
        try sys { try Prctl.setPdeathsig(Signals.kill) }
        let keep = own + (0..<Int32(plan.preserveFds)).map { 3 + $0 }
        try sys("close inherited fds") { try Files.closeAll(except: keep) }
        Proc.resetSignalHandlers()
        Proc.unblockAllSignals()
        // Rootless: dumpable until the parent has written the id maps (LaunchPlan.dumpableForParent).
        try sys { try Prctl.setDumpable(plan.dumpableForParent) }
    }

    /// Waits until the parent has done its part of the cgroup placement (the v2 cgroup,
    /// where clone3 could not); returns the pid the container's state names. The v1
    /// hierarchies are joined by the caller (CgroupPlacement.joinSelf: "0" moves only this
    /// thread, which spares the kernel's global threadgroup lock).
    static func awaitPlacement(_ channel: SyncChannel) throws(SwrunError) -> Int32 {
        guard case .cgroupsReady(let pid) = try channel.expect("cgroupsReady") else {
            throw SwrunError(.system, "\(channel.role): expected cgroupsReady")
        }
        return pid
    }

    /// The finish, in the container (after pivot_root for the init, after setns for exec):
    /// - limits and scores, while we still hold the privileges the identity switch may drop;
    /// - execCPUAffinity.final (exec), once the cgroups' cpuset applies;
    /// - the working directory and the fd sweep, before seccomp (a profile need not allow
    ///   openat2 or close_range). cwd is entered with the runtime's credentials, as runc's
    ///   first chdir attempt; only 0-2 and --preserve-fds survive exec (CVE-2024-21626);
    /// - seccomp without no_new_privs (it needs CAP_SYS_ADMIN, which the switch may drop);
    /// - stdio to the container's user (CAP_CHOWN), then the identity;
    /// - the executable looked up (a missing one fails the verb, as runc), no_new_privs.
    /// Returns the executable's path.
    static func finish(_ plan: LaunchPlan, proc: Int32, own: [Int32], hostPid: Int32, stateJSON: String)
        throws(SwrunError) -> String
    {
        try applyRlimits(plan)
        try applyProcWrites(plan, proc: proc)
        try applyScheduling(plan)
        if let cpus = plan.affinityFinal {
            try sys("set process.execCPUAffinity.final") { try Sched.setAffinity(cpus) }
        }
        try WorkingDirectory.enter(plan.cwd)
        try keepOnlyPreservedFds(plan, own: own)
        if !plan.noNewPrivileges { try SeccompNotify.install(plan, hostPid: hostPid, stateJSON: stateJSON) }
        try StdioOwnership.give(plan)
        try setIdentity(plan, proc: proc)
        Files.umask(plan.umask)
        let executable = try lookPath(plan.args[0], env: plan.env)
        if plan.noNewPrivileges { try sys { try Prctl.setNoNewPrivs() } }
        return executable
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
            try sys("set process.scheduler") {
                try Sched.setAttr(
                    policy: s.policy, flags: s.flags, nice: s.nice, priority: s.priority, runtime: s.runtime,
                    deadline: s.deadline, period: s.period)
            }
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
            try sys("set oom_score_adj") {
                try Files.writeFileAt(proc, "self/oom_score_adj", String(adj), display: "/proc/self/oom_score_adj")
            }
        }
        if let profile = plan.apparmorProfile {
            try sys("apply AppArmor profile \(Quote.short(profile)) (process.apparmorProfile)") {
                try Files.writeFileAt(
                    proc, "self/attr/apparmor/exec", "exec \(profile)", display: "/proc/self/attr/apparmor/exec")
            }
        }
        if let label = plan.selinuxLabel {
            try sys("apply SELinux label") {
                try Files.writeFileAt(proc, "self/attr/exec", label, display: "/proc/self/attr/exec")
            }
        }
    }

    /// `proc`: the verified procfs handle, where /proc/self/setgroups is read.
    static func setIdentity(_ plan: LaunchPlan, proc: Int32) throws(SwrunError) {
        let caps = plan.capabilities
        try sys { try Prctl.setKeepCaps(true) }
        try sys { try Capabilities.limitBounding(to: caps.bounding, lastCap: plan.lastCap) }
        try setGroups(plan, proc: proc)
        try sys { try Creds.setresgid(plan.gid) }
        try sys { try Creds.setresuid(plan.uid) }
        try sys("apply capabilities") { try Capabilities.setProcess(caps, lastCap: plan.lastCap) }
        try sys { try Prctl.setKeepCaps(false) }
        try sys { try Capabilities.setAmbient(caps.ambient, lastCap: plan.lastCap) }
    }

    /// The supplementary groups. In a user namespace whose setgroups is "deny" (one that maps
    /// only an unprivileged creator's own gid) setgroups(2) always fails: there, as runc
    /// does, the groups are left as they are (the caller's, which the container sees as the
    /// overflow gid), and additionalGids, which cannot be had, are refused (PlanBuilder
    /// refuses them earlier where the maps say so; a joined namespace is only known here).
    static func setGroups(_ plan: LaunchPlan, proc: Int32) throws(SwrunError) {
        if plan.newUserNamespace || plan.userJoinPath != nil || plan.creator.inUserNamespace,
            let text = try? Files.readSmallAt(proc, "self/setgroups"),
            trimWhitespace(String(decoding: text, as: UTF8.self)) == "deny"
        {
            guard plan.additionalGids.isEmpty else {
                throw SwrunError(
                    .system,
                    "process.user.additionalGids: cannot set additional groups: setgroups is denied in the container's user namespace (/proc/self/setgroups says deny)",
                    errno: Errno.EPERM)
            }
            Log.debug("setgroups is denied in this user namespace: the supplementary groups stay as they are")
            return
        }
        try sys { try Creds.setgroups(plan.additionalGids) }
    }

    /// Go's exec.LookPath, with runc's wording (docker maps "no such file or directory" and
    /// "executable file not found" to exit 127).
    static func lookPath(_ name: String, env: [String]) throws(SwrunError) -> String {
        if name.contains("/") {
            let st: FileStat
            do { st = try Files.stat(name) } catch {
                throw SwrunError(.system, "exec: \(JSON.quoted(name)): stat \(name): \(Errno.text(error.errno))")
            }
            if st.isDirectory || !Files.isExecutableByUs(name) {
                throw SwrunError(.system, "exec: \(JSON.quoted(name)): permission denied")
            }
            return name
        }
        let pathVar =
            env.last { $0.startsWithBytes("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in pathVar.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            if let st = try? Files.stat(candidate), st.isRegular, Files.isExecutableByUs(candidate) { return candidate }
        }
        throw SwrunError(.system, "exec: \(JSON.quoted(name)): executable file not found in $PATH")
    }
}
