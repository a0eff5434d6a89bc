import OCISpec
import SwrunSys

/// What `create` finds out only once the container's init runs (or the kernel answers), and
/// `swrun check` predicts without making anything: the executable and the working directory
/// as the container will see them, bind sources, the host's namespaces, cgroup controllers,
/// CPUs and huge pages, the LSM profile or label, and the hooks' programs. Each finding
/// matches the failure create would report; what create would let pass is a warning.
enum Preflight {
    static func run(_ spec: Spec, _ plan: LaunchPlan, leaves: [String], _ f: inout Findings) {
        namespaces(spec, &f)
        let view = ContainerView(plan: plan, spec: spec)
        if !plan.rootfs.isEmpty {
            if spec.process != nil { executable(plan, view, &f) }
            if spec.process != nil { workingDirectory(plan, view, &f) }
        }
        mounts(spec, bundle: plan.bundle, &f)
        if let r = spec.linux?.resources {
            controllers(r, layout: plan.cgroupLayout, leaves: leaves, &f)
            hostResources(r, &f)
        }
        lsm(plan, &f)
        if let sc = spec.linux?.seccomp { seccompActions(sc, &f) }
        hooks(spec, view, &f)
    }

    // MARK: namespaces

    static let procNames: [String: String] = [
        "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "user": "user", "cgroup": "cgroup",
        "time": "time",
    ]

    /// A namespace type the kernel was built without fails clone(2) with EINVAL.
    static func namespaces(_ spec: Spec, _ f: inout Findings) {
        for (i, ns) in (spec.linux?.namespaces ?? []).enumerated() where (ns.path ?? "").isEmpty {
            guard let name = procNames[ns.type] else { continue }
            if !Files.exists("/proc/self/ns/" + name) {
                f.error(
                    "linux.namespaces[\(i)]",
                    "this kernel has no \(ns.type) namespaces (/proc/self/ns/\(name) is missing)",
                    hint: "remove the \(ns.type) namespace from linux.namespaces, or run on a kernel built with it")
            } else if ns.type == "user",
                let max = (try? Files.readString("/proc/sys/user/max_user_namespaces")).flatMap({
                    Int(trimWhitespace($0))
                }), max == 0
            {
                f.error(
                    "linux.namespaces[\(i)]",
                    "user namespaces are disabled on this host (user.max_user_namespaces is 0)",
                    hint: "raise the sysctl user.max_user_namespaces, or remove the user namespace")
            }
        }
    }

    // MARK: the container's files

    /// Files as the container's process will find them: through the config's mounts (the
    /// last mount whose destination covers a path wins, as the kernel stacks them), a bind
    /// mount's source on the host, the rest in the rootfs, resolved inside it.
    struct ContainerView {
        enum Entry {
            case found(FileStat)
            case missing
            /// Cannot be known before the mount exists (a tmpfs, a proc): why.
            case unknown(String)
        }

        let rootfs: String
        let mounts: [MountOp]

        init(plan: LaunchPlan, spec: Spec) {
            rootfs = plan.rootfs
            // From the spec, with the original indexes: the plan lacks the mounts that failed.
            mounts = (spec.mounts ?? []).enumerated().compactMap { (i, m) in
                try? MountPlan.op(m, index: i, bundle: plan.bundle)
            }
        }

        static func covers(_ destination: String, _ path: String) -> Bool {
            destination == "/" || path == destination || path.hasPrefix(destination + "/")
        }

        /// A directory mount setup creates on the way to a mount point.
        func madeByMounts(_ path: String) -> Bool {
            mounts.contains { $0.destination == path || $0.destination.hasPrefix(path == "/" ? "/" : path + "/") }
        }

