import OCISpec
import SwrunSys

extension Runtime {
    /// `restore`: a new container ID from the bundle's config, whose processes CRIU
    /// restores from the image directory (runc's Restore) instead of an init being started.
    /// Its record is then an ordinary running container's (the restored init's pid and
    /// start time), for state, kill, exec, pause and delete. With --detach swrun returns at
    /// once; without, it waits for the init as `run` does, and deletes the container when it
    /// exits. Returns the exit code.
    public func restore(_ id: String, _ o: RestoreOptions) throws(SwrunError) -> Int32 {
        try ContainerID.validate(id)
        try Criu.requireHostRoot("restore")
        let pidFile = try absolute(o.pidFile)
        if let pidFile { try sys("--pid-file") { try Files.checkReplaceable(pidFile) } }
        let cwd = try sys { try Files.getcwd() }
        let mode = try o.criu.cgroupMode()
        let emptyNs = try o.criu.emptyNamespaceMask()
        let bundlePath: String
        do throws(SyscallError) {
            bundlePath = try Files.realpath(o.bundle.flatMap { $0.isEmpty ? nil : $0 } ?? cwd)
            guard try Files.stat(bundlePath).isDirectory else {
                throw SyscallError("chdir", o.bundle, errno: Errno.ENOTDIR)
            }
        } catch {
            throw SwrunError(.invalidConfig, error.description, errno: error.errno)
        }
        let (spec, configBytes) = try Launcher.loadSpec(bundlePath)
        let layout = try CgroupLayout.discover()
        var createOptions = CreateOptions()
        createOptions.noPivot = o.noPivot
        createOptions.seccompCache = store.root + "/.cache/seccomp"
        createOptions.detached = o.detach
        createOptions.systemdCgroup = o.systemdCgroup
        let (plan, cgroups) = try Validation.planAndDriver(
            spec, bundle: bundlePath, id: id, layout: layout, options: createOptions)
        let resources = spec.linux?.resources ?? LinuxResources()

        var image = o.criu.imagePath.flatMap { $0.isEmpty ? nil : $0 } ?? "checkpoint"
        if !image.startsWithBytes("/") { image = MountPlan.normalize(cwd + "/" + image) }
        let imagesFd = try sys("restore: --image-path") {
            try Files.open(image, OpenFlags.readOnly | OpenFlags.directory)
        }
        let descriptors = try sys("restore: read \(image)/descriptors.json (made by checkpoint beside the images)") {
            try Files.readRegular(image + "/descriptors.json", max: 1 << 16, display: "descriptors.json")
        }
        let stdioInherit = try CriuDescription.inheritedStdio(descriptors)
        let criu = try Criu.locate(o.criu.criuPath)
        let version = try criu.version()
        try criu.checkVersion(version, atLeast: 30000, for: "restore")
        if o.criu.lsmProfile != nil { try criu.checkVersion(version, atLeast: 31600, for: "--lsm-profile") }
        if o.criu.lsmMountContext != nil { try criu.checkVersion(version, atLeast: 31600, for: "--lsm-mount-context") }
        let hooks = spec.hooks ?? Hooks()
        let runtimeHooks =
            try PlanBuilder.validHooks(hooks.prestart, "hooks.prestart")
            + PlanBuilder.validHooks(hooks.createRuntime, "hooks.createRuntime")
        let (console, relay) = try Console.connect(
            try absolute(o.consoleSocket), terminal: plan.terminal, detached: o.detach)
        var (inheritNs, joinNs) = try CriuDescription.restoreNamespaces(plan, firstFd: 4)
        var nsFds: [OwnedFD] = []
        for ns in inheritNs {
            nsFds.append(
                try sys("restore: open the namespace \(ns.path) (a namespace joined by path must exist)") {
                    try Files.open(ns.path, OpenFlags.readOnly)
                })
        }

        let me = Proc.getpid()
        var record = ContainerRecord(
            id: id, bundle: bundlePath, rootfs: plan.rootfs, created: Timestamp.rfc3339(nanoseconds: true),
            ociVersion: spec.ociVersion, annotations: spec.annotations ?? [:], owner: "",
            creatorPid: me, creatorStartTime: ProcFS.startTime(of: me) ?? 0)
        // The driver has named what it will make (directories, a systemd unit).
        record.cgroup = cgroups.handle
        record.ownerUid = Creds.geteuid()
        record.poststart = try PlanBuilder.validHooks(hooks.poststart, "hooks.poststart")
        record.poststop = try PlanBuilder.validHooks(hooks.poststop, "hooks.poststop")
        if !o.noSubreaper { try? Prctl.setChildSubreaper() }

        let lock = try store.createDirectory(id)
        var restored: Int32 = 0
        var mounts = RestoreMounts()
        var logDir = image
        do throws(SwrunError) {
            // Crash safety, as create: what will be made is recorded before it is made.
            try store.save(record)
            try sys("save config") { try Files.writeNew(store.directory(id) + "/config.json", configBytes) }
            try cgroups.create(resources)
            if cgroups.handle != record.cgroup {
                // An existing systemd unit, joined (as create): recorded before criu runs, so
                // that a failed restore's teardown leaves it alone.
                record.cgroup = cgroups.handle
                try store.save(record)
            }
            // CRIU wants its root to be a mount point whose parent is not overmounted: the
            // rootfs is bound at <state>/criu-root (runc's criu-root), and the mount points the
            // config needs are made in the rootfs as create makes them.
            let criuRoot = try mounts.bindRoot(plan.rootfs, at: store.directory(id) + "/criu-root")
            try mounts.prepareMountPoints(plan)

            var opts = CriuOpts()
            opts.imagesDirFd = imagesFd.raw
            opts.evasiveDevices = true
            opts.logLevel = 4
            opts.logFile = "restore.log"
            opts.rstSibling = true
            opts.root = criuRoot
            opts.manageCgroups = true
            opts.manageCgroupsMode = mode
            opts.notifyScripts = true
            opts.shellJob = o.criu.shellJob
            opts.extUnixSk = o.criu.extUnixSk
            opts.tcpEstablished = o.criu.tcpEstablished
            opts.fileLocks = o.criu.fileLocks
            opts.emptyNs = emptyNs
            opts.orphanPtsMaster = true
            opts.autoDedup = o.criu.autoDedup
            opts.lazyPages = false
            opts.lsmProfile = o.criu.lsmProfile
            opts.lsmMountContext = o.criu.lsmMountContext
            var workFd: OwnedFD?
            if let work = try absolute(o.criu.workPath) {
                workFd = try Self.openWorkDir(work)
                opts.workDirFd = workFd?.raw
                logDir = work
            }
            opts.configFile = Self.criuConfigFile(record.annotations)
            opts.joinNs = joinNs
            opts.extMnt = CriuDescription.restoreMounts(plan)
            opts.inheritFd = stdioInherit + inheritNs.map { CriuInheritFd(key: $0.key, fd: $0.fd) }
            inheritNs = []
            joinNs = []

            // Without a terminal the restored stdio pipes are swrun's own 0-2 (inherit_fd
            // names criu's descriptors, which are ours); with one, the pty comes back through
            // orphan-pts-master.
            let stdio: [Int32?] = plan.terminal ? [nil, nil, nil] : [0, 1, 2]
            let resp: CriuResp
            do throws(SwrunError) {
                resp = try criu.withSession(stdio: stdio, extraFds: nsFds.map(\.raw)) {
                    (s) throws(SwrunError) -> CriuResp in
                    opts.cgRoot = try CriuCgroups.place(criu: s.pid, driver: cgroups, resources: resources)
                    // A unit found to exist already is not ours to stop (SystemdDriver.disown).
                    record.cgroup = cgroups.handle
                    return try s.exchange(CriuReq(type: .restore, opts: opts)) { (n, fd) throws(SwrunError) in
                        switch n.script {
                        case "setup-namespaces":
                            guard let pid = n.pid else { return }
                            if plan.newNetworkNamespace && emptyNs & UInt32(bitPattern: NamespaceFlag.network) != 0 {
                                try Self.loopbackUp(in: pid)
                            }
                            if !runtimeHooks.isEmpty {
                                try HookRunner.run(
                                    runtimeHooks, kind: "prestart/createRuntime",
                                    state: Self.state(record, status: .created, pid: pid).hookJSON.encoded(),
                                    cwd: bundlePath)
                            }
                        case "post-restore":
                            guard let pid = n.pid else {
                                throw SwrunError(.system, "criu: post-restore without the restored pid")
                            }
                            if plan.readonlyRoot { try Self.readonlyRoot(of: pid) }
                            restored = pid
                            record.initPid = pid
                            record.initStartTime = ProcFS.startTime(of: pid) ?? 0
                            record.setupComplete = true
                            record.created = Timestamp.rfc3339(nanoseconds: true)
                            try store.save(record)
                        case "orphan-pts-master":
                            guard let fd else {
                                throw SwrunError(.system, "criu: orphan-pts-master without the pty master")
                            }
                            if let socket = console?.raw ?? relay?.theirs.raw {
                                try sys("send the restored console to --console-socket") {
                                    try Terminal.sendFD(socket, fd.raw, payload: "orphan-pts-master")
                                }
                            }
                        default:
                            break
                        }
                    }
                }
            } catch {
                throw CriuDiagnosis.explain(
                    error, criu: criu, version: version, log: logDir + "/restore.log", what: "restore")
            }
            withExtendedLifetime((imagesFd, workFd, nsFds)) {}
            if let pid = resp.restorePid, pid > 0, restored == 0 {
                // (CRIU announces the pid in post-restore first; this is the same pid.)
                restored = pid
                record.initPid = pid
                record.initStartTime = ProcFS.startTime(of: pid) ?? 0
                record.setupComplete = true
                try store.save(record)
            }
            guard restored > 0 else { throw SwrunError(.system, "criu: the restore ended without a restored process") }
            mounts.undo()
            if let pidFile { try Launcher.writePidFile(pidFile, restored) }
        } catch {
            mounts.undo()
            if restored > 0 {
                _ = try? Proc.kill(restored, Signals.kill)
                _ = try? Proc.waitpid(restored)
            }
            let explained = error
            do { try Teardown.destroy(record, store: store, hookCwd: bundlePath) } catch let cleanup {
                throw SwrunError(
                    explained.kind, "\(explained.message) (and cleaning up failed: \(cleanup.message))",
                    errno: explained.errno)
            }
            withExtendedLifetime(lock) {}
            throw explained
        }
        console?.close()
        lock.unlock()
        if o.detach { return 0 }
        Proc.forwardSignals(to: restored)
        let status: ExitStatus
        if let relay {
            status = try relay.relay(pid: restored)
        } else {
            guard let s = try sys("wait for container", { try Proc.waitpid(restored) }) else {
                throw SwrunError(.system, "wait for container: no status")
            }
            status = s
        }
        let lock2 = try store.lock(id)
        try Teardown.destroy(try store.load(id), store: store, hookCwd: bundlePath)
        withExtendedLifetime(lock2) {}
        return status.shellCode
    }

