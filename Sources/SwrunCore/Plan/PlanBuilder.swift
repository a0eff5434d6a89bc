import OCISpec
import SwrunSys

/// Spec + bundle + options -> LaunchPlan. Every check that can fail does so here, in the
/// parent, before anything is created; each error names the field (`process.args`).
public enum PlanBuilder {
    /// The clone flag of a namespace type (a switch, not a dictionary built at first use).
    static func namespaceFlag(_ type: String) -> Int32? {
        switch type {
        case "pid": return NamespaceFlag.pid
        case "network": return NamespaceFlag.network
        case "mount": return NamespaceFlag.mount
        case "ipc": return NamespaceFlag.ipc
        case "uts": return NamespaceFlag.uts
        case "user": return NamespaceFlag.user
        case "cgroup": return NamespaceFlag.cgroup
        case "time": return NamespaceFlag.time
        default: return nil
        }
    }

    public static func build(
        spec: Spec, bundle: String, id: String, options: CreateOptions, layout: CgroupLayout, cgroupLeaves: [String]
    ) throws(SwrunError) -> LaunchPlan {
        var findings = Findings(collecting: false)
        return try build(
            spec: spec, bundle: bundle, id: id, options: options, layout: layout, cgroupLeaves: cgroupLeaves,
            findings: &findings)
    }

    /// The plan, each check a step of `f` (Findings): create stops at the first error,
    /// `check` records them all and gets the plan as far as it could be made (a field that
    /// failed is left at its default; checks that need it skip).
    static func build(
        spec: Spec, bundle: String, id: String, options: CreateOptions, layout: CgroupLayout, cgroupLeaves: [String],
        findings f: inout Findings
    ) throws(SwrunError) -> LaunchPlan {
        try f.step { try OCIVersion.check(spec.ociVersion) }
        try Unsupported.reject(spec, &f)
        try f.step { try ResourceCheck.validate(spec.linux?.resources, layout: layout) }
        try checkCounts(spec, &f)
        var plan = LaunchPlan(id: id, bundle: bundle, rootfs: "")
        plan.creator = options.identity ?? Identity.current
        try f.step { plan.rootfs = try rootfs(spec, bundle: bundle) }
        plan.readonlyRoot = spec.root?.readonly ?? false
        plan.noPivot = options.noPivot
        plan.newKeyring = !options.noNewKeyring
        try f.step { plan.preserveFds = try checkedPreserveFds(options.listenFds + options.preserveFds) }
        plan.cgroupLeaves = cgroupLeaves
        plan.cgroupLayout = layout
        let linux = spec.linux ?? Linux()
        try namespaces(linux, &plan, &f)
        try f.step { try identity(spec, &plan) }
        try rootfsPlan(spec, linux, &plan, &f)
        if let per = linux.personality {
            try f.step {
                switch per.domain {
                case "LINUX": plan.personality = 0x0000
                case "LINUX32": plan.personality = 0x0008
                default:
                    throw SwrunError.config(
                        "linux.personality.domain: unknown domain \(Quote.short(per.domain)) (LINUX or LINUX32)")
                }
            }
            if let flags = per.flags, !flags.isEmpty {
                try f.step {
                    throw SwrunError.config(
                        "linux.personality.flags: no flags are supported (\(flags.joined(separator: ", ")))")
                }
            }
        }
        if let p = spec.process {
            try process(p, &plan, &f)
        } else {
            try f.step { throw SwrunError.config("process: required field is missing") }
        }
        try f.step { try userNamespaceIDs(&plan) }
        try f.step { try idmappedMounts(plan) }
        if options.listenFds > 0 {
            plan.env.removeAll { $0.startsWithBytes("LISTEN_FDS=") || $0.startsWithBytes("LISTEN_PID=") }
            plan.env += ["LISTEN_FDS=\(options.listenFds)", "LISTEN_PID=1"]
        }
        let hooks = spec.hooks ?? Hooks()
        try f.step { plan.createContainerHooks = try validHooks(hooks.createContainer, "hooks.createContainer") }
        try f.step { plan.startContainerHooks = try validHooks(hooks.startContainer, "hooks.startContainer") }
        try security(linux, &plan, cache: options.seccompCache, &f)
        return plan
    }

