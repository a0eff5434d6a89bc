import SwrunSys

/// The container's root filesystem, built in the init's new mount namespace:
/// propagation -> bind rootfs -> mounts -> devices -> pivot_root -> ro/masked paths -> ro root.
/// Every target is resolved through SafePath; every mount is made detached (open_tree or
/// fsopen/fsmount), given its attributes, then attached onto an fd with move_mount.
enum RootfsSequence {
    /// Steps before pivot_root. Returns the rootfs handle.
    /// `bindSources`: the bind mounts' sources opened by the parent (a new user namespace),
    /// in mount order; empty otherwise.
    static func prepare(_ plan: LaunchPlan, bindSources: [OwnedFD] = []) throws(SwrunError) -> SafePath {
        // 1. Nothing mounted from here on may propagate back to the host.
        try sys("make / \(plan.rootPropagationExplicit ? "per rootfsPropagation" : "rslave")") {
            try Mount.mount(nil, "/", nil, plan.rootPropagation)
        }
        // 2. pivot_root refuses a shared parent mount, and an unbindable one cannot be bound
        //    in step 3; only such a rootfsPropagation makes them (the final value is set on
        //    the new root after pivot_root).
        if plan.rootPropagation & (MountFlags.shared | MountFlags.unbindable) != 0 {
            try makeParentPrivate(plan.rootfs)
        }
        // 3. Bind the rootfs onto itself: pivot_root needs a mount point, and the copy keeps
        //    our mounts off the host's view of the directory.
        let tree = try sys("bind rootfs \(plan.rootfs)") { try Mount.cloneTree(plan.rootfs, recursive: true) }
        let target = try sys { try Files.open(plan.rootfs, OpenFlags.path | OpenFlags.directory) }
        try sys("bind rootfs \(plan.rootfs)") { try Mount.attach(tree.raw, onto: target.raw, display: plan.rootfs) }
        // 4. Opened after the bind, so that it refers to the new mount.
        let root = try SafePath(rootPath: plan.rootfs)
        var readOnlyDev = false
        var nextSource = bindSources.makeIterator()
        for (i, var op) in plan.mounts.enumerated() {
            var source: OwnedFD?
            if case .bind = op.kind, !bindSources.isEmpty { source = nextSource.next() }
            // A read-only /dev is mounted read-write, filled, then made read-only (runc does
            // the same): its devices and symlinks are made after the mount.
            if op.destination == "/dev", case .filesystem = op.kind, op.attrSet & MountAttr.rdonly != 0 {
                op.attrSet &= ~MountAttr.rdonly
                readOnlyDev = true
            }
            do { try mount(op, root: root, plan: plan, source: source) } catch {
                throw error.wrapped("mounts[\(i)] (\(describe(op.kind)) on \(Quote.short(op.destination)))")
            }
        }
        // 5. Devices last: a tmpfs on /dev has to exist first.
        if !plan.devices.isEmpty || plan.setupDev { try createDevices(plan, root: root) }
        if readOnlyDev, let dev = try root.open("/dev", flags: OpenFlags.path | OpenFlags.directory) {
            try sys("make /dev read-only") {
                try Mount.setAttr(dev.raw, recursive: false, set: MountAttr.rdonly, clear: 0, display: "/dev")
            }
        }
        return root
    }

    static func describe(_ k: MountOp.Kind) -> String {
        switch k {
        case .bind(let s, _): return s
        case .filesystem(let t, _): return t
        case .cgroup: return "cgroup"
        }
    }

    static func makeParentPrivate(_ rootfs: String) throws(SwrunError) {
        let info = try sys { try Files.readString("/proc/self/mountinfo") }
        var best = "/"
        MountInfo.forEachLine(info) { fields, _ in
            let f = MountInfo.words(fields, separator: UInt8(ascii: " "))
            guard f.count > 4 else { return }
            let mp = MountInfo.unescape(String(decoding: f[4], as: UTF8.self))
            if (rootfs == mp || rootfs.startsWithBytes(mp == "/" ? "/" : mp + "/")) && mp.count > best.count {
                best = mp
            }
        }
        try sys("make \(best) private") { try Mount.mount(nil, best, nil, MountFlags.privateProp) }
    }