    /// root.readonly: CRIU restores the root mount of the container from criu-root, writable
    /// (criu issue 2632; runc's restored containers have a writable root), so it is made
    /// read-only again here, before the restored processes resume. mount_setattr acts only
    /// on mounts of the caller's mount namespace: a child of ours enters the container's to
    /// do it, and swrun's own namespace, root and working directory stay as they are.
    static func readonlyRoot(of pid: Int32) throws(SwrunError) {
        let ns = try sys("restore: open the restored mount namespace") {
            try Files.open("/proc/\(pid)/ns/mnt", OpenFlags.readOnly)
        }
        let child = try sys("restore: read-only root") { try Proc.fork(namespaces: 0) }
        if child == 0 {
            do {
                try Namespaces.setns(ns.raw, NamespaceFlag.mount, display: "/proc/\(pid)/ns/mnt")
                try Mount.setAttr(path: "/", recursive: false, set: MountAttr.rdonly, clear: 0)
            } catch {
                Stdio.writeStderr("restore: make the root read-only: \(error)\n")
                Proc.exit(1)
            }
            Proc.exit(0)
        }
        let status = try sys("restore: read-only root") { try Proc.waitpid(child) }
        guard status == .exited(0) else {
            throw SwrunError(.system, "restore: could not make the restored container's root read-only (root.readonly)")
        }
    }

