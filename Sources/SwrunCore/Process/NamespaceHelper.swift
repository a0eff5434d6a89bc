import OCISpec
import SwrunSys

/// Namespaces that must be joined before the container's process is made, or that the
/// process could not join itself once it exists (runc's nsexec stage 1, as a short-lived
/// helper instead of a standing intermediate process):
/// - a user namespace joined by path: the namespaces the container creates must belong to
///   it, so they are made by a clone after the join (a new PID namespace takes effect for
///   children only: hence a clone, not an unshare);
/// - a new user namespace together with namespaces joined by path: those belong to another
///   user namespace (the host's) and are joined with the helper's privileges first;
/// - an unprivileged user's exec: setns into the container's PID, mount or network
///   namespace also asks for CAP_SYS_ADMIN in the caller's own user namespace, which such
///   a user has only once it has joined the container's.
///
/// swrun clones the helper into the container's cgroups (as it would the process). The
/// helper opens the verified procfs handle while it still sees the host's /proc, joins in
/// runc's order (everything its privileges allow, then the user namespace, then what that
/// made possible), and clones the process with CLONE_PARENT: swrun's own child, which it
/// waits for, signals and tracks exactly as one it cloned itself. The pidfd goes to swrun
/// over the sync socket (`made`, then the descriptor, whose pid swrun reads in its own PID
/// namespace), and the helper exits.
enum NamespaceHelper {
    /// The joins a helper makes for a create: the PID namespace (by path), the user
    /// namespace (by path), and the others, in the plan's order.
    static func joins(_ plan: LaunchPlan) -> [NamespaceJoin] {
        var out: [NamespaceJoin] = []
        if let p = plan.userJoinPath { out.append(NamespaceJoin(type: "user", flag: NamespaceFlag.user, path: p)) }
        if let p = plan.pidJoinPath { out.append(NamespaceJoin(type: "pid", flag: NamespaceFlag.pid, path: p)) }
        return out + plan.joins
    }

    /// Whether a create goes through the helper: the cases above, and a PID namespace
    /// joined by anyone but the host's root (only it may return to its own PID namespace,
    /// which swrun does after cloning into a joined one: PidNamespaceRestore).
    static func needed(_ plan: LaunchPlan) -> Bool {
        plan.userJoinPath != nil || (plan.newUserNamespace && (!plan.joins.isEmpty || plan.pidJoinPath != nil))
            || (plan.pidJoinPath != nil && !plan.creator.isHostRoot)
    }

    /// In the helper (a child of swrun); never returns. `body` runs in the new process,
    /// with the procfs handle opened before any join.
    static func run(_ joins: [NamespaceJoin], cloneFlags: Int32, channel: SyncChannel, body: (OwnedFD) -> Never)
        -> Never
    {
        do throws(SwrunError) {
            try sys { try Prctl.setPdeathsig(Signals.kill) }
            try sys { try Prctl.setDumpable(false) }
            let proc = try sys { try ProcFS.openVerified() }
            var fds: [(NamespaceJoin, OwnedFD)] = []
            for j in joins {
                fds.append((j, try sys("open \(j.type) namespace") { try Files.open(j.path, OpenFlags.readOnly) }))
            }
            try joinInOrder(fds)
            let (pid, pidfd) = try sys("clone the container's process") {
                try Proc.forkSibling(namespaces: cloneFlags, proc: proc.raw)
            }
            if pid == 0 { body(proc) }
            guard let pidfd else { throw SwrunError(.system, "clone the container's process: no pidfd") }
            try channel.send(.made)
            try channel.sendDescriptor(pidfd.raw)
            Proc.exit(0)
        } catch {
            _ = try? channel.send(.error(errno: error.errno, message: error.message))
            Proc.exit(1)
        }
    }

    /// runc's join_namespaces: first every namespace but the user one that our privileges
    /// let us join (EPERM: later), then the user namespace, then the rest, which its
    /// capabilities now allow. A namespace still refused is an error naming it.
    static func joinInOrder(_ fds: [(NamespaceJoin, OwnedFD)]) throws(SwrunError) {
        var later: [(NamespaceJoin, OwnedFD)] = []
        for (j, fd) in fds where j.type != "user" {
            do { try Namespaces.setns(fd.raw, j.flag, display: j.path) } catch  where error.errno == Errno.EPERM {
                later.append((j, fd))
                continue
            } catch {
                throw SwrunError.system(error).wrapped("join \(j.type) namespace")
            }
            Log.debug("joined the \(j.type) namespace \(j.path)")
        }
        for (j, fd) in fds where j.type == "user" {
            try sys("join user namespace") { try Namespaces.setns(fd.raw, j.flag, display: j.path) }
            Log.debug("joined the user namespace \(j.path)")
        }
        for (j, fd) in later {
            try sys("join \(j.type) namespace") { try Namespaces.setns(fd.raw, j.flag, display: j.path) }
            Log.debug("joined the \(j.type) namespace \(j.path) (after the user namespace)")
        }
    }

    /// In swrun, after cloning the helper: the new process's pid, as swrun sees it; the
    /// helper is reaped.
    static func awaitMade(_ channel: SyncChannel, helper: Int32) throws(SwrunError) -> Int32 {
        defer { _ = try? Proc.waitpid(helper) }
        guard let m = try channel.receive() else {
            throw SwrunError(.system, "namespace helper (pid \(helper)) exited before making the container's process")
        }
        switch m {
        case .made:
            let fd = try channel.receiveDescriptor()
            guard let pid = Proc.pid(ofPidfd: fd.raw) else {
                throw SwrunError(
                    .system, "namespace helper: the container's process is not visible in swrun's PID namespace")
            }
            Log.debug("namespace helper made pid \(pid)")
            return pid
        case .error(let e, let msg):
            throw SwrunError(.system, msg, errno: e)
        default:
            throw SwrunError(.system, "namespace helper: unexpected sync message \(m.name)")
        }
    }
}