    /// root.path as the rootfs's real path: it must exist, be a directory, and be named
    /// without a symlink.
    static func rootfs(_ spec: Spec, bundle: String) throws(SwrunError) -> String {
        guard let root = spec.root, !root.path.isEmpty else {
            throw SwrunError.config("root.path: required field is missing")
        }
        let rootPath = MountPlan.normalize(root.path.startsWithBytes("/") ? root.path : bundle + "/" + root.path)
        let rootfs: String
        do { rootfs = try Files.realpath(rootPath) } catch {
            throw SwrunError.config("root.path: rootfs (\(rootPath)) does not exist")
        }
        // As runc: the rootfs is named by its real path. A symlink anywhere on the way would
        // make every later step (dev/, proc/, the mounts) act on wherever it points now,
        // which need not be where it pointed when the config was written.
        guard rootfs == rootPath else {
            throw SwrunError.config(
                "root.path: invalid rootfs \(rootPath): not an absolute path, or a symlink (it resolves to \(rootfs))")
        }
        guard (try? Files.stat(rootfs))?.isDirectory == true else {
            throw SwrunError.config("root.path: rootfs (\(rootfs)) is not a directory")
        }
        return rootfs
    }

    /// Bounds on how much work a config may ask for (Limits): 100,000 mounts stacked on one
    /// path took runc and swrun minutes of kernel time.
    static func checkCounts(_ spec: Spec, _ f: inout Findings) throws(SwrunError) {
        let counts: [(String, Int, Int)] = [
            ("mounts", spec.mounts?.count ?? 0, Limits.mounts),
            ("linux.maskedPaths", spec.linux?.maskedPaths?.count ?? 0, Limits.paths),
            ("linux.readonlyPaths", spec.linux?.readonlyPaths?.count ?? 0, Limits.paths),
            ("linux.devices", spec.linux?.devices?.count ?? 0, Limits.paths),
            ("linux.sysctl", spec.linux?.sysctl?.count ?? 0, Limits.paths),
        ]
        for (field, n, max) in counts where n > max {
            try f.step { throw SwrunError.config("\(field): \(n) entries, more than the \(max) swrun takes") }
        }
    }

    /// --preserve-fds (with LISTEN_FDS): the descriptors must exist below the open-file
    /// limit; a larger number would make the init walk (and allocate for) billions of fds.
    public static func checkedPreserveFds(_ n: Int) throws(SwrunError) -> Int {
        let limit = Rlimits.soft(7 /* RLIMIT_NOFILE */).map { Int(clamping: $0) } ?? 1 << 20
        guard n >= 0, n <= limit - 3 else {
            throw SwrunError(.usage, "--preserve-fds \(n): more descriptors than the open-file limit (\(limit)) allows")
        }
        return n
    }

    /// What execve(2) accepts: each argument and variable under MAX_ARG_STRLEN, all of them
    /// (with their pointers) under ARG_MAX. Checked at create, with the field named; it used
    /// to fail only at exec ("argument list too long"), after everything was set up.
    static func checkExecSize(_ plan: LaunchPlan) throws(SwrunError) {
        var total = 0
        for (field, list) in [("process.args", plan.args), ("process.env", plan.env)] {
            for (i, s) in list.enumerated() {
                let n = s.utf8.count + 1
                guard n <= 131_072 else {
                    throw SwrunError.config(
                        "\(field)[\(i)]: \(n - 1) bytes, more than execve takes in one string (131071)")
                }
                total += n + 8
            }
        }
        let max = Rlimits.argMax
        guard total <= max else {
            throw SwrunError.config(
                "process.args and process.env: \(total) bytes, more than execve takes (ARG_MAX \(max))")
        }
    }

    // MARK: namespaces