    static func mount(_ op: MountOp, root: SafePath, plan: LaunchPlan, source opened: OwnedFD? = nil) throws(SwrunError)
    {
        Log.debug("mount \(describe(op.kind)) to \(op.destination)")
        switch op.kind {
        case .bind(let source, let recursive):
            let st = try sys { () throws(SyscallError) -> FileStat in
                if let opened { return try Files.fstat(opened.raw, display: source) }
                return try Files.stat(source)
            }
            let target = st.isDirectory ? try root.mkdirAll(op.destination) : try root.createFile(op.destination)
            // An id-mapped mount arrives as its detached tree, already id-mapped by the parent
            // (IDMappedMounts); any other bind is cloned here.
            let tree = try sys { () throws(SyscallError) -> OwnedFD in
                if let opened, op.idmap != nil { return opened }
                if let opened { return try Mount.cloneTree(dir: opened.raw, "", recursive: recursive, display: source) }
                return try Mount.cloneTree(source, recursive: recursive)
            }
            try setAttributes(tree.raw, op)
            try sys { try Mount.attach(tree.raw, onto: target.raw, display: op.destination) }
            try setPropagation(tree.raw, op)
        case .filesystem(let type, let source):
            let target =
                type == "proc" || type == "sysfs"
                ? try ordinaryDirectory(op.destination, type: type, root: root) : try root.mkdirAll(op.destination)
            var data = op.data
            // A tmpfs without mode= takes the mode of the directory it covers (runc 1.1.15+),
            // not tmpfs's 1777.
            if type == "tmpfs", !data.contains(where: { $0.key == "mode" }) {
                let st = try sys { try Files.fstat(target.raw, display: op.destination) }
                data.append(KeyValue("mode", String(st.permissions, radix: 8)))
            }
            let fs = try sys {
                try Mount.newFilesystem(
                    type: type, source: source, options: data, attr: op.attrSet, display: op.destination)
            }
            if op.recursiveAttrSet | op.recursiveAttrClear != 0 {
                try sys {
                    try Mount.setAttr(
                        fs.raw, recursive: true, set: op.recursiveAttrSet, clear: op.recursiveAttrClear,
                        display: op.destination)
                }
            }
            if op.tmpcopyup {
                // Copy the directory's existing content into the still-detached tmpfs.
                let dst = try sys { try Files.openat(fs.raw, ".", OpenFlags.readOnly | OpenFlags.directory) }
                try sys("tmpcopyup") { try Files.copyTree(from: target.raw, to: dst.raw, display: op.destination) }
            }
            try sys { try Mount.attach(fs.raw, onto: target.raw, display: op.destination) }
            try setPropagation(fs.raw, op)
        case .cgroup:
            try CgroupMount.mount(op, root: root, plan: plan)
        }
    }

    /// proc and sysfs go only on a real directory (CVE-2019-19921, CVE-2023-27561: a /proc
    /// that is a symlink in the image redirected the mount). The last component is opened
    /// without following a symlink, and the mount goes onto that very descriptor.
    static func ordinaryDirectory(_ destination: String, type: String, root: SafePath) throws(SwrunError) -> OwnedFD {
        let (dir, base) = SafePath.split(destination)
        let parent = try root.mkdirAll(dir)
        do {
            try Files.mkdirat(parent.raw, base, mode: 0o755, display: destination)
        } catch  where error.errno == Errno.EEXIST {
        } catch {
            throw SwrunError.system(error)
        }
        do {
            return try Files.openat(
                parent.raw, base, OpenFlags.path | OpenFlags.directory | OpenFlags.noFollow, display: destination)
        } catch  where error.errno == Errno.ENOTDIR || error.errno == Errno.ELOOP {
            throw SwrunError(
                .system, "filesystem \"\(type)\" must be mounted on ordinary directory (\(destination) is not one)")
        } catch {
            throw SwrunError.system(error)
        }
    }

    static func setAttributes(_ fd: Int32, _ op: MountOp) throws(SwrunError) {
        if op.attrSet | op.attrClear != 0 {
            try sys {
                try Mount.setAttr(fd, recursive: false, set: op.attrSet, clear: op.attrClear, display: op.destination)
            }
        }
        if op.recursiveAttrSet | op.recursiveAttrClear != 0 {
            try sys {
                try Mount.setAttr(
                    fd, recursive: true, set: op.recursiveAttrSet, clear: op.recursiveAttrClear, display: op.destination
                )
            }
        }
    }

    static func setPropagation(_ fd: Int32, _ op: MountOp) throws(SwrunError) {
        guard op.propagation != 0 else { return }
        try sys {
            try Mount.setAttr(
                fd, recursive: op.propagationRecursive, set: 0, clear: 0, propagation: op.propagation,
                display: op.destination)
        }
    }

