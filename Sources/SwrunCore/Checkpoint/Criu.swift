import SwrunSys

/// The criu binary, driven as runc drives it: one `criu swrk 3` process per request, its RPC
/// socket (SOCK_SEQPACKET) as descriptor 3, protobuf messages one per packet (CriuRPC.swift).
struct Criu {
    let path: String

    /// --criu names the binary (a path, or a name looked up in $PATH); by default `criu` in
    /// $PATH, then the sbin directories an engine's narrower PATH may leave out.
    /// CRIU dumps and restores other processes' memory, namespaces and mounts: it needs the
    /// host's root (runc only warns that rootless checkpoints are untested, and criu then
    /// fails with its own words deep in the dump); swrun says so before anything is done.
    static func requireHostRoot(_ verb: String) throws(SwrunError) {
        let me = Identity.current
        guard me.isHostRoot else {
            throw SwrunError(
                .system,
                "\(verb) needs the host's root: CRIU cannot dump or restore a container for uid \(me.euid)\(me.inUserNamespace ? " in a user namespace" : "") (rootless checkpoints are not supported)"
            )
        }
    }

    static func locate(_ configured: String?) throws(SwrunError) -> Criu {
        let name = configured.flatMap { $0.isEmpty ? nil : $0 } ?? "criu"
        if name.utf8.contains(UInt8(ascii: "/")) {
            guard Files.isExecutable(name) else {
                throw SwrunError(
                    .system,
                    "criu is not available: --criu \(Quote.short(name)) is not an executable file (checkpoint and restore need CRIU)"
                )
            }
            return Criu(path: name)
        }
        let dirs =
            (Proc.getenv("PATH") ?? "").split(separator: ":").map(String.init) + [
                "/usr/local/sbin", "/usr/sbin", "/sbin",
            ]
        for d in dirs where !d.isEmpty {
            let p = d + "/" + name
            if Files.isExecutable(p), (try? Files.stat(p))?.isRegular == true { return Criu(path: p) }
        }
        throw SwrunError(
            .system,
            "criu is not installed: no \(Quote.short(name)) executable in $PATH or the sbin directories (checkpoint and restore need CRIU: install the criu package, or name the binary with --criu)"
        )
    }

    /// One request on a fresh `criu swrk`, its notifications answered by `notify` (then
    /// notify_success), to the final response. A response with success false is thrown as a
    /// CriuFailure; so is a criu that exits without answering.
    func run(
        _ req: CriuReq, stdio: [Int32?] = [nil, nil, nil], extraFds: [Int32] = [],
        notify: (CriuNotify, OwnedFD?) throws(SwrunError) -> Void = { _, _ in }
    ) throws(SwrunError) -> CriuResp {
        try withSession(stdio: stdio, extraFds: extraFds) { (s) throws(SwrunError) -> CriuResp in
            try s.exchange(req, notify: notify)
        }
    }

    /// Starts `criu swrk`, hands the session to `body`, and always ends it (the socket shut,
    /// the process reaped; killed if `body` failed before its answer).
    func withSession<T>(
        stdio: [Int32?] = [nil, nil, nil], extraFds: [Int32] = [], _ body: (CriuSession) throws(SwrunError) -> T
    ) throws(SwrunError) -> T {
        let s = try CriuSession(self, stdio: stdio, extraFds: extraFds)
        let result: T
        do { result = try body(s) } catch {
            s.abort()
            throw error
        }
        s.finish()
        return result
    }

