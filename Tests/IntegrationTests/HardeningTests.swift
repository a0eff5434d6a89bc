import Foundation
import Testing

/// The security holes of issues #13 and #19, each reproduced with the built binary: the
/// device cgroup's default, device nodes that must not widen it, --no-pivot's leftover
/// procfs, seccomp before the startContainer hooks, rshared volumes, pid files, ids that
/// mean -1, unified cgroup writes, a symlinked rootfs, a relative --root, NUL bytes.
@Suite("hardening", .enabled(if: Harness.enabled))
struct HardeningTests {
    /// The first line of output, trimmed.
    static func first(_ s: String) -> String { s.split(separator: "\n").first.map(String.init) ?? "" }

    /// What runc 1.1 leaves in devices.list: its default allow list (no "a *:* rwm").
    static let runcDefaultDevices: Set<String> = [
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
        "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm",
    ]

    /// With no linux.resources.devices, the device cgroup denies all but runc's default
    /// list: a container with CAP_MKNOD cannot make and open another device (here loop0's
    /// number; EPERM from the cgroup, where an allowed node would give ENXIO or succeed).
    @Test func deviceCgroupDeniesByDefault() throws {
        let s = try Sandbox()
        var l = s.linux
        l["resources"] = [String: Any]()
        s.linux = l
        var caps = s.process["capabilities"] as? [String: Any] ?? [:]
        for k in ["bounding", "effective", "permitted"] { caps[k] = ((caps[k] as? [String]) ?? []) + ["CAP_MKNOD"] }
        s.process["capabilities"] = caps
        let id = try s.startDetached("dev", args: ["/bin/sleep", "60"])
        let made = s.swrun(["exec", id, "/bin/sh", "-c", "mknod /dev/blk b 7 0 && swrun-probe write /dev/blk"])
        #expect(
            Self.first(made.stdout) == "EPERM",
            "a block device outside the default list must be refused: \(made.stdout) \(made.stderr)")
        let null = s.swrun(["exec", id, "swrun-probe", "write", "/dev/null"])
        #expect(Self.first(null.stdout) == "ok", "the default list still allows /dev/null: \(null.stdout)")
        // On this host's v1 devices hierarchy, the list itself is runc's.
        if let leaf = Sandbox.cgroupDirs(named: id).first(where: { $0.contains("/devices/") }) {
            let list = try String(contentsOfFile: leaf + "/devices.list", encoding: .utf8)
            #expect(
                Set(list.split(separator: "\n").map(String.init)) == Self.runcDefaultDevices, "devices.list: \(list)")
        }
    }

    /// linux.devices makes nodes; it must not add allow rules after the config's own, or an
    /// explicit deny-all would be defeated. The node here is loop0's number: opening it is
    /// refused by the cgroup (EPERM), where an allowed node opens or says ENXIO.
    @Test func linuxDevicesDoNotWidenTheDevicePolicy() throws {
        let s = try Sandbox()
        var l = s.linux
        l["devices"] = [
            ["path": "/dev/loopx", "type": "b", "major": 7, "minor": 0, "fileMode": 0o660, "uid": 0, "gid": 0]
        ]
        l["resources"] = ["devices": [["allow": false, "access": "rwm"]]]
        s.linux = l
        s.args(["/bin/sh", "-c", "swrun-probe stat /dev/loopx; swrun-probe write /dev/loopx; true"])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("major=7"), "the node is made: \(r.stdout)")
        #expect(r.stdout.split(separator: "\n").last == "EPERM", "the deny-all policy holds for it: \(r.stdout)")
    }

    /// --no-pivot: the host's procfs and sysfs must not stay in the container's mount
    /// namespace under the chroot, or a process can unshare a user and mount namespace and
    /// mount a fresh, unmasked procfs (the kernel allows that while a full procfs mount is
    /// in the namespace). The probe counts every full procfs and sysfs mount of its mount
    /// namespace with listmount(2)/statmount(2), reachable from its root or not.
    @Test func noPivotLeavesNoHostProcfs() throws {
        let s = try Sandbox()
        var caps = s.process["capabilities"] as? [String: Any] ?? [:]
        for k in ["bounding", "effective", "permitted"] { caps[k] = ((caps[k] as? [String]) ?? []) + ["CAP_SYS_ADMIN"] }
        s.process["capabilities"] = caps
        s.args(["/bin/swrun-probe", "fullmounts"])
        let r = try s.runContainer(extra: ["--no-pivot"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("proc=1 sysfs=1"), "only the container's own procfs and sysfs: \(r.stdout)")
        // pivot_root leaves the same.
        let p = try s.runContainer()
        #expect(p.stdout.contains("proc=1 sysfs=1"), "\(p.stdout)")
    }

    /// With no_new_privs, the startContainer hooks (programs of the container's image) run
    /// under the container's seccomp profile: here it refuses mkdir, so the hook cannot make
    /// its directory in a volume the host can see.
    @Test func seccompIsInstalledBeforeStartContainerHooks() throws {
        let s = try Sandbox()
        let vol = s.dir + "/vol"
        try FileManager.default.createDirectory(atPath: vol, withIntermediateDirectories: true)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/data", "type": "bind", "source": vol, "options": ["rbind", "rw"]])
        s.config["mounts"] = mounts
        s.process["noNewPrivileges"] = true
        var l = s.linux
        l["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1]],
        ]
        s.linux = l
        s.config["hooks"] = [
            "startContainer": [["path": "/bin/busybox", "args": ["busybox", "mkdir", "/data/made-by-hook"]]]
        ]
        s.args(["/bin/true"])
        _ = try s.runContainer()
        #expect(!FileManager.default.fileExists(atPath: vol + "/made-by-hook"), "the hook ran outside the profile")
    }

    /// The default seccomp profiles of Podman (with and without CAP_AUDIT_WRITE, which
    /// changes its `socket` rules into several with different conditions and actions) and of
    /// Docker, as those engines hand them to the runtime (Tests/OCISpecTests/Fixtures/engines,
    /// captured by e2e/capture-configs.sh): each loads, with the engine's capabilities, and
    /// the process runs under it. Podman's failed with "seccomp_rule_add syscall 41: file
    /// exists" when the rules were added in another order than runc's and crun's.
    @Test(arguments: ["podman-default", "podman-no-audit-write", "docker-default"])
    func engineDefaultSeccompProfilesLoad(_ engine: String) throws {
        let fixture = Harness.packageRoot.appendingPathComponent("Tests/OCISpecTests/Fixtures/engines/\(engine).json")
        let captured = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any] ?? [:]
        let capturedLinux = captured["linux"] as? [String: Any] ?? [:]
        let capturedProcess = captured["process"] as? [String: Any] ?? [:]
        let s = try Sandbox()
        var l = s.linux
        l["seccomp"] = capturedLinux["seccomp"]
        s.linux = l
        s.process["capabilities"] = capturedProcess["capabilities"]
        s.process["noNewPrivileges"] = capturedProcess["noNewPrivileges"]
        s.args(["/bin/sh", "-c", "grep -E '^Seccomp:' /proc/self/status; swrun-probe syscall 163"])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(engine): \(r.stderr)")
        #expect(r.stdout.contains("Seccomp:\t2"), "filter mode: \(r.stdout)")
        let mount = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(mount == "EPERM" || mount == "ENOSYS", "acct(2) is refused by the profile: \(r.stdout)")
    }

    /// SCMP_ACT_NOTIFY on write would hand the runtime's own writes to the agent (runc
    /// refuses it), and as the default action it would hand it everything.
    @Test func seccompNotifyOnWriteIsRefused() throws {
        let s = try Sandbox()
        var l = s.linux
        l["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": s.dir + "/agent.sock",
            "syscalls": [["names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"]],
        ]
        s.linux = l
        let r = try s.runContainer()
        #expect(r.code == 1)
        #expect(
            r.stderr.contains("linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the write syscall"),
            "\(r.stderr)")
        l["seccomp"] = ["defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": s.dir + "/agent.sock"]
        s.linux = l
        let d = try s.runContainer()
        #expect(d.code == 1)
        #expect(
            d.stderr.contains("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action"),
            "\(d.stderr)")
    }

    /// Kubernetes' Bidirectional propagation: an rshared volume propagates both ways, and
    /// the container's root is shared (not a slave of the host). Run in a private mount
    /// namespace of the test's own, so the host's mount table is never touched.
    @Test func rsharedVolumePropagatesBothWays() throws {
        let s = try Sandbox()
        let vol = s.dir + "/shared-vol"
        try FileManager.default.createDirectory(atPath: vol + "/fromhost", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: vol + "/fromcontainer", withIntermediateDirectories: true)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rshared"]])
        s.config["mounts"] = mounts
        var l = s.linux
        l["rootfsPropagation"] = "rshared"
        s.linux = l
        let id = s.id("prop")
        s.freshCgroup(id)
        s.args(["/bin/sleep", "60"])
        try s.writeConfig()
        let sw = "\(Harness.binary) --root \(s.root)"
        let script = """
            set -u
            mount --bind \(vol) \(vol) && mount --make-shared \(vol) || exit 90
            \(sw) run -d --bundle \(s.bundle) \(id) || exit 91
            \(sw) exec --cap CAP_SYS_ADMIN \(id) mount -t tmpfs inner /vol/fromcontainer || exit 92
            grep -q " \(vol)/fromcontainer " /proc/self/mountinfo && echo CONTAINER-TO-HOST
            mount -t tmpfs outer \(vol)/fromhost || exit 93
            \(sw) exec \(id) grep -q " /vol/fromhost " /proc/self/mountinfo && echo HOST-TO-CONTAINER
            \(sw) exec \(id) awk '$5 == "/" { print "ROOT " $0 }' /proc/self/mountinfo
            \(sw) delete -f \(id)
            """
        let r = Harness.run(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script])
        #expect(r.code == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("CONTAINER-TO-HOST"), "a mount made in the container reaches the host: \(r.stdout)")
        #expect(r.stdout.contains("HOST-TO-CONTAINER"), "a mount made on the host reaches the container: \(r.stdout)")
        let rootLine = r.stdout.split(separator: "\n").first { $0.hasPrefix("ROOT ") } ?? ""
        #expect(
            rootLine.contains("shared:") && !rootLine.contains("master:"),
            "the container's root is shared, not a slave: \(rootLine)")
    }

    /// --pid-file replaces only a regular file or nothing: a device node, a FIFO or a
    /// symlink there is refused and left as it was (runc replaces them; /dev/full once).
    @Test func pidFileNeverReplacesANonRegularFile() throws {
        let s = try Sandbox()
        let dev = s.dir + "/full-node", fifo = s.dir + "/fifo", link = s.dir + "/link"
        #expect(mknod(dev, S_IFCHR | 0o666, dev_t((1 << 8) | 7)) == 0)
        #expect(mkfifo(fifo, 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.dir + "/elsewhere")
        try s.writeConfig()
        for path in [dev, fifo, link] {
            let id = s.id("pf")
            s.freshCgroup(id)
            try s.writeConfig()
            let r = s.swrun(["create", "--bundle", s.bundle, "--pid-file", path, id])
            #expect(r.code == 1, "\(path): \(r.stderr)")
            #expect(r.stderr.contains("exists and is not a regular file"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id), "nothing left behind")
        }
        var st = stat()
        #expect(lstat(dev, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "the device node is still a device node")
        #expect(lstat(fifo, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        #expect(lstat(link, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        #expect(!FileManager.default.fileExists(atPath: s.dir + "/elsewhere"))
        // A regular file is replaced with the bare pid, as before.
        let id = s.id("pf")
        s.freshCgroup(id)
        try s.writeConfig()
        let ok = s.swrun(["create", "--bundle", s.bundle, "--pid-file", s.dir + "/pid", id])
        #expect(ok.code == 0, "\(ok.stderr)")
        #expect(Int(try String(contentsOfFile: s.dir + "/pid", encoding: .utf8)) != nil)
    }

    /// uid or gid 4294967295 is -1 to setresuid(2), "unchanged": the process would run as
    /// root. Ids above 2147483647 are refused everywhere, as runc does.
    @Test func idsThatMeanMinusOneAreRefused() throws {
        let s = try Sandbox()
        for (field, value) in [("uid", 4_294_967_295), ("gid", 4_294_967_295), ("uid", 2_147_483_648)] {
            var user = s.process["user"] as? [String: Any] ?? [:]
            user = ["uid": 0, "gid": 0]
            user[field] = value
            s.process["user"] = user
            let r = try s.runContainer()
            #expect(r.code == 1, "\(field) \(value) must be refused: \(r.stdout)")
            #expect(r.stderr.contains("process.user.\(field): \(value) is out of range"), "\(r.stderr)")
        }
        s.process["user"] = ["uid": 0, "gid": 0, "additionalGids": [4_294_967_295]]
        let g = try s.runContainer()
        #expect(g.stderr.contains("process.user.additionalGids[0]: 4294967295 is out of range"), "\(g.stderr)")
        s.process["user"] = ["uid": 1000, "gid": 1000]
        let id = try s.startDetached("ids", args: ["/bin/sleep", "60"])
        for args in [
            ["--user", "4294967295"], ["--user", "0:4294967295"], ["--user", "2147483648"], ["-g", "4294967295"],
        ] {
            let r = s.swrun(["exec"] + args + [id, "/bin/id", "-u"])
            #expect(r.code != 0, "exec \(args) must be refused: \(r.stdout)")
            #expect(!r.stdout.contains("0"), "\(r.stdout)")
        }
    }

    /// linux.resources.unified may not write the cgroup core files that move processes
    /// (cgroup.procs moved a host process into the container, which delete -f then killed)
    /// and is refused whole on a v1 or hybrid host, as runc and crun do.
    @Test func unifiedCannotMoveProcessesIntoTheContainer() throws {
        let s = try Sandbox()
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: "/bin/sleep")
        victim.arguments = ["30"]
        try victim.run()
        defer { victim.terminate() }
        let before = try String(contentsOfFile: "/proc/\(victim.processIdentifier)/cgroup", encoding: .utf8)
        var l = s.linux
        l["resources"] = ["unified": ["cgroup.procs": "\(victim.processIdentifier)"]]
        s.linux = l
        let r = try s.runContainer()
        #expect(r.code == 1)
        let pureV2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
        let expected = pureV2 ? "unified[\"cgroup.procs\"]" : "cannot use unified on cgroup v1"
        #expect(r.stderr.contains(expected), "\(r.stderr)")
        #expect(
            try String(contentsOfFile: "/proc/\(victim.processIdentifier)/cgroup", encoding: .utf8) == before,
            "the host process did not move")
        #expect(victim.isRunning)
    }

    /// A rootfs that is itself a symlink (or reached through one) is refused as runc does,
    /// and nothing is created where it points.
    @Test func symlinkedRootfsIsRefused() throws {
        let s = try Sandbox()
        let target = s.dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: s.bundle + "/linked", withDestinationPath: target)
        s.config["root"] = ["path": "linked"]
        let r = try s.runContainer()
        #expect(r.code == 1)
        #expect(r.stderr.contains("not an absolute path, or a symlink"), "\(r.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: target).isEmpty,
            "no dev/, proc/ or sys/ made in the symlink's target")
    }

    /// A relative --root is the caller's: the container is found again from the same
    /// directory, and delete -f removes it (it used to land in <bundle>/<root>).
    @Test func relativeRootIsResolvedAgainstTheCallersDirectory() throws {
        let s = try Sandbox()
        let cwd = s.dir + "/caller"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let id = s.id("rel")
        s.freshCgroup(id)
        s.args(["/bin/sleep", "60"])
        try s.writeConfig()
        let sw = Harness.binary
        let script = """
            cd \(cwd) && \(sw) --root relstate run -d --bundle \(s.bundle) \(id) || exit 90
            \(sw) --root relstate state \(id) | grep -q '"status": "running"' && echo FOUND
            test -d \(cwd)/relstate/\(id) && echo IN-CALLER-DIR
            \(sw) --root relstate delete -f \(id) && test ! -e \(cwd)/relstate/\(id) && echo DELETED
            """
        let r = Harness.run(["/bin/sh", "-c", script])
        #expect(r.stdout.contains("FOUND"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("IN-CALLER-DIR"), "\(r.stdout)")
        #expect(r.stdout.contains("DELETED"), "\(r.stdout)")
        #expect(!FileManager.default.fileExists(atPath: s.bundle + "/relstate"))
    }

    /// A NUL inside a JSON string would cut the value where C reads it: refused with the
    /// field's path, for every kind of field.
    @Test(arguments: ["args", "root", "env", "mount", "hook", "arch", "annotationKey"])
    func nulBytesAreRefused(_ where_: String) throws {
        let s = try Sandbox()
        let nul = "\u{0}"
        let expected: String
        switch where_ {
        case "args": s.args(["/bin/true" + nul + "junk"]); expected = "process.args[0]: contains a NUL byte"
        case "root": s.config["root"] = ["path": "rootfs" + nul + "x"]; expected = "root.path: contains a NUL byte"
        case "env": s.process["env"] = ["A=b" + nul + "c"]; expected = "process.env[0]: contains a NUL byte"
        case "mount":
            s.config["mounts"] = [["destination": "/mnt" + nul + "x", "type": "tmpfs", "source": "tmpfs"]]
            expected = "mounts[0].destination: contains a NUL byte"
        case "hook":
            s.config["hooks"] = ["poststop": [["path": "/bin/true" + nul + "x"]]];
            expected = "hooks.poststop[0].path: contains a NUL byte"
        case "arch":
            var l = s.linux
            l["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64" + nul]]
            s.linux = l
            expected = "linux.seccomp.architectures[0]: contains a NUL byte"
        default: s.config["annotations"] = ["a" + nul + "b": "v"]; expected = "annotations: a key contains a NUL byte"
        }
        let r = try s.runContainer()
        #expect(r.code == 1)
        #expect(r.stderr.contains(expected), "\(r.stderr)")
    }
}