        func lookup(_ path: String) -> Entry {
            let p = MountPlan.normalize(path)
            if let m = mounts.last(where: { ContainerView.covers($0.destination, p) }) {
                switch m.kind {
                case .bind(let source, _):
                    let rest = m.destination == "/" ? p : String(p.dropFirst(m.destination.count))
                    do { return .found(try Files.stat(source + rest)) } catch {
                        return error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR
                            ? .missing : .unknown(error.description)
                    }
                case .filesystem(let type, _):
                    return .unknown("it is on the \(type) mounted at \(m.destination)")
                case .cgroup:
                    return .unknown("it is on the cgroup file system mounted at \(m.destination)")
                }
            }
            guard !rootfs.isEmpty else { return .unknown("the rootfs was not found") }
            do {
                let root = try Files.open(rootfs, OpenFlags.path | OpenFlags.directory)
                let fd = try Files.openat2(root.raw, p, OpenFlags.path, resolve: Resolve.inRoot | Resolve.noMagicLinks)
                return .found(try Files.fstat(fd.raw))
            } catch {
                return error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR
                    ? .missing : .unknown(error.description)
            }
        }
    }

    /// The ids a file's owner and group are compared with: the process's, on the host side
    /// of the user namespace's mappings when there is one.
    static func hostIDs(_ plan: LaunchPlan) -> (uid: UInt32?, gids: [UInt32?]) {
        func map(_ id: UInt32, _ ranges: [IDRange]) -> UInt32? {
            guard plan.newUserNamespace else { return id }
            for r in ranges where id >= r.containerID && UInt64(id) < UInt64(r.containerID) + UInt64(r.size) {
                return r.hostID + (id - r.containerID)
            }
            return nil
        }
        return (map(plan.uid, plan.uidMappings), ([plan.gid] + plan.additionalGids).map { map($0, plan.gidMappings) })
    }

    /// access(X_OK) for the container's user, from the mode bits: root (in its namespace)
    /// needs one x bit; anyone else the owner's, the group's or the others'.
    static func executable(_ st: FileStat, _ plan: LaunchPlan) -> Bool {
        let bits = st.permissions
        if plan.uid == 0 { return bits & 0o111 != 0 }
        let (uid, gids) = hostIDs(plan)
        if let uid, st.uid == uid { return bits & 0o100 != 0 }
        if gids.contains(where: { $0 == st.gid }) { return bits & 0o010 != 0 }
        return bits & 0o001 != 0
    }