    static func createDevices(_ plan: LaunchPlan, root: SafePath) throws(SwrunError) {
        // Devices mostly share /dev: its descriptor is kept from one node to the next.
        var lastDir: String?, lastParent: OwnedFD?
        for d in plan.devices {
            let (dir, base) = SafePath.split(d.path)
            let parent: OwnedFD
            if dir == lastDir, let p = lastParent {
                parent = p
            } else {
                parent = try root.mkdirAll(dir)
                lastDir = dir
                lastParent = parent
            }
            // mknod is refused in a user namespace: bind the host's node instead, as runc does.
            if plan.bindDevices {
                try bindHostDevice(d.path, parent: parent.raw, name: base)
                continue
            }
            do {
                try Files.mknodat(
                    parent.raw, base, mode: d.fileType | d.mode, dev: Files.makedev(d.major, d.minor), display: d.path)
            } catch  where error.errno == Errno.EEXIST {
                continue // already provided by the rootfs or a mount: left as it is, as runc does
            } catch {
                throw SwrunError.system(error).wrapped("create device \(d.path)")
            }
            try sys("create device \(d.path)") {
                try Files.fchownat(parent.raw, base, uid: d.uid, gid: d.gid, display: d.path)
            }
        }
        guard plan.setupDev else { return }
        let dev = try root.mkdirAll("/dev")
        var links = Devices.symlinks
        if Files.exists("/proc/kcore") { links.append(("/dev/core", "/proc/kcore")) }
        for (path, target) in links {
            let name = String(path.dropFirst(5))
            do { try Files.symlinkat(target, dev.raw, name, display: path) } catch  where error.errno == Errno.EEXIST {
            } catch {
                throw SwrunError.system(error)
            }
        }
        // /dev/ptmx must be the devpts instance's own ptmx (newinstance), as runc sets it up.
        do { try Files.unlinkat(dev.raw, "ptmx", display: "/dev/ptmx") } catch  where error.errno == Errno.ENOENT {
        } catch {
            throw SwrunError.system(error)
        }
        try sys { try Files.symlinkat("pts/ptmx", dev.raw, "ptmx", display: "/dev/ptmx") }
    }

    /// An empty file at the device's path with the host's node of the same path bound on it.
    static func bindHostDevice(_ path: String, parent: Int32, name: String) throws(SwrunError) {
        let what = "bind device \(path) from the host"
        let tree = try sys(what) { try Mount.cloneTree(path, recursive: false) }
        do {
            let f = try Files.openat(
                parent, name, OpenFlags.writeOnly | OpenFlags.create | OpenFlags.exclusive | OpenFlags.cloexec,
                mode: 0o600, display: path)
            f.close()
        } catch  where error.errno == Errno.EEXIST {} catch {
            throw SwrunError.system(error).wrapped(what)
        }
        let target = try sys(what) {
            try Files.openat(parent, name, OpenFlags.path | OpenFlags.noFollow | OpenFlags.cloexec, display: path)
        }
        guard let st = try? Files.fstat(target.raw), st.isRegular else {
            throw SwrunError(.system, "\(what): \(path) in the container is not a regular file")
        }
        try sys(what) { try Mount.attach(tree.raw, onto: target.raw, display: path) }
    }

    /// pivot_root into the rootfs and detach the old root (or, with --no-pivot, move the
    /// rootfs over / and chroot, for rootfs on a ramdisk where pivot_root fails).
    static func pivot(_ plan: LaunchPlan, root: SafePath) throws(SwrunError) {
        if plan.noPivot {
            // The old root stays in this mount namespace under the chroot: first take the
            // host's procfs and sysfs out of it, or a process inside could unshare a user and
            // mount namespace and mount a fresh, unmasked procfs (the kernel allows that while
            // a full procfs mount exists in the namespace).
            try detachHostPseudoFilesystems(rootfs: plan.rootfs)
            try sys { try Files.fchdir(root.root.raw, display: plan.rootfs) }
            try sys { try Mount.mount(plan.rootfs, "/", nil, MountFlags.move) }
            try sys { try Files.chroot(".") }
        } else {
            // The old root, opened before pivot_root: afterwards it is stacked on "/" and only
            // a descriptor reaches it reliably ("." is the new root's dentry).
            let oldRoot = try sys("open old root") { try Files.open("/", OpenFlags.readOnly | OpenFlags.directory) }
            try sys { try Files.fchdir(root.root.raw, display: plan.rootfs) }
            try sys { try Mount.pivotRoot(".", ".") }
            // Make the old root a slave so the unmount cannot propagate to the host, then
            // detach it. On the old root, not the new one: a slave new root would cut an
            // rshared volume's propagation back to the host.
            try sys("enter old root") { try Files.fchdir(oldRoot.raw, display: "old root") }
            try sys("make old root rslave") { try Mount.mount(nil, ".", nil, MountFlags.slave | MountFlags.rec) }
            try sys("unmount old root") { try Mount.umount(".", detach: true) }
        }
        try sys { try Files.chdir("/") }
        if plan.rootPropagationExplicit {
            try sys("set rootfsPropagation") { try Mount.mount(nil, "/", nil, plan.rootPropagation) }
        }
    }