    /// Our environment, with the sbin directories added to PATH where it lacks them: criu
    /// runs iptables-restore and its other helpers through PATH, and an engine's PATH may
    /// leave them out (criu itself was found there).
    static func environment() -> [String] {
        var env = Proc.environment()
        let path = Proc.getenv("PATH") ?? ""
        let have = path.split(separator: ":").map(String.init)
        let missing = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].filter {
            !have.contains($0)
        }
        guard !missing.isEmpty else { return env }
        env.removeAll { $0.startsWithBytes("PATH=") }
        env.append("PATH=" + (have + missing).joinedText(":"))
        return env
    }

    /// The VERSION request (go-criu's GetCriuVersion): 3.17.1 is 31701.
    func version() throws(SwrunError) -> CriuVersion {
        let resp: CriuResp
        do {
            resp = try run(CriuReq(type: .version))
        } catch {
            throw error.wrapped("CRIU version check failed")
        }
        guard let v = resp.version else {
            throw SwrunError(.system, "CRIU version check failed: no version in criu's answer (CRIU older than 3.0?)")
        }
        return v
    }

    /// runc's version gate: 3.0 for the RPC swrun relies on.
    func checkVersion(_ v: CriuVersion, atLeast min: Int, for what: String) throws(SwrunError) {
        if v.number < min {
            throw SwrunError(
                .system, "\(what) needs CRIU \(min / 10000).\(min / 100 % 100) or newer; \(path) is \(v.text)")
        }
    }

    /// FEATURE_CHECK: the features asked for that this criu and kernel lack.
    func missingFeatures(_ want: CriuFeatures) throws(SwrunError) -> [String] {
        let resp: CriuResp
        do {
            resp = try run(CriuReq(type: .featureCheck, features: want))
        } catch {
            throw error.wrapped("CRIU feature check failed")
        }
        let have = resp.features ?? CriuFeatures()
        var missing: [String] = []
        if want.memTrack == true && have.memTrack != true {
            missing.append("MemTrack (the kernel's soft-dirty memory tracking)")
        }
        if want.lazyPages == true && have.lazyPages != true { missing.append("LazyPages") }
        return missing
    }

    /// `criu check`: whether this kernel has what CRIU needs, and what it says when not (its
    /// output, at most a few kB). Asked only once a request has failed, to explain it.
    func check() -> (ok: Bool, output: String) {
        guard let out = try? Files.pipe() else { return (true, "") }
        guard
            let pid = try? Proc.spawn(
                path, [path, "check"], Criu.environment(), fds: [nil, out.write.raw, out.write.raw])
        else {
            return (true, "")
        }
        out.write.close()
        var text: [UInt8] = []
        let deadline = Clock.monotonicMilliseconds() + 30_000
        var status: ExitStatus?
        while status == nil {
            if (try? Files.pollReadable(out.read.raw, timeoutMs: 20)) == true,
                let chunk = try? Files.read(out.read.raw, max: 4096, display: "criu check"), !chunk.isEmpty
            {
                if text.count < 8192 { text += chunk }
            }
            do { status = try Proc.waitpid(pid, noHang: true) } catch { return (true, "") }
            if status == nil, Clock.monotonicMilliseconds() > deadline {
                _ = try? Proc.kill(pid, Signals.kill)
                status = try? Proc.waitpid(pid)
                return (false, "criu check did not finish in 30 s")
            }
        }
        while let chunk = try? Files.read(out.read.raw, max: 4096, display: "criu check"), !chunk.isEmpty,
            text.count < 8192
        { text += chunk }
        return (status == .exited(0), trimWhitespace(String(decoding: text, as: UTF8.self)))
    }
}

/// A failed CRIU request: its type, errno and message, as runc words it ("criu failed: type
/// DUMP errno 0"), completed by `CriuDiagnosis` with the log and `criu check`.
struct CriuFailure {
    var type: CriuReqType
    var errno: Int32
    var message: String?

    var text: String {
        "criu failed: type \(type.name) errno \(errno)"
            + (message.map(trimWhitespace).flatMap { $0.isEmpty ? nil : ": " + $0 } ?? "")
    }
}

/// One `criu swrk` process and our end of its socket.
final class CriuSession {
    let pid: Int32
    let socket: PacketSocket
    let criu: Criu
    private var reaped = false
    /// What criu said before it failed or went away (type, errno, message).
    var failure: CriuFailure?

    /// Our stdio (or /dev/null) as its 0-2, its end of the socket as 3, then `extraFds` (4, 5,
    /// ...: what inherit_fd names).
    init(_ criu: Criu, stdio: [Int32?], extraFds: [Int32]) throws(SwrunError) {
        self.criu = criu
        let (ours, theirs) = try sys("criu: socketpair") { try PacketSocket.pair() }
        let fds: [Int32?] = Array(stdio.prefix(3)) + [theirs.fd.raw] + extraFds.map { Optional($0) }
        pid = try sys("criu: start \(criu.path) swrk") {
            try Proc.spawn(criu.path, [criu.path, "swrk", "3"], Criu.environment(), fds: fds)
        }
        // Ours is closed: if criu dies, our receive reads end-of-file instead of hanging.
        theirs.fd.close()
        socket = ours
        Log.debug("criu: started \(criu.path) swrk 3 (pid \(pid))")
    }

    func send(_ req: CriuReq) throws(SwrunError) {
        Log.debug("criu: request \(req.type.name)")
        try sys("criu: send \(req.type.name) request") { try socket.send(req.encoded(), what: "send to criu") }
    }

    /// The next response, with the descriptor it carries (orphan-pts-master sends one).
    func receive(for type: CriuReqType) throws(SwrunError) -> (CriuResp, OwnedFD?) {
        guard
            let (bytes, fd) = try sys(
                "criu: receive", { try socket.receiveWithDescriptor(max: 10 * 4096, what: "receive from criu") })
        else {
            let status = reap()
            throw SwrunError(.system, "criu: \(type.name): criu exited without an answer (\(Self.describe(status)))")
        }
        do {
            return (try CriuResp.decode(bytes), fd)
        } catch {
            throw SwrunError(.system, "criu: \(type.name): unreadable answer: \(error.message)")
        }
    }

