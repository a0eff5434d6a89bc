import OCISpec
import SwrunSys

/// SCMP_ACT_NOTIFY: the seccomp listener fd goes to linux.seccomp.listenerPath with runc's
/// ContainerProcessState payload ({ociVersion, fds: ["seccompFd"], pid, metadata, state}).
enum SeccompNotify {
    /// Parent: connect before the clone (a host path, unreachable after pivot_root).
    static func connect(_ plan: LaunchPlan) throws(SwrunError) -> OwnedFD? {
        guard let path = plan.seccompListenerPath else { return nil }
        return try sys("connect to seccomp listener \(path)") { try Terminal.connect(path) }
    }

    /// Child: install the filter; with a listener, send its fd.
    static func install(_ plan: LaunchPlan, hostPid: Int32, stateJSON: String) throws(SwrunError) {
        guard let bpf = plan.seccompFilter else { return }
        let listener = try sys("install seccomp filter") { try SeccompBPF.install(bpf, flags: plan.seccompFlags) }
        guard let listener, plan.seccompListener >= 0 else { return }
        let state = stateJSON.isEmpty ? "{}" : stateJSON
        let payload =
            "{\"ociVersion\":\"\(Runtime.ociVersion)\",\"fds\":[\"seccompFd\"],\"pid\":\(hostPid),\"metadata\":\(JSON.quoted(plan.seccompListenerMetadata)),\"state\":\(state)}"
        try sys("send seccomp listener") { try Terminal.sendFD(plan.seccompListener, listener.raw, payload: payload) }
    }

    /// This process's pid in the host's /proc (read before any namespace or mount change),
    /// for the listener's message; 0 without a listener (nothing reads it then).
    static func hostPid(_ plan: LaunchPlan) -> Int32 {
        guard plan.seccompListener >= 0 else { return 0 }
        return ((try? Files.readlinkat(Files.atCWD, "/proc/self")).flatMap { Int32($0) }) ?? 0
    }
}