    static func namespaces(_ linux: Linux, _ plan: inout LaunchPlan, _ f: inout Findings) throws(SwrunError) {
        var seen: [String] = [] // eight types at most: no Set
        for (i, ns) in (linux.namespaces ?? []).enumerated() {
            try f.step { try namespace(ns, index: i, seen: &seen, &plan) }
        }
        try f.step { try userNamespace(linux, &plan) }
        try f.step {
            if let offsets = linux.timeOffsets, !offsets.isEmpty {
                guard plan.newTimeNamespace else {
                    throw SwrunError.config("linux.timeOffsets: requires a new time namespace")
                }
                for (clock, off) in offsets.sorted(by: { $0.key < $1.key }) {
                    guard clock == "monotonic" || clock == "boottime" else {
                        throw SwrunError.config("linux.timeOffsets: unknown clock \(Quote.short(clock))")
                    }
                    plan.timeOffsets.append("\(clock) \(off.secs ?? 0) \(off.nanosecs ?? 0)")
                }
            }
        }
    }

    static func namespace(_ ns: LinuxNamespace, index i: Int, seen: inout [String], _ plan: inout LaunchPlan)
        throws(SwrunError)
    {
        let field = { "linux.namespaces[\(i)]" } // for errors only
        guard let flag = namespaceFlag(ns.type) else {
            throw SwrunError.config("\(field()).type: unknown namespace type \(Quote.short(ns.type))")
        }
        guard !seen.contains(ns.type) else { throw SwrunError.config("\(field()): duplicate \(ns.type) namespace") }
        seen.append(ns.type)
        if let path = ns.path, !path.isEmpty {
            guard path.startsWithBytes("/") else {
                throw SwrunError.config("\(field()).path: \(Quote.short(path)) must be absolute")
            }
            guard Files.exists(path) else {
                throw SwrunError.config("\(field()).path: \(path): no such file or directory")
            }
            switch ns.type {
            case "pid": plan.pidJoinPath = path
            case "user":
                plan.userJoinPath = path
                // The parent sets limits from outside (raising them needs the host's
                // privileges, which the process gives up with the join).
                plan.limitsByParent = plan.creator.isHostRoot
            default: plan.joins.append(NamespaceJoin(type: ns.type, flag: flag, path: path))
            }
            return
        }
        switch ns.type {
        case "cgroup": plan.newCgroupNamespace = true
        case "time": plan.newTimeNamespace = true
        case "user":
            plan.newUserNamespace = true
            // Only the host's root has privileges outside that the process lacks inside.
            plan.limitsByParent = plan.creator.isHostRoot
            plan.cloneFlags |= flag
        default:
            plan.cloneFlags |= flag
            if ns.type == "network" { plan.newNetworkNamespace = true }
        }
    }

    /// linux.uidMappings/gidMappings: required with a new user namespace (runc's wording),
    /// refused without one. Namespaces joined by path belong to the host's user namespace,
    /// which the init can no longer act in once it is in its own.
    static func userNamespace(_ linux: Linux, _ plan: inout LaunchPlan) throws(SwrunError) {
        func ranges(_ m: [IDMapping]?, _ field: String) throws(SwrunError) -> [IDRange] {
            var out: [IDRange] = []
            for (i, r) in (m ?? []).enumerated() {
                guard r.size > 0 else { throw SwrunError.config("\(field)[\(i)].size: must be greater than 0") }
                guard UInt64(r.containerID) + UInt64(r.size) <= 1 << 32, UInt64(r.hostID) + UInt64(r.size) <= 1 << 32
                else {
                    throw SwrunError.config("\(field)[\(i)]: range overflows 32-bit ids")
                }
                out.append(IDRange(containerID: r.containerID, hostID: r.hostID, size: r.size))
            }
            return out
        }
        plan.uidMappings = try ranges(linux.uidMappings, "linux.uidMappings")
        plan.gidMappings = try ranges(linux.gidMappings, "linux.gidMappings")
        if let path = plan.userJoinPath {
            // The joined namespace's own maps are what the ids below are checked against
            // (runc caches them the same way). Maps in the config as well must be the same
            // ones (containerd and CRI-O send both; runc warns), else they are refused.
            let (uids, gids) = try UserNamespaceMaps.read(path)
            let given = !plan.uidMappings.isEmpty || !plan.gidMappings.isEmpty
            if given && (plan.uidMappings != uids || plan.gidMappings != gids) {
                throw SwrunError.config(
                    "linux.uidMappings: user namespaces enabled, but both namespace path and non-matching mapping specified -- you may only provide one (\(path) maps uids \(IDRange.describe(uids)), gids \(IDRange.describe(gids)))"
                )
            }
            if given {
                Log.warning(
                    "config.json has both a userns path to join and a matching userns mapping specified -- you may only provide one"
                )
            }
            plan.uidMappings = uids
            plan.gidMappings = gids
            return
        }
        guard plan.newUserNamespace else {
            if !plan.uidMappings.isEmpty || !plan.gidMappings.isEmpty {
                throw SwrunError.config(
                    "linux.uidMappings: user namespaces not enabled in config (no \"user\" in linux.namespaces)")
            }
            return
        }
        if plan.uidMappings.isEmpty {
            throw SwrunError.config("linux.uidMappings: user namespaces enabled, but no uid mappings found")
        }
        if plan.gidMappings.isEmpty {
            throw SwrunError.config("linux.gidMappings: user namespaces enabled, but no gid mappings found")
        }
    }