    /// Sends `req`, answers its notifications, and returns the final response.
    func exchange(_ req: CriuReq, notify: (CriuNotify, OwnedFD?) throws(SwrunError) -> Void) throws(SwrunError)
        -> CriuResp
    {
        try send(req)
        while true {
            let (resp, fd) = try receive(for: req.type)
            guard resp.success else {
                failure = CriuFailure(type: resp.type, errno: resp.crErrno ?? 0, message: resp.crErrmsg)
                throw SwrunError(.system, failure?.text ?? "criu failed")
            }
            if resp.type == .notify {
                guard let n = resp.notify else { throw SwrunError(.system, "criu: a NOTIFY without its notification") }
                Log.debug("criu: notify \(n.script ?? "?")" + (n.pid.map { " pid \($0)" } ?? ""))
                try notify(n, fd)
                try send(CriuReq(type: .notify, notifySuccess: true))
                continue
            }
            guard resp.type == req.type else {
                throw SwrunError(
                    .system, "criu: asked for \(req.type.name), answered \(resp.type.name) (type \(resp.rawType))")
            }
            return resp
        }
    }

    /// The request is done: criu reads end-of-file and exits (pre-dump's criu waits for
    /// more and exits when the socket closes, as runc has it).
    func finish() {
        socket.shutdownWrite()
        let status = reap()
        if let status, status != .exited(0) { Log.debug("criu: swrk ended with \(Self.describe(status))") }
    }

    /// A failure on our side in the middle of a request: criu must not go on alone.
    func abort() {
        if !reaped { _ = try? Proc.kill(pid, Signals.kill) }
        socket.fd.close()
        _ = reap()
    }

    @discardableResult
    func reap() -> ExitStatus? {
        guard !reaped else { return nil }
        reaped = true
        return try? Proc.waitpid(pid)
    }

    static func describe(_ s: ExitStatus?) -> String {
        switch s {
        case .exited(let c)?: return "exit status \(c)"
        case .signaled(let sig)?: return "killed by signal \(sig)"
        case nil: return "status unknown"
        }
    }
}

/// What to tell the user when a request failed: criu's own words, the errors in its log
/// (runc quotes them as warnings; swrun puts the first in the error too), and, when the
/// kernel is the reason, what `criu check` reports.
public enum CriuDiagnosis {
    /// The lines of `log` that say Error, with the line before each (runc's logCriuErrors
    /// quotes five), at most `max` of them.
    public static func errorLines(_ log: String, max: Int = 4) -> [String] {
        var out: [String] = []
        for line in log.split(separator: "\n", omittingEmptySubsequences: true) where line.containsText("Error") {
            out.append(String(line))
            if out.count == max { break }
        }
        return out
    }

    static func readLog(_ path: String) -> String? {
        guard let b = try? Files.readRegular(path, max: 1 << 22, display: path) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// The error for a failed request `what` ("checkpoint", "restore"): when `criu check`
    /// fails too, that is the reason given first, naming criu, its version and the kernel.
    static func explain(_ error: SwrunError, criu: Criu, version: CriuVersion?, log: String, what: String) -> SwrunError
    {
        // Only criu's own failures ("criu failed: ...", "criu: ..."); one of ours (a hook, the
        // console socket) is reported as it is.
        guard error.message.startsWithBytes("criu") else { return error }
        let logText = readLog(log)
        if let logText {
            let quoted = errorLines(logText, max: 12)
            if !quoted.isEmpty {
                Log.warning("--- Quoting \(log)")
                for l in quoted { Log.warning(l) }
                Log.warning("---")
            }
        }
        let check = criu.check()
        if !check.ok {
            let kernel = (try? Files.readString("/proc/sys/kernel/osrelease")).map(trimWhitespace) ?? "?"
            let said =
                check.output.isEmpty
                ? "(nothing)" : check.output.split(separator: "\n").suffix(6).joined(separator: " | ")
            return SwrunError(
                .system,
                "\(what): criu \(version?.text ?? "") (\(criu.path)) cannot work on this kernel (\(kernel)): `criu check` reports: \(said); \(error.message) (criu log: \(log))"
            )
        }
        let firstErrors = logText.map { errorLines($0, max: 2) } ?? []
        let logPart = " (criu log: \(log)" + (firstErrors.isEmpty ? "" : ": " + firstErrors.joinedText(" | ")) + ")"
        return SwrunError(error.kind, error.message + logPart, errno: error.errno)
    }
}