    /// The container's own network namespace comes back empty (CRIU's empty_ns: runc and
    /// swrun do not manage network devices); its loopback is brought up again, as create
    /// brings it up, before CRIU restores the sockets bound to it.
    static func loopbackUp(in pid: Int32) throws(SwrunError) {
        let own = try sys { try Files.open("/proc/self/ns/net", OpenFlags.readOnly) }
        let theirs = try sys("restore: open the restored network namespace") {
            try Files.open("/proc/\(pid)/ns/net", OpenFlags.readOnly)
        }
        try sys("restore: enter the restored network namespace") {
            try Namespaces.setns(theirs.raw, NamespaceFlag.network, display: "/proc/\(pid)/ns/net")
        }
        let up: SwrunError?
        do { try Namespaces.loopbackUp(); up = nil } catch {
            up = SwrunError.system(error).wrapped("restore: bring the loopback up")
        }
        do { try Namespaces.setns(own.raw, NamespaceFlag.network, display: "/proc/self/ns/net") } catch {
            // Our own namespace is always a valid target; staying in the container's would
            // put every later socket of ours there.
            Log.error("restore: return to our network namespace: \(error)")
            Proc.exit(1)
        }
        if let up { throw up }
    }
}

/// The mounts a restore makes around CRIU and removes afterwards: the rootfs bound at
/// criu-root, and the bind mounts made on the rootfs so that mount points inside them exist
/// (runc's prepareCriuRestoreMounts).
struct RestoreMounts {
    var root: String?
    var rootfs: String?
    var binds: [String] = []