    /// After pivot_root, with /dev set up: stdio that is the host's /dev/null (conmon gives
    /// a detached container's stdin so) becomes the container's own, as runc's reOpenDevNull
    /// makes it. A descriptor of a mount outside the container's mount namespace is one CRIU
    /// cannot checkpoint ("Can't lookup mount"), and the container has no business holding
    /// the host's device node.
    static func reopenDevNull(_ plan: LaunchPlan) throws(SwrunError) {
        guard plan.setupDev else { return }
        var null: OwnedFD?
        for fd: Int32 in 0...2 {
            guard let st = try? Files.fstat(fd), st.isCharDevice, st.rdev == Files.makedev(1, 3) else { continue }
            if null == nil {
                let root = try SafePath(rootPath: "/")
                _ = try verifiedDevNull(root)
                null = try sys("reopen /dev/null") {
                    try Files.open("/dev/null", OpenFlags.readWrite | OpenFlags.noFollow)
                }
            }
            if let null { try sys("reopen /dev/null as fd \(fd)") { try Files.dup2(null.raw, fd) } }
        }
    }

    /// --no-pivot: every full procfs or sysfs mount outside the rootfs is detached (made a
    /// slave first, so the host keeps its own), or covered with an empty tmpfs where it
    /// cannot be detached (runc's msMoveRoot does the same).
    static func detachHostPseudoFilesystems(rootfs: String) throws(SwrunError) {
        let info = try sys { try Files.readString("/proc/self/mountinfo") }
        var targets: [String] = []
        MountInfo.forEachLine(info) { before, after in
            guard let type = MountInfo.word(after, 0, separator: UInt8(ascii: " ")),
                type.elementsEqual("proc".utf8) || type.elementsEqual("sysfs".utf8),
                let rootField = MountInfo.word(before, 3, separator: UInt8(ascii: " ")),
                rootField.elementsEqual("/".utf8),
                let mp = MountInfo.word(before, 4, separator: UInt8(ascii: " "))
            else { return }
            let path = MountInfo.unescape(String(decoding: mp, as: UTF8.self))
            if path == rootfs || path.startsWithBytes(rootfs + "/") { return }
            targets.append(path)
        }
        for path in targets {
            do {
                try Mount.mount(nil, path, nil, MountFlags.slave | MountFlags.rec)
            } catch  where error.errno == Errno.ENOENT || error.errno == Errno.EINVAL {
                continue // gone with a parent detached before it
            } catch {
                throw SwrunError.system(error).wrapped("--no-pivot: hide the host's \(path)")
            }
            do { try Mount.umount(path, detach: true) } catch
                where error.errno == Errno.EINVAL || error.errno == Errno.EPERM
            {
                try sys("--no-pivot: cover the host's \(path)") { try Mount.mount("tmpfs", path, "tmpfs", 0) }
            } catch {
                throw SwrunError.system(error).wrapped("--no-pivot: hide the host's \(path)")
            }
        }
    }

    /// After pivot_root: readonly paths, masked paths (fatal on failure: an unmasked
    /// /proc/kcore is a hole), then the read-only root.
    static func finalize(_ plan: LaunchPlan) throws(SwrunError) {
        let root = try SafePath(rootPath: "/")
        for p in plan.readonlyPaths {
            guard let fd = try root.open(p) else { continue }
            let tree = try sys("make \(p) read-only") {
                try Mount.cloneTree(dir: fd.raw, "", recursive: true, display: p)
            }
            try sys("make \(p) read-only") {
                try Mount.setAttr(tree.raw, recursive: true, set: MountAttr.rdonly, clear: 0, display: p)
            }
            try sys("make \(p) read-only") { try Mount.attach(tree.raw, onto: fd.raw, display: p) }
        }
        if !plan.maskedPaths.isEmpty {
            let devNull = try verifiedDevNull(root)
            for p in plan.maskedPaths {
                guard let fd = try root.open(p) else { continue }
                let st = try sys { try Files.fstat(fd.raw, display: p) }
                let mask: OwnedFD
                if st.isDirectory {
                    mask = try sys("mask \(p)") {
                        try Mount.newFilesystem(
                            type: "tmpfs", source: "tmpfs", options: [], attr: MountAttr.rdonly, display: p)
                    }
                } else {
                    mask = try sys("mask \(p)") {
                        try Mount.cloneTree(dir: devNull.raw, "", recursive: false, display: "/dev/null")
                    }
                }
                try sys("mask \(p)") { try Mount.attach(mask.raw, onto: fd.raw, display: p) }
            }
        }
        if plan.readonlyRoot {
            try sys("make rootfs read-only") {
                try Mount.setAttr(path: "/", recursive: false, set: MountAttr.rdonly, clear: 0)
            }
        }
    }