    /// Id-mapped mounts (MountIDMap): the host's root makes them (mount_setattr needs
    /// CAP_SYS_ADMIN over the file system, as runc refuses them to rootless containers), and
    /// one without maps of its own takes the container's user namespace, which must exist.
    static func idmappedMounts(_ plan: LaunchPlan) throws(SwrunError) {
        for (i, op) in plan.mounts.enumerated() {
            guard let m = op.idmap else { continue }
            if !plan.creator.isHostRoot {
                throw SwrunError.config(
                    "mounts[\(i)]: id-mapped mounts are not supported for rootless containers (swrun runs as uid \(plan.creator.euid)\(plan.creator.inUserNamespace ? " in a user namespace" : ""))"
                )
            }
            if m.usesContainerNamespace && !plan.newUserNamespace && plan.userJoinPath == nil {
                throw SwrunError.config(
                    "mounts[\(i)].options: idmap without uidMappings/gidMappings takes the container's user namespace, and there is none (linux.namespaces has no user)"
                )
            }
        }
    }

    /// The ids the container's processes take must be mapped by its user namespace (new
    /// or joined): an unmapped one would fail deep in the init (setresuid or a tmpfs's uid=
    /// option: EINVAL), after everything was made; it is refused here, naming the field.
    /// Then runc's rootless rules: an unprivileged creator needs a user namespace, and one
    /// that maps only its own gid cannot set groups in it (setgroups is "deny" there).
    static func userNamespaceIDs(_ plan: inout LaunchPlan) throws(SwrunError) {
        let inUserNamespace = plan.newUserNamespace || plan.userJoinPath != nil
        if plan.creator.rootlessEUID && !inUserNamespace {
            throw SwrunError.config(
                "linux.namespaces: a rootless container needs a user namespace (swrun runs as uid \(plan.creator.euid)): "
                    + "add {\"type\": \"user\"} with linux.uidMappings and linux.gidMappings (swrun spec --rootless writes them)"
            )
        }
        guard inUserNamespace else { return }
        let uidMap = plan.userJoinPath.map { "the user namespace \($0)" } ?? "linux.uidMappings"
        let gidMap = plan.userJoinPath.map { "the user namespace \($0)" } ?? "linux.gidMappings"
        guard IDRange.maps(plan.uidMappings, plan.uid) else {
            throw SwrunError.config("process.user.uid: \(plan.uid) is not mapped by \(uidMap)")
        }
        guard IDRange.maps(plan.gidMappings, plan.gid) else {
            throw SwrunError.config("process.user.gid: \(plan.gid) is not mapped by \(gidMap)")
        }
        for g in plan.additionalGids where !IDRange.maps(plan.gidMappings, g) {
            throw SwrunError.config("process.user.additionalGids: \(g) is not mapped by \(gidMap)")
        }
        for (i, op) in plan.mounts.enumerated() {
            for kv in op.data where kv.key == "uid" || kv.key == "gid" {
                guard let v = kv.value, let id = UInt32(v) else { continue }
                let uid = kv.key == "uid"
                guard IDRange.maps(uid ? plan.uidMappings : plan.gidMappings, id) else {
                    throw SwrunError.config(
                        "mounts[\(i)].options: \(kv.key)=\(v) is not mapped by \(uid ? uidMap : gidMap)")
                }
            }
        }
        if plan.newUserNamespace && plan.creator.rootlessEUID
            && IDMaps.deniesSetgroups(plan.gidMappings, egid: plan.creator.egid) && !plan.additionalGids.isEmpty
        {
            throw SwrunError.config(
                "process.user.additionalGids: a rootless container whose linux.gidMappings map only your own gid (\(plan.creator.egid)) cannot set groups "
                    + "(setgroups is denied in its user namespace); map a range of /etc/subgid as well (newgidmap), or leave additionalGids out"
            )
        }
    }