    /// process.args[0] as the init looks it up (ProcessSetup.lookPath, Go's exec.LookPath):
    /// a name with a slash is taken as it is (relative to cwd), any other is searched in
    /// the config's PATH; the file must be a regular file the container's user may execute.
    static func executable(_ plan: LaunchPlan, _ view: ContainerView, _ f: inout Findings) {
        guard let name = plan.args.first, !name.isEmpty else { return }
        let field = "process.args[0]"
        let user = "uid \(plan.uid)"
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : plan.cwd + "/" + name
            switch view.lookup(path) {
            case .missing:
                f.error(
                    field,
                    "exec: \(JSON.quoted(name)): stat \(name): no such file or directory (\(path) is not in the container)",
                    hint: "fix the path, or add the program to the rootfs")
            case .found(let st) where st.isDirectory || !executable(st, plan):
                f.error(
                    field,
                    "exec: \(JSON.quoted(name)): permission denied (\(st.isDirectory ? "a directory" : "not executable by \(user)"))",
                    hint: st.isDirectory
                        ? "name the program, not its directory"
                        : "chmod +x it in the rootfs, or run as a user who may execute it")
            case .found:
                break
            case .unknown(let why):
                f.warning(
                    field, "\(name) cannot be checked before the container exists: \(why)",
                    hint: "make sure the program is there once the mounts are made")
            }
            return
        }
        // The same default as ProcessSetup.lookPath.
        let pathVar =
            plan.env.last { $0.startsWithBytes("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        var unknown: String?
        var notExecutable: String?
        for dir in pathVar.split(separator: ":", omittingEmptySubsequences: false) {
            let d = dir.isEmpty ? plan.cwd : (dir.hasPrefix("/") ? String(dir) : plan.cwd + "/" + dir)
            switch view.lookup(d + "/" + name) {
            case .found(let st) where st.isRegular:
                if executable(st, plan) { return }
                notExecutable = notExecutable ?? d + "/" + name
            case .unknown(let why):
                unknown = unknown ?? "\(d + "/" + name): \(why)"
            default:
                break
            }
        }
        if let unknown {
            f.warning(
                field, "\(name) was not found in the container's PATH, but \(unknown)",
                hint: "make sure the program is there once the mounts are made")
            return
        }
        let extra = notExecutable.map { " (\($0) exists but is not executable by \(user))" } ?? ""
        f.error(
            field, "exec: \(JSON.quoted(name)): executable file not found in $PATH\(extra)",
            hint: notExecutable != nil
                ? "chmod +x \(notExecutable ?? "") in the rootfs"
                : "use an absolute path, add the program to the rootfs, or set PATH in process.env (now \(pathVar))")
    }

    /// process.cwd must be a directory when the init enters it (WorkingDirectory.enter does
    /// not create it); mount setup creates the directories on the way to a mount point.
    static func workingDirectory(_ plan: LaunchPlan, _ view: ContainerView, _ f: inout Findings) {
        guard plan.cwd.hasPrefix("/") else { return }
        let cwd = MountPlan.normalize(plan.cwd)
        if cwd == "/" || view.madeByMounts(cwd) { return }
        switch view.lookup(cwd) {
        case .found(let st) where !st.isDirectory:
            f.error(
                "process.cwd", "chdir to cwd (\(Quote.short(cwd))) set in config.json failed: not a directory",
                hint: "point process.cwd at a directory")
        case .missing:
            f.error(
                "process.cwd",
                "chdir to cwd (\(Quote.short(cwd))) set in config.json failed: no such file or directory",
                hint: "create \(cwd) in the rootfs, or change process.cwd")
        case .unknown(let why):
            f.warning(
                "process.cwd", "\(cwd) cannot be checked before the container exists: \(why)",
                hint: "make sure it exists once the mounts are made")
        case .found:
            break
        }
    }

    // MARK: mounts

    /// Bind sources exist on the host (the init opens them); propagation asked of a mount
    /// is one thing, and can reach the host.
    static func mounts(_ spec: Spec, bundle: String, _ f: inout Findings) {
        let rootProp = spec.linux?.rootfsPropagation ?? ""
        let rootShared = rootProp == "shared" || rootProp == "rshared"
        for (i, m) in (spec.mounts ?? []).enumerated() {
            guard let op = try? MountPlan.op(m, index: i, bundle: bundle) else { continue }
            if case .bind(let source, _) = op.kind, !Files.exists(source) {
                f.error(
                    "mounts[\(i)].source", "bind mount source \(source) does not exist",
                    hint: "create it, or fix the path (a relative source is relative to the bundle)")
            }
            var props: [String] = []
            for o in m.options ?? [] {
                if case .propagation? = MountOptions.effect(o), !props.contains(o) { props.append(o) }
            }
            if props.count > 1 {
                f.warning(
                    "mounts[\(i)].options",
                    "more than one propagation (\(props.joined(separator: ", "))): only the last, \(props[props.count - 1]), applies",
                    hint: "keep one of them")
            }
            if let last = props.last, last.hasSuffix("shared"), !rootShared {
                f.warning(
                    "mounts[\(i)].options",
                    "\(last) propagation cannot reach the host while linux.rootfsPropagation is \(rootProp.isEmpty ? "rslave (the default)" : rootProp)",
                    hint: "set linux.rootfsPropagation to rshared, or drop \(last) from the mount")
            }
        }
    }

    // MARK: the host's cgroups and resources

    /// The controllers a cgroup below `leaf` gets on v2: the leaf's own when it exists,
    /// else what the nearest existing directory delegates (its cgroup.subtree_control:
    /// ResourceApplier.enableControllers writes only directories swrun creates).
    static func v2Controllers(leaf: String, mountpoint: String) -> [String] {
        func words(_ file: String) -> [String] {
            ((try? Files.readString(file)) ?? "").split(separator: " ").map { trimWhitespace($0) }.filter {
                !$0.isEmpty
            }
        }
        if Files.exists(leaf) { return words(leaf + "/cgroup.controllers") }
        var dir = leaf
        while dir.count > mountpoint.count, let slash = dir.lastIndex(of: "/") {
            dir = String(dir[..<slash])
            if Files.exists(dir) { return words(dir + "/cgroup.subtree_control") }
        }
        return words(mountpoint + "/cgroup.subtree_control")
    }

    /// ResourceApplier's rule, before anything exists: a limit whose controller exists
    /// nowhere for the container's cgroup fails create.
    static func controllers(_ r: LinuxResources, layout: CgroupLayout, leaves: [String], _ f: inout Findings) {
        guard leaves.count == layout.hierarchies.count, !leaves.isEmpty else { return }
        var have: [String] = []
        for (h, leaf) in zip(layout.hierarchies, leaves) {
            have += h.isV2 ? v2Controllers(leaf: leaf, mountpoint: h.mountpoint) : h.controllers
        }
        for (field, controller) in ResourceApplier.requested(r) {
            let names = controller == "blkio" ? ["blkio", "io"] : [controller]
            if names.contains(where: { have.contains($0) }) { continue }
            f.error(
                "linux.resources.\(field)", "the \(controller) controller is not available for the container's cgroup",
                hint:
                    "enable \(controller) in the parent's cgroup.subtree_control (or mount its v1 hierarchy), or drop the limit"
            )
        }
    }

    /// CPUs and memory nodes that are online, huge page sizes the kernel has: the cgroup
    /// write of anything else fails.
    static func hostResources(_ r: LinuxResources, _ f: inout Findings) {
        func online(_ file: String, _ fallback: String) -> [Int32] {
            let text = trimWhitespace((try? Files.readString(file)) ?? fallback)
            return (try? PlanBuilder.cpuList(text.isEmpty ? fallback : text, field: file)) ?? []
        }
        for (field, value, file, what) in [
            ("linux.resources.cpu.cpus", r.cpu?.cpus, "/sys/devices/system/cpu/online", "CPU"),
            ("linux.resources.cpu.mems", r.cpu?.mems, "/sys/devices/system/node/online", "memory node"),
        ] {
            guard let value, !value.isEmpty else { continue }
            guard let wanted = try? PlanBuilder.cpuList(value, field: field) else {
                f.error(
                    field, "\(Quote.short(value)) is not a list such as 0-3,7",
                    hint: "write ranges and numbers separated by commas")
                continue
            }
            let have = online(file, "0")
            let missing = wanted.filter { !have.contains($0) }
            if let first = missing.first {
                f.error(
                    field, "\(what) \(first) is not online on this host",
                    hint: "use \(what)s from \(trimWhitespace((try? Files.readString(file)) ?? "0"))")
            }
        }
        for (i, h) in (r.hugepageLimits ?? []).enumerated() where ResourceCheck.validPageSize(h.pageSize) {
            let digits = h.pageSize.dropLast(2)
            guard let n = Int(digits) else { continue }
            let kb: Int
            switch h.pageSize.dropFirst(digits.count).first {
            case "K": kb = n
            case "M": kb = n << 10
            case "G": kb = n << 20
            default: kb = n << 30
            }
            if !Files.exists("/sys/kernel/mm/hugepages/hugepages-\(kb)kB") {
                f.error(
                    "linux.resources.hugepageLimits[\(i)].pageSize", "this host has no \(h.pageSize) huge pages",
                    hint: "use a size listed in /sys/kernel/mm/hugepages")
            }
        }
    }

    // MARK: seccomp

    /// The actions the profile uses against what this kernel implements
    /// (/proc/sys/kernel/seccomp/actions_avail). The filter loads either way (the kernel
    /// does not read the actions at load time), but a syscall that meets an action the
    /// kernel lacks kills the process; a notify action needs a listener the kernel must
    /// make, and create fails without it.
    static func seccompActions(_ s: LinuxSeccomp, _ f: inout Findings) {
        guard let text = try? Files.readString("/proc/sys/kernel/seccomp/actions_avail") else { return }
        let avail = text.split(separator: " ").map { trimWhitespace($0) }
        let names = [
            "SCMP_ACT_ALLOW": "allow", "SCMP_ACT_KILL": "kill_thread", "SCMP_ACT_KILL_THREAD": "kill_thread",
            "SCMP_ACT_KILL_PROCESS": "kill_process",
            "SCMP_ACT_TRAP": "trap", "SCMP_ACT_LOG": "log", "SCMP_ACT_ERRNO": "errno", "SCMP_ACT_TRACE": "trace",
            "SCMP_ACT_NOTIFY": "user_notif",
        ]
        let uses =
            [("linux.seccomp.defaultAction", s.defaultAction)]
            + (s.syscalls ?? []).enumerated().map { ("linux.seccomp.syscalls[\($0.offset)].action", $0.element.action) }
        for (field, action) in uses {
            guard let kernel = names[action], !avail.contains(kernel) else { continue }
            let message =
                "this kernel does not implement \(action) (\(kernel) is not in /proc/sys/kernel/seccomp/actions_avail)"
            if kernel == "user_notif" {
                f.error(
                    field, message,
                    hint: "use another action, or a kernel with seccomp user notification (5.0 or later)")
            } else {
                f.warning(
                    field, message + ": a syscall that meets it kills the process",
                    hint: "use SCMP_ACT_ERRNO or another action the kernel lists")
            }
        }
    }

    // MARK: LSM

    /// The AppArmor profile must be loaded (writing "exec PROFILE" fails with ENOENT
    /// otherwise), the SELinux label valid in the loaded policy.
    static func lsm(_ plan: LaunchPlan, _ f: inout Findings) {
        if let profile = plan.apparmorProfile, profile != "unconfined", Files.exists("/sys/kernel/security/apparmor"),
            let list = try? Files.readString("/sys/kernel/security/apparmor/profiles")
        {
            // Lines "NAME (MODE)"; a stacked or namespaced name is not checked.
            let names = list.split(separator: "\n").map { line -> String in
                guard let paren = line.lastIndex(of: "(") else { return String(line) }
                return trimWhitespace(line[..<paren])
            }
            if !profile.containsText("//"), !profile.hasPrefix(":"), !names.contains(profile) {
                f.error(
                    "process.apparmorProfile", "AppArmor profile \(Quote.short(profile)) is not loaded",
                    hint: "load it (apparmor_parser -r FILE), or name a loaded one (aa-status lists them)")
            }
        }
        if let label = plan.selinuxLabel, Files.exists("/sys/fs/selinux/context") {
            // libselinux's security_check_context: the kernel takes the label or refuses it.
            do { try Files.writeFile("/sys/fs/selinux/context", label, flags: OpenFlags.readWrite) } catch
                where error.errno == Errno.EINVAL
            {
                f.error(
                    "process.selinuxLabel", "SELinux label \(Quote.short(label)) is not valid in the loaded policy",
                    hint: "use a context the policy defines (seinfo, semanage)")
            } catch {}
        }
    }

    // MARK: hooks

    /// Each hook's program exists and is executable: on the host, or in the container for
    /// startContainer. A failing poststart or poststop hook is only logged.
    static func hooks(_ spec: Spec, _ view: ContainerView, _ f: inout Findings) {
        let h = spec.hooks ?? Hooks()
        let kinds: [(String, [Hook]?, Bool)] = [
            ("prestart", h.prestart, true), ("createRuntime", h.createRuntime, true),
            ("createContainer", h.createContainer, true),
            ("startContainer", h.startContainer, true), ("poststart", h.poststart, false),
            ("poststop", h.poststop, false),
        ]
        for (kind, list, fatal) in kinds {
            for (i, hook) in (list ?? []).enumerated() where hook.path.hasPrefix("/") {
                let field = "hooks.\(kind)[\(i)].path"
                let entry: ContainerView.Entry
                if kind == "startContainer" {
                    entry = view.lookup(hook.path)
                } else {
                    do { entry = .found(try Files.stat(hook.path)) } catch {
                        entry =
                            error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR
                            ? .missing : .unknown(error.description)
                    }
                }
                let place = kind == "startContainer" ? "in the container" : "on the host"
                let problem: String?
                switch entry {
                case .missing: problem = "\(hook.path) does not exist \(place)"
                case .found(let st) where !st.isRegular || st.permissions & 0o111 == 0:
                    problem = "\(hook.path) is not an executable file \(place)"
                case .found: problem = nil
                case .unknown(let why):
                    f.warning(
                        field, "\(hook.path) cannot be checked before the container exists: \(why)",
                        hint: "make sure it is there once the mounts are made")
                    problem = nil
                }
                guard let problem else { continue }
                if fatal {
                    f.error(field, problem, hint: "install the hook's program there, or fix the path")
                } else {
                    f.warning(
                        field, "\(problem): the hook will fail, and swrun only logs that",
                        hint: "install the hook's program there, or fix the path")
                }
            }
        }
    }
}
