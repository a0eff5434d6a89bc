import OCISpec
import SwrunSys

extension Runtime {
    /// `checkpoint`: CRIU dumps the running container into the image directory (runc's
    /// Checkpoint). Unless --leave-running or --pre-dump, CRIU's dump ends its processes and
    /// the container is then deleted (cgroups, poststop hooks, state), as runc destroys it.
    public func checkpoint(_ id: String, _ o: CriuOptions) throws(SwrunError) {
        try ContainerID.validate(id)
        try Criu.requireHostRoot("checkpoint")
        let lock = try store.lock(id)
        defer { withExtendedLifetime(lock) {} }
        let r = try store.load(id)
        // A paused one is checkpointed too, as runc does: containerd pauses a task before it
        // asks for its checkpoint (CRIU finds the freezer frozen and leaves it so).
        switch ContainerStatus.derive(r, store: store) {
        case .running, .paused: break
        case let s:
            throw SwrunError(
                .badState,
                "Container cannot be checkpointed in \(s.rawValue) state: only a running (or paused) container can be")
        }
        let mode = try o.cgroupMode()
        let emptyNs = try o.emptyNamespaceMask()
        let (imageDir, parent) = try Self.prepareImagePaths(o, cwd: try sys { try Files.getcwd() })
        let criu = try Criu.locate(o.criuPath)
        let version = try criu.version()
        try criu.checkVersion(version, atLeast: 30000, for: "checkpoint")
        if o.preDump {
            let missing = try criu.missingFeatures(CriuFeatures(memTrack: true))
            if !missing.isEmpty {
                throw SwrunError(
                    .system, "criu is missing features: \(missing.joinedText(", ")) (--pre-dump needs them)")
            }
        }
        let plan = try criuPlan(r)

        let imagesFd = try sys("open --image-path \(imageDir)") {
            try Files.open(imageDir, OpenFlags.readOnly | OpenFlags.directory)
        }
        var opts = CriuOpts()
        opts.imagesDirFd = imagesFd.raw
        opts.logLevel = 4
        opts.logFile = "dump.log"
        opts.root = r.rootfs
        opts.manageCgroups = true
        opts.manageCgroupsMode = mode
        opts.notifyScripts = true
        opts.pid = r.initPid
        opts.shellJob = o.shellJob
        opts.leaveRunning = o.leaveRunning
        opts.tcpEstablished = o.tcpEstablished
        opts.tcpSkipInFlight = o.tcpSkipInFlight
        opts.linkRemap = o.linkRemap
        opts.extUnixSk = o.extUnixSk
        opts.fileLocks = o.fileLocks
        opts.emptyNs = emptyNs
        opts.orphanPtsMaster = true
        opts.autoDedup = o.autoDedup
        opts.lazyPages = false
        var logDir = imageDir
        var workFd: OwnedFD?
        if let work = try absolute(o.workPath) {
            workFd = try Self.openWorkDir(work)
            opts.workDirFd = workFd?.raw
            logDir = work
        }
        opts.configFile = Self.criuConfigFile(r.annotations)
        opts.external = try CriuDescription.dumpExternal(plan) { (path) throws(SwrunError) -> UInt64 in
            try sys("checkpoint: external namespace") { try Files.stat(path) }.ino
        }
        if let fcg = CriuCgroups.freezer(r.cgroup) { opts.freezeCgroup = fcg }
        if let parent {
            opts.parentImg = parent
            opts.trackMem = true
        }
        if !o.preDump {
            let masked = plan.maskedPaths.filter { p in
                guard let st = try? Files.stat("/proc/\(r.initPid)/root" + p) else { return false }
                return !st.isDirectory
            }
            opts.extMnt = CriuDescription.dumpMounts(plan, maskedFiles: masked)
            let targets = (0..<3).map { (try? Files.readlinkat(-100, "/proc/\(r.initPid)/fd/\($0)")) ?? "" }
            try sys("write descriptors.json") {
                try Files.writeAtomic(
                    imageDir + "/descriptors.json", CriuDescription.descriptorsJSON(targets), mode: 0o600)
            }
        }
        let req = CriuReq(type: o.preDump ? .preDump : .dump, opts: opts)
        do {
            _ = try criu.run(req)
        } catch {
            throw CriuDiagnosis.explain(
                error, criu: criu, version: version, log: logDir + "/dump.log", what: "checkpoint")
        }
        withExtendedLifetime((imagesFd, workFd)) {}
        if !o.leaveRunning && !o.preDump {
            // CRIU has ended the container's processes; what is left is removed as `delete`
            // removes it. A failure here is a warning: the checkpoint itself is made.
            do { try destroy(r) } catch {
                Log.warning("checkpoint: delete the checkpointed container: \(error.message)")
            }
        }
    }

    /// The plan the container was made from, from the config saved at create (not the
    /// bundle's current one): its mounts, masked paths, devices and namespaces are what
    /// CRIU is told about. Its cgroups are the ones recorded.
    func criuPlan(_ r: ContainerRecord) throws(SwrunError) -> LaunchPlan {
        let spec = try savedSpec(r)
        let layout = try CgroupLayout.discover()
        var options = CreateOptions()
        options.systemdCgroup = r.cgroup.driver == .systemd // (its cgroupsPath is slice:prefix:name)
        var plan = try Validation.plan(spec, bundle: r.bundle, id: r.id, layout: layout, options: options)
        if !r.cgroup.leaves.isEmpty { plan.cgroupLeaves = r.cgroup.leaves }
        return plan
    }

    /// runc's prepareImagePaths: --image-path (default ./checkpoint) made if missing;
    /// --parent-path relative, naming an existing directory beside it.
    static func prepareImagePaths(_ o: CriuOptions, cwd: String) throws(SwrunError) -> (String, String?) {
        var image = o.imagePath.flatMap { $0.isEmpty ? nil : $0 } ?? "checkpoint"
        if !image.startsWithBytes("/") { image = cwd + "/" + image }
        image = MountPlan.normalize(image)
        _ = try sys("create --image-path \(image)") { try Files.mkdirAll(image, mode: 0o700) }
        guard let parent = o.parentPath, !parent.isEmpty else { return (image, nil) }
        if parent.startsWithBytes("/") { throw SwrunError(.usage, "--parent-path must be relative") }
        let real = MountPlan.normalize(image + "/" + parent)
        let st: FileStat
        do { st = try Files.stat(real) } catch {
            throw SwrunError(.usage, "invalid --parent-path: \(error.description)", errno: error.errno)
        }
        guard st.isDirectory else { throw SwrunError(.usage, "invalid --parent-path: stat \(real): not a directory") }
        return (image, parent)
    }

    static func openWorkDir(_ work: String) throws(SwrunError) -> OwnedFD {
        do { try Files.mkdir(work, mode: 0o700) } catch  where error.errno == Errno.EEXIST {} catch {
            throw SwrunError.system(error).wrapped("create --work-path")
        }
        return try sys("open --work-path \(work)") { try Files.open(work, OpenFlags.readOnly | OpenFlags.directory) }
    }

    /// runc's handleCriuConfigurationFile: the annotation org.criu.config names CRIU's
    /// configuration file (empty: none); without it, /etc/criu/runc.conf, runc's, so that a
    /// host tuned for runc's checkpoints is tuned for swrun's.
    static func criuConfigFile(_ annotations: [String: String]) -> String? {
        if let v = annotations["org.criu.config"] { return v.isEmpty ? nil : v }
        return "/etc/criu/runc.conf"
    }
}