    static let schedPolicies: [String: UInt32] = [
        "SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_ISO": 4, "SCHED_IDLE": 5,
        "SCHED_DEADLINE": 6,
    ]
    static let schedFlags: [String: UInt64] = [
        "SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02, "SCHED_FLAG_DL_OVERRUN": 0x04,
        "SCHED_FLAG_KEEP_POLICY": 0x08, "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
        "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40,
    ]
    static let ioClasses: [String: Int32] = ["IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3]

    /// process.scheduler and process.ioPriority (applied by the init and by exec, with the
    /// runtime's privileges, before the identity switch).
    static func scheduling(_ p: Process, _ plan: inout LaunchPlan) throws(SwrunError) {
        if let s = p.scheduler {
            guard let policy = schedPolicies[s.policy] else {
                throw SwrunError.config("process.scheduler.policy: unknown policy \(Quote.short(s.policy))")
            }
            var op = SchedulerOp(policy: policy)
            for f in s.flags ?? [] {
                guard let bit = schedFlags[f] else {
                    throw SwrunError.config("process.scheduler.flags: unknown flag \(Quote.short(f))")
                }
                op.flags |= bit
            }
            let nice = s.nice ?? 0
            guard (-20...19).contains(nice) else {
                throw SwrunError.config("process.scheduler.nice: \(nice) is outside -20..19")
            }
            op.nice = nice
            let prio = s.priority ?? 0
            let realtime = policy == 1 || policy == 2
            guard realtime ? (1...99).contains(prio) : prio == 0 else {
                throw SwrunError.config(
                    "process.scheduler.priority: \(prio) is invalid for \(s.policy) (1..99 for SCHED_FIFO and SCHED_RR, 0 otherwise)"
                )
            }
            op.priority = UInt32(prio)
            op.runtime = s.runtime ?? 0
            op.deadline = s.deadline ?? 0
            op.period = s.period ?? 0
            if policy == 6, op.runtime == 0 || op.runtime > op.deadline || (op.period != 0 && op.deadline > op.period) {
                throw SwrunError.config("process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period")
            }
            plan.scheduler = op
        }
        if let a = p.execCPUAffinity {
            plan.affinityInitial = try a.initial.map { s throws(SwrunError) in
                try cpuList(s, field: "process.execCPUAffinity.initial")
            }
            plan.affinityFinal = try a.final.map { s throws(SwrunError) in
                try cpuList(s, field: "process.execCPUAffinity.final")
            }
        }
        if let io = p.ioPriority {
            guard let cls = ioClasses[io.class] else {
                throw SwrunError.config("process.ioPriority.class: unknown class \(Quote.short(io.class))")
            }
            let prio = io.priority ?? 0
            guard (0...7).contains(prio) else {
                throw SwrunError.config("process.ioPriority.priority: \(prio) is outside 0..7")
            }
            plan.ioPriority = cls << 13 | prio
        }
    }

    /// A kernel CPU list ("0-3,7") as CPU numbers.
    static func cpuList(_ s: String, field: String) throws(SwrunError) -> [Int32] {
        var out: [Int32] = []
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            let nums = ends.compactMap { e -> Int32? in e.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int32(e) : nil }
            guard nums.count == ends.count, (1...2).contains(nums.count), nums.allSatisfy({ $0 < 8192 }),
                nums[0] <= nums[nums.count - 1]
            else {
                throw SwrunError.config("\(field): invalid CPU list \(Quote.short(s))")
            }
            out += Array(nums[0]...nums[nums.count - 1])
        }
        return out
    }

