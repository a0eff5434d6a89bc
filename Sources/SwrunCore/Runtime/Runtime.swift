import OCISpec
import SwrunSys

/// The runtime's façade over one state root (`--root`): one function per verb, for the
/// containers whose state lives there. The CLI parses, this decides and acts, and only
/// `main` turns a thrown SwrunError into stderr, a log line and an exit code.
public struct Runtime {
    public let store: StateStore

    public init(root: String) { store = StateStore(root: root) }

    public static let ociVersion = "1.0.2-dev"

    static func state(_ r: ContainerRecord, status: ContainerStatus, pid: Int32) -> ContainerState {
        ContainerState(
            ociVersion: r.ociVersion.isEmpty ? ociVersion : r.ociVersion, id: r.id, status: status.rawValue,
            pid: pid, bundle: r.bundle, rootfs: r.rootfs, created: r.created, annotations: r.annotations, owner: r.owner
        )
    }

    /// The state as clients see it: pid 0 once stopped, as runc reports it.
    public func state(_ id: String) throws(SwrunError) -> ContainerState {
        try ContainerID.validate(id)
        let r = try store.load(id)
        let status = ContainerStatus.derive(r, store: store)
        return Self.state(r, status: status, pid: status == .stopped ? 0 : r.initPid)
    }

    // MARK: create / start / run

    public func create(id: String, bundle: String, pidFile: String?, options: CreateOptions) throws(SwrunError) {
        let absPid = try absolute(pidFile)
        var options = options
        options.consoleSocket = try absolute(options.consoleSocket)
        options.pidfdSocket = try absolute(options.pidfdSocket)
        _ = try Launcher.create(id: id, bundle: bundle, options: options, pidFile: absPid, store: store)
    }

    func absolute(_ path: String?) throws(SwrunError) -> String? {
        guard let path, !path.isEmpty else { return nil }
        if path.startsWithBytes("/") { return path }
        return try sys { try Files.getcwd() } + "/" + path
    }

    public func start(_ id: String) throws(SwrunError) {
        try ContainerID.validate(id)
        let lock = try store.lock(id)
        defer { withExtendedLifetime(lock) {} }
        let r = try store.load(id)
        switch ContainerStatus.derive(r, store: store) {
        case .created: break
        case .stopped: throw SwrunError(.badState, "cannot start a container that has stopped")
        case .running: throw SwrunError(.badState, "cannot start an already running container")
        case .paused: throw SwrunError(.badState, "cannot start a paused container")
        case .creating: throw SwrunError(.badState, "cannot start a container that is still being created")
        }
        let notify = try Notify.listen(stateDir: store.directory(id))
        try releaseFifo(r)
        // The spec: a failed poststart hook is logged, and the remaining hooks and the
        // lifecycle continue.
        HookRunner.runAll(
            r.poststart, kind: "poststart", state: Self.state(r, status: .running, pid: r.initPid).hookJSON.encoded())
        if let notify { try Notify.relay(notify, pid: r.initPid, startTime: r.initStartTime) }
    }

    /// Opens exec.fifo for reading, which releases the init blocked on its write end, and
    /// waits for its byte. A dead init cannot hang `start`: liveness is checked while waiting.
    func releaseFifo(_ r: ContainerRecord) throws(SwrunError) {
        let path = store.fifoPath(r.id)
        let fifo = try sys("open exec fifo") { try Files.open(path, OpenFlags.readOnly | OpenFlags.nonBlock) }
        while true {
            if try sys(nil, { try Files.pollReadable(fifo.raw, timeoutMs: 100) }) {
                let b = try sys { try Files.read(fifo.raw, max: 1, display: path) }
                if b.isEmpty { throw SwrunError(.badState, "cannot start a container that has stopped") }
                break
            }
            if !ProcFS.isSameLiveProcess(pid: r.initPid, startTime: r.initStartTime) {
                throw SwrunError(.badState, "cannot start a container that has stopped")
            }
        }
        try sys("remove exec fifo") { try Files.unlink(path) }
    }

    /// Foreground `run`: create, start, forward signals, wait, delete (unless `keep`: runc's
    /// --keep leaves the stopped container for `state` and `delete`); returns the exit code.
    public func run(
        id: String, bundle: String, pidFile: String?, options: CreateOptions, detach: Bool, keep: Bool = false
    ) throws(SwrunError) -> Int32 {
        let absPid = try absolute(pidFile)
        var options = options
        options.consoleSocket = try absolute(options.consoleSocket)
        options.pidfdSocket = try absolute(options.pidfdSocket)
        let created = try Launcher.create(id: id, bundle: bundle, options: options, pidFile: absPid, store: store)
        var r = created.record
        let notify = detach ? try Notify.listen(stateDir: store.directory(id)) : nil
        do {
            try releaseFifo(r)
            // Until the init's execve the state says "creating", so that no `exec` can put a
            // process beside an init that is still swrun's image (Launcher.exposure). The sync
            // socket's EOF is that execve (or the init's death); an error the init hit after
            // the handover (a startContainer hook) comes first and is reported as the init would.
            while let m = try created.channel.receive() {
                if case .error(_, let msg) = m { InitSequence.report(msg) }
            }
            if !r.setupComplete {
                r.setupComplete = true
                try store.save(r)
            }
            HookRunner.runAll(
                r.poststart, kind: "poststart",
                state: Self.state(r, status: .running, pid: r.initPid).hookJSON.encoded(), cwd: r.bundle)
        } catch {
            try? Teardown.destroy(r, store: store, hookCwd: r.bundle)
            throw error
        }
        created.lock.unlock()
        if let notify { try Notify.relay(notify, pid: r.initPid, startTime: r.initStartTime) }
        if detach { return 0 }
        if options.forwardSignals { Proc.forwardSignals(to: created.pid) }
        let status: ExitStatus
        if let relay = created.relay {
            status = try relay.relay(pid: created.pid)
        } else {
            guard let s = try sys("wait for container", { try Proc.waitpid(created.pid) }) else {
                throw SwrunError(.system, "wait for container: no status")
            }
            status = s
        }
        if !keep {
            let lock = try store.lock(id)
            try Teardown.destroy(try store.load(id), store: store, hookCwd: r.bundle)
            withExtendedLifetime(lock) {}
        }
        return status.shellCode
    }