    /// The /dev/null used for masking must be the real device (1:3): a rootfs that makes it a
    /// symlink or a file would otherwise turn masking into a bind of something else
    /// (CVE-2025-31133).
    static func verifiedDevNull(_ root: SafePath) throws(SwrunError) -> OwnedFD {
        guard let fd = try root.open("/dev/null", flags: OpenFlags.path | OpenFlags.noFollow) else {
            throw SwrunError(.system, "mask paths: /dev/null does not exist in the container")
        }
        let st = try sys { try Files.fstat(fd.raw, display: "/dev/null") }
        guard st.isCharDevice, st.rdev == Files.makedev(1, 3) else {
            throw SwrunError(.system, "mask paths: /dev/null in the container is not the null device")
        }
        return fd
    }
}

/// Mount of type cgroup: on pure v2, cgroup2 (new cgroup namespace) or a bind of the
/// container's own cgroup; on v1/hybrid hosts, a tmpfs holding one mount per hierarchy.
enum CgroupMount {
    static func mount(_ op: MountOp, root: SafePath, plan: LaunchPlan) throws(SwrunError) {
        let layout = plan.cgroupLayout
        let target = try root.mkdirAll(op.destination)
        if layout.isPureV2 {
            let m = try hierarchyMount(layout.hierarchies[0], leaf: plan.cgroupLeaves[0], op: op, plan: plan)
            try sys { try Mount.attach(m.raw, onto: target.raw, display: op.destination) }
            return
        }
        let tmpfs = try sys {
            try Mount.newFilesystem(
                type: "tmpfs", source: "cgroup", options: [KeyValue("mode", "755")],
                attr: op.attrSet & ~MountAttr.rdonly, display: op.destination)
        }
        try sys { try Mount.attach(tmpfs.raw, onto: target.raw, display: op.destination) }
        guard let dir = try root.open(op.destination, flags: OpenFlags.path | OpenFlags.directory) else {
            throw SwrunError(.system, "\(op.destination) vanished")
        }
        for (h, leaf) in zip(layout.hierarchies, plan.cgroupLeaves) {
            let name = h.isV2 ? "unified" : h.name
            try sys { try Files.mkdirat(dir.raw, name, mode: 0o755, display: op.destination + "/" + name) }
            guard let sub = try root.open(op.destination + "/" + name, flags: OpenFlags.path | OpenFlags.directory)
            else { continue }
            let m = try hierarchyMount(h, leaf: leaf, op: op, plan: plan)
            try sys { try Mount.attach(m.raw, onto: sub.raw, display: op.destination + "/" + name) }
            if h.controllers.count > 1 {
                for c in h.controllers {
                    do { try Files.symlinkat(name, dir.raw, c, display: op.destination + "/" + c) } catch
                        where error.errno == Errno.EEXIST
                    {} catch {
                        throw SwrunError.system(error)
                    }
                }
            }
        }
        if op.attrSet & MountAttr.rdonly != 0 {
            try sys {
                try Mount.setAttr(tmpfs.raw, recursive: false, set: MountAttr.rdonly, clear: 0, display: op.destination)
            }
        }
    }

    static func hierarchyMount(_ h: CgroupHierarchy, leaf: String, op: MountOp, plan: LaunchPlan) throws(SwrunError)
        -> OwnedFD
    {
        if plan.newCgroupNamespace {
            let type = h.isV2 ? "cgroup2" : "cgroup"
            let opts: [KeyValue] = h.isV2 ? [] : h.controllers.map { KeyValue($0, nil) }
            return try sys {
                try Mount.newFilesystem(
                    type: type, source: "cgroup", options: opts, attr: op.attrSet, display: op.destination)
            }
        }
        // A hierarchy a rootless create left out: the runtime's own cgroup there (what a
        // process of the container finds in /proc/self/cgroup), as runc binds it.
        let source = plan.cgroupSkipped.contains(leaf) ? h.mountpoint + (h.ownPath == "/" ? "" : h.ownPath) : leaf
        let tree = try sys { try Mount.cloneTree(source, recursive: false) }
        try RootfsSequence.setAttributes(tree.raw, op)
        return tree
    }
}