    static func identity(_ spec: Spec, _ plan: inout LaunchPlan) throws(SwrunError) {
        let newUTS = plan.cloneFlags & NamespaceFlag.uts != 0 || plan.joins.contains { $0.type == "uts" }
        if let h = spec.hostname, !h.isEmpty {
            guard newUTS else {
                throw SwrunError.config("hostname: unable to set hostname without a private UTS namespace")
            }
            plan.hostname = h
        }
        if let d = spec.domainname, !d.isEmpty {
            guard newUTS else {
                throw SwrunError.config("domainname: unable to set domainname without a private UTS namespace")
            }
            plan.domainname = d
        }
    }

    // MARK: root filesystem

    static func propagationFlag(_ s: String, field: String) throws(SwrunError) -> UInt {
        switch s {
        case "private": return MountFlags.privateProp
        case "rprivate": return MountFlags.privateProp | MountFlags.rec
        case "slave": return MountFlags.slave
        case "rslave": return MountFlags.slave | MountFlags.rec
        case "shared": return MountFlags.shared
        case "rshared": return MountFlags.shared | MountFlags.rec
        case "unbindable": return MountFlags.unbindable
        case "runbindable": return MountFlags.unbindable | MountFlags.rec
        default: throw SwrunError.config("\(field): invalid propagation \(Quote.short(s))")
        }
    }

    static func rootfsPlan(_ spec: Spec, _ linux: Linux, _ plan: inout LaunchPlan, _ f: inout Findings)
        throws(SwrunError)
    {
        plan.rootPropagation = MountFlags.slave | MountFlags.rec
        if let p = linux.rootfsPropagation, !p.isEmpty {
            try f.step {
                plan.rootPropagation = try propagationFlag(p, field: "linux.rootfsPropagation")
                plan.rootPropagationExplicit = true
            }
        }
        if plan.cloneFlags & NamespaceFlag.mount == 0 && !plan.joins.contains(where: { $0.type == "mount" }) {
            try f.step { throw SwrunError.config("linux.namespaces: a mount namespace is required") }
        }
        for (i, m) in (spec.mounts ?? []).enumerated() {
            try f.step { plan.mounts.append(try MountPlan.op(m, index: i, bundle: plan.bundle)) }
        }
        // runc: devices are created unless /dev is bind-mounted from the host.
        plan.setupDev = !plan.mounts.contains {
            $0.destination == "/dev" && { if case .bind = $0.kind { return true } else { return false } }($0)
        }
        if plan.setupDev { plan.devices = Devices.defaults }
        for (i, d) in (linux.devices ?? []).enumerated() {
            try f.step {
                let node = try Devices.node(d, field: "linux.devices[\(i)]")
                plan.devices.removeAll { $0.path == node.path }
                plan.devices.append(node)
            }
        }
        for (i, p) in (linux.maskedPaths ?? []).enumerated() where !p.isEmpty {
            try f.step {
                guard p.startsWithBytes("/") else {
                    throw SwrunError.config("linux.maskedPaths[\(i)]: \(Quote.short(p)) must be absolute")
                }
                plan.maskedPaths.append(p)
            }
        }
        for (i, p) in (linux.readonlyPaths ?? []).enumerated() where !p.isEmpty {
            try f.step {
                guard p.startsWithBytes("/") else {
                    throw SwrunError.config("linux.readonlyPaths[\(i)]: \(Quote.short(p)) must be absolute")
                }
                plan.readonlyPaths.append(p)
            }
        }
        for (key, value) in (linux.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
            try f.step {
                try Sysctl.validate(key, plan: plan)
                plan.sysctls.append(KeyValue(key, value))
            }
        }
    }

    // MARK: process

    /// The process part of a plan, shared by create and exec.
    public static func process(_ p: Process, _ plan: inout LaunchPlan) throws(SwrunError) {
        var findings = Findings(collecting: false)
        try process(p, &plan, &findings)
    }