    // MARK: kill / delete

    public func kill(_ id: String, signal: Int32, all: Bool) throws(SwrunError) {
        try ContainerID.validate(id)
        let r = try store.load(id)
        let status = ContainerStatus.derive(r, store: store)
        if all {
            // As runc: --all signals whatever is in the cgroups, and a stopped container's
            // cgroups hold nothing, which is no error.
            if status == .stopped || status == .creating { return }
            let cgroups = CgroupDrivers.attach(r.cgroup)
            guard r.cgroup.hasCgroup else {
                // Rootless without a cgroup: what is in the init's PID namespace (ProcessScan).
                for pid in ProcessScan.pids(initPid: r.initPid, startTime: r.initStartTime) {
                    _ = try? Proc.kill(pid, signal)
                }
                return
            }
            try cgroups.signalAll(signal)
            if status == .paused && signal == Signals.kill { try? cgroups.freeze(false) }
            return
        }
        if status == .stopped || status == .creating { throw SwrunError.notRunning }
        guard try sys(nil, { try Proc.kill(r.initPid, signal) }) else { throw SwrunError.notRunning }
    }

    public func delete(_ id: String, force: Bool) throws(SwrunError) {
        try ContainerID.validate(id)
        let lock: StateStore.Lock
        do { lock = try store.lock(id) } catch  where error.kind == .notExist {
            if force { return }
            throw error
        }
        defer { withExtendedLifetime(lock) {} }
        let r: ContainerRecord
        do { r = try store.load(id) } catch  where error.kind == .notExist {
            // A create killed before its first record: only the directory exists.
            try store.remove(id)
            if force { return }
            throw error
        }
        let status = ContainerStatus.derive(r, store: store)
        switch status {
        case .stopped, .created:
            try destroy(r)
        case .running, .paused, .creating:
            guard force else {
                throw SwrunError(.badState, "cannot delete container \(id) that is not stopped: \(status.rawValue)")
            }
            try destroy(r)
        }
    }

    /// Kills what is left, removes the cgroups, runs poststop hooks, removes the state
    /// (Teardown, shared with a failed create).
    func destroy(_ r: ContainerRecord) throws(SwrunError) {
        try Teardown.destroy(r, store: store)
    }

    // MARK: list / ps / pause / resume

    public func list() throws(SwrunError) -> [ContainerState] {
        var out: [ContainerState] = []
        // The owner of each state directory by name, from the host's /etc/passwd (no NSS),
        // read once for the whole list.
        var users: [PasswdEntry]?
        let reader = StatusReader(store)
        for id in try store.ids() {
            guard let bytes = reader.stateFile(id), let r = try? store.decode(id, bytes, listing: true) else {
                continue
            }
            let status = ContainerStatus.derive(r, reader)
            var s = Self.state(r, status: status, pid: status == .stopped ? 0 : r.initPid)
            // Recorded at create (a stat of the directory for older state files).
            if let uid = r.ownerUid ?? (try? Files.stat(store.directory(id)))?.uid {
                if users == nil { users = (try? Files.readString("/etc/passwd")).map(UserDB.parsePasswd) ?? [] }
                s.owner = users?.first { $0.uid == uid }?.name ?? "#\(uid)"
            }
            out.append(s)
        }
        return out
    }

    /// The processes in the container's cgroups: none for a stopped container (runc lists
    /// its empty cgroup; `ps` then prints only the header).
    public func pids(_ id: String) throws(SwrunError) -> [Int32] {
        try ContainerID.validate(id)
        let r = try store.load(id)
        if ContainerStatus.derive(r, store: store) == .stopped { return [] }
        guard r.cgroup.hasCgroup else { return ProcessScan.pids(initPid: r.initPid, startTime: r.initStartTime) }
        return CgroupDrivers.attach(r.cgroup).pids().sorted()
    }

    public func pause(_ id: String) throws(SwrunError) {
        try ContainerID.validate(id)
        let lock = try store.lock(id)
        defer { withExtendedLifetime(lock) {} }
        let r = try store.load(id)
        switch ContainerStatus.derive(r, store: store) {
        case .running, .created: try CgroupDrivers.attach(r.cgroup).freeze(true)
        case .paused: throw SwrunError(.badState, "container already paused")
        default: throw SwrunError.notRunning
        }
    }

    public func resume(_ id: String) throws(SwrunError) {
        try ContainerID.validate(id)
        let lock = try store.lock(id)
        defer { withExtendedLifetime(lock) {} }
        let r = try store.load(id)
        guard ContainerStatus.derive(r, store: store) == .paused else {
            throw SwrunError(.badState, "container not paused")
        }
        try CgroupDrivers.attach(r.cgroup).freeze(false)
    }
}
