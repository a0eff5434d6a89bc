import OCISpec
import SwrunSys

/// sd_notify relay, as runc does it: with NOTIFY_SOCKET in swrun's environment, the container
/// gets `<state>/notify` bind-mounted read-only at /run/notify and NOTIFY_SOCKET=
/// /run/notify/notify.sock; `start` (and `run -d`) bind that socket before releasing the
/// container, forward what arrives to the host's socket, add MAINPID, and return at READY=1.
enum Notify {
    static let containerDir = "/run/notify"
    static let containerSocket = "/run/notify/notify.sock"

    static func hostSocket() -> String? {
        guard let s = Proc.getenv("NOTIFY_SOCKET"), !s.isEmpty else { return nil }
        return s
    }

    /// At create: the directory, the mount and the environment.
    static func prepare(_ plan: inout LaunchPlan, stateDir: String) throws(SwrunError) {
        guard hostSocket() != nil else { return }
        try sys("create notify dir") { try Files.mkdirAll(stateDir + "/notify", mode: 0o755) }
        var op = MountOp(destination: containerDir, kind: .bind(source: stateDir + "/notify", recursive: false))
        op.attrSet = MountAttr.rdonly | MountAttr.nosuid | MountAttr.noexec | MountAttr.nodev
        plan.mounts.append(op)
        plan.env.removeAll { $0.startsWithBytes("NOTIFY_SOCKET=") }
        plan.env.append("NOTIFY_SOCKET=" + containerSocket)
    }

    /// At start: bind the socket (before the container runs).
    static func listen(stateDir: String) throws(SwrunError) -> OwnedFD? {
        guard hostSocket() != nil, Files.exists(stateDir + "/notify") else { return nil }
        return try sys { try NotifySocket.bind(stateDir + "/notify/notify.sock") }
    }

    /// Forwards messages until READY=1 (then MAINPID) or until the container exits.
    static func relay(_ socket: OwnedFD, pid: Int32, startTime: UInt64) throws(SwrunError) {
        guard let host = hostSocket() else { return }
        while ProcFS.isSameLiveProcess(pid: pid, startTime: startTime) {
            guard try sys(nil, { try Files.pollReadable(socket.raw, timeoutMs: 100) }) else { continue }
            let msg = Files.readSome(socket.raw)
            if msg.isEmpty { continue }
            try sys("forward sd_notify") { try NotifySocket.send(host, msg) }
            let text = String(decoding: msg, as: UTF8.self)
            if text.split(separator: "\n").contains("READY=1") {
                try sys("forward sd_notify") { try NotifySocket.send(host, Array("MAINPID=\(pid)\n".utf8)) }
                return
            }
        }
    }
}