    static func process(_ p: Process, _ plan: inout LaunchPlan, _ f: inout Findings) throws(SwrunError) {
        try f.step {
            guard let args = p.args, !args.isEmpty, !args[0].isEmpty else {
                throw SwrunError.config("process.args: args must not be empty")
            }
            plan.args = args
        }
        try f.step {
            guard p.cwd.startsWithBytes("/") else {
                throw SwrunError.config("process.cwd: \(Quote.short(p.cwd)) must be an absolute path")
            }
            plan.cwd = p.cwd
        }
        for (i, e) in (p.env ?? []).enumerated() where !e.contains("=") || e.startsWithBytes("=") {
            try f.step { throw SwrunError.config("process.env[\(i)]: \(Quote.short(e)) is not of the form NAME=value") }
        }
        plan.env = p.env ?? []
        try f.step {
            try IDs.check(p.user.uid, "process.user.uid")
            plan.uid = p.user.uid
        }
        try f.step {
            try IDs.check(p.user.gid, "process.user.gid")
            plan.gid = p.user.gid
        }
        // Resolved in the container's /etc/passwd (never NSS, never the host's); not when the
        // rootfs could not be found (check goes on past that).
        if let name = p.user.username, !name.isEmpty, !plan.rootfs.isEmpty {
            try f.step {
                guard
                    let entry = UserDB.parsePasswd(readInRoot(plan.rootfs, "/etc/passwd") ?? "").first(where: {
                        $0.name == name
                    })
                else {
                    throw SwrunError.config(
                        "process.user.username: no user \(Quote.short(name)) in the container's /etc/passwd")
                }
                try IDs.check(entry.uid, "process.user.username (\(name)'s uid in the container's /etc/passwd)")
                try IDs.check(entry.gid, "process.user.username (\(name)'s gid in the container's /etc/passwd)")
                plan.uid = entry.uid
                plan.gid = entry.gid
            }
        }
        plan.additionalGids = p.user.additionalGids ?? []
        for (i, g) in plan.additionalGids.enumerated() {
            try f.step { try IDs.check(g, "process.user.additionalGids[\(i)]") }
        }
        if let m = p.user.umask {
            try f.step {
                guard m <= 0o777 else { throw SwrunError.config("process.user.umask: \(m) is not a valid umask") }
                plan.umask = m
            }
        }
        if !plan.env.contains(where: { $0.startsWithBytes("HOME=") }) {
            plan.env.append("HOME=" + homeDirectory(rootfs: plan.rootfs, uid: plan.uid))
        }
        plan.terminal = p.terminal ?? false
        if let size = p.consoleSize {
            plan.consoleSize = [UInt16(clamping: size.height), UInt16(clamping: size.width)]
        }
        var seen: [String] = [] // sixteen names at most: no Set on the start path
        for (i, r) in (p.rlimits ?? []).enumerated() {
            try f.step {
                let field = "process.rlimits[" + Digits.decimal(i) + "]"
                guard let res = RlimitNames.number(r.type) else {
                    throw SwrunError.config("\(field).type: unknown rlimit \(Quote.short(r.type))")
                }
                guard !seen.contains(r.type) else {
                    throw SwrunError.config("\(field): duplicate rlimit \(r.type)")
                }
                guard r.soft <= r.hard else {
                    throw SwrunError.config("\(field): soft limit \(r.soft) exceeds hard limit \(r.hard)")
                }
                seen.append(r.type)
                plan.rlimits.append(RlimitOp(name: r.type, resource: res, soft: r.soft, hard: r.hard, field: field))
            }
        }
        try f.step { try checkExecSize(plan) }
        if let adj = p.oomScoreAdj {
            try f.step {
                guard (-1000...1000).contains(adj) else {
                    throw SwrunError.config("process.oomScoreAdj: \(adj) is outside -1000..1000")
                }
                plan.oomScoreAdj = adj
            }
        }
        try f.step { try scheduling(p, &plan) }
        plan.noNewPrivileges = p.noNewPrivileges ?? false
        let caps = p.capabilities
        plan.lastCap = Capabilities.lastCap()
        try f.step {
            plan.capabilities.bounding = try CapabilityNames.mask(
                caps?.bounding, field: "process.capabilities.bounding")
        }
        try f.step {
            plan.capabilities.effective = try CapabilityNames.mask(
                caps?.effective, field: "process.capabilities.effective")
        }
        try f.step {
            plan.capabilities.permitted = try CapabilityNames.mask(
                caps?.permitted, field: "process.capabilities.permitted")
        }
        try f.step {
            plan.capabilities.inheritable = try CapabilityNames.mask(
                caps?.inheritable, field: "process.capabilities.inheritable")
        }
        var ambient: UInt64 = 0
        try f.step { ambient = try CapabilityNames.mask(caps?.ambient, field: "process.capabilities.ambient") }
        // The kernel raises an ambient capability only if it is permitted and inheritable.
        // runc's default spec asks for ambient caps without inheritable ones, and runc ignores
        // the failure; swrun drops them here, with a debug line, so the result is the same.
        plan.capabilities.ambient = ambient & plan.capabilities.inheritable & plan.capabilities.permitted
        if plan.capabilities.ambient != ambient {
            Log.debug("process.capabilities.ambient: ignoring capabilities that are not both permitted and inheritable")
        }
        plan.apparmorProfile = p.apparmorProfile.flatMap { $0.isEmpty ? nil : $0 }
        plan.selinuxLabel = p.selinuxLabel.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// HOME from the container's /etc/passwd, read through the rootfs with RESOLVE_IN_ROOT
    /// (never NSS, never a host path); "/" when the user has no entry, as runc does.
    static func homeDirectory(rootfs: String, uid: UInt32) -> String {
        guard let text = readInRoot(rootfs, "/etc/passwd") else { return "/" }
        return UserDB.parsePasswd(text).first { $0.uid == uid }?.home ?? "/"
    }

    /// Reads a regular file inside a root directory with RESOLVE_IN_ROOT, bounded (nil if it
    /// cannot be read): the image's /etc/passwd may be a FIFO, a device or a huge file, and
    /// none of them may hang or exhaust `create`.
    static func readInRoot(_ root: String, _ path: String) -> String? {
        guard let rootFd = try? Files.open(root, OpenFlags.path | OpenFlags.directory),
            let fd = try? Files.openat2(
                rootFd.raw, path, Files.regularReadFlags, resolve: Resolve.inRoot | Resolve.noMagicLinks),
            let bytes = try? Files.readRegular(fd: fd, max: Limits.databaseBytes, display: path)
        else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func validHooks(_ hooks: [Hook]?, _ field: String) throws(SwrunError) -> [Hook] {
        for (i, h) in (hooks ?? []).enumerated() {
            guard h.path.startsWithBytes("/") else {
                throw SwrunError.config("\(field)[\(i)].path: \(Quote.short(h.path)) must be absolute")
            }
            if let t = h.timeout, t <= 0 || t > HookRunner.maxTimeout {
                throw SwrunError.config(
                    "\(field)[\(i)].timeout: \(t) is out of range (1 to \(HookRunner.maxTimeout) seconds)")
            }
        }
        return hooks ?? []
    }

    // MARK: security

    /// LSM availability and the seccomp filter: shared by create and exec.
    static func security(_ linux: Linux, _ plan: inout LaunchPlan, cache: String?) throws(SwrunError) {
        var findings = Findings(collecting: false)
        try security(linux, &plan, cache: cache, &findings)
    }

    static func security(_ linux: Linux, _ plan: inout LaunchPlan, cache: String?, _ f: inout Findings)
        throws(SwrunError)
    {
        if let profile = plan.apparmorProfile, !Files.exists("/sys/kernel/security/apparmor") {
            try f.step {
                throw SwrunError.config(
                    "process.apparmorProfile: profile \(Quote.short(profile)) requested but AppArmor is not enabled on this host"
                )
            }
        }
        if let label = plan.selinuxLabel, !Files.exists("/sys/fs/selinux/enforce") {
            try f.step {
                throw SwrunError.config(
                    "process.selinuxLabel: label \(Quote.short(label)) requested but SELinux is not enabled on this host"
                )
            }
        }
        if let seccomp = linux.seccomp {
            try f.step {
                let compiled = try SeccompCompiler.compile(seccomp, cacheDir: cache)
                plan.seccompFilter = compiled.bpf
                plan.seccompFlags = compiled.flags
                if compiled.notify {
                    plan.seccompListenerPath = seccomp.listenerPath
                    plan.seccompListenerMetadata = seccomp.listenerMetadata ?? ""
                }
            }
        }
    }
}