    mutating func bindRoot(_ rootfs: String, at path: String) throws(SwrunError) -> String {
        do { try Files.mkdir(path, mode: 0o755) } catch  where error.errno == Errno.EEXIST {} catch {
            throw SwrunError.system(error).wrapped("restore: create criu-root")
        }
        try sys("restore: bind the rootfs at \(path)") {
            try Mount.mount(rootfs, path, nil, MountFlags.bind | MountFlags.rec)
        }
        root = path
        self.rootfs = rootfs
        return path
    }

    /// Mount points for the config's mounts, made in the rootfs unless a tmpfs of the config
    /// will hold them (CRIU restores a tmpfs's contents) or they are cgroup mounts (under
    /// /sys, which is there once sysfs is). A bind mount is bound there until CRIU is done,
    /// so that the mount points of mounts inside it can be made too.
    mutating func prepareMountPoints(_ plan: LaunchPlan) throws(SwrunError) {
        self.rootfs = plan.rootfs
        let root = try SafePath(rootPath: plan.rootfs)
        let tmpfs = plan.mounts.compactMap { op -> String? in
            if case .filesystem(let type, _) = op.kind, type == "tmpfs" { return op.destination }
            return nil
        }
        for op in plan.mounts {
            if case .cgroup = op.kind { continue }
            if tmpfs.contains(where: { op.destination.startsWithBytes($0 == "/" ? "/" : $0 + "/") }) { continue }
            switch op.kind {
            case .bind(let source, _):
                let isDir = (try? Files.stat(source))?.isDirectory ?? true
                let target = isDir ? try root.mkdirAll(op.destination) : try root.createFile(op.destination)
                let tree = try sys("restore: bind \(source) on \(op.destination)") {
                    try Mount.cloneTree(source, recursive: true)
                }
                try sys("restore: bind \(source) on \(op.destination)") {
                    try Mount.attach(tree.raw, onto: target.raw, display: op.destination)
                }
                binds.append(op.destination)
            default:
                _ = try root.mkdirAll(op.destination)
            }
        }
    }

    /// Removes what was mounted, the latest first; the empty criu-root goes too.
    mutating func undo() {
        if let rootfs, !binds.isEmpty {
            // Each mount point is opened inside the rootfs (never resolved by string); one
            // that cannot be reached is said, not skipped in silence: it stays mounted.
            do {
                let safe = try SafePath(rootPath: rootfs)
                for dest in binds.reversed() {
                    do {
                        guard let fd = try safe.open(dest) else {
                            Log.warning("restore: unmount \(rootfs)\(dest): it is gone")
                            continue
                        }
                        try Mount.umount("/proc/self/fd/\(fd.raw)", detach: true)
                    } catch {
                        Log.warning("restore: unmount \(rootfs)\(dest): \(error)")
                    }
                }
            } catch {
                Log.warning("restore: unmount the bind mounts in \(rootfs) (\(binds.joinedText(", "))): \(error)")
            }
        }
        binds = []
        if let root {
            do { try Mount.umount(root, detach: true) } catch  where error.errno == Errno.EINVAL {} catch {
                Log.warning("restore: unmount \(root): \(error)")
            }
            try? Files.rmdir(root)
        }
        root = nil
    }
}
