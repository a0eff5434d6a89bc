import Foundation
import Testing

/// The conformance matrix (docs/conformance.md): each config runs `swrun-conformance`
/// (Tests/Conformance) as the container's process, which re-reads the same config.json and
/// checks every applied field from inside. `make conformance` runs this suite alone.
@Suite("conformance matrix", .enabled(if: Harness.enabled))
struct ConformanceTests {
    static var checker: String {
        ProcessInfo.processInfo.environment["SWRUN_CONFORMANCE"]
            ?? Harness.packageRoot.appendingPathComponent(".build/release/swrun-conformance").path
    }

    /// Inode of each of the runtime's (this process's) namespaces, as the checker reads them.
    static func hostNamespaces() -> String {
        ["pid", "net", "ipc", "uts", "mnt", "cgroup", "time", "user"].compactMap { ns -> String? in
            var st = stat()
            return stat("/proc/self/ns/\(ns)", &st) == 0 ? "\(ns) \(st.st_ino)" : nil
        }.joined(separator: "\n") + "\n"
    }

    /// Binds the checker and a data directory (returned) into the sandbox's container and
    /// makes the checker its process.
    static func installChecker(_ s: Sandbox) throws -> String {
        let data = s.dir + "/conformance"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append([
            "destination": "/conformance/check", "type": "bind", "source": checker, "options": ["bind", "ro"],
        ])
        mounts.append(["destination": "/conformance/data", "type": "bind", "source": data, "options": ["bind", "ro"]])
        s.config["mounts"] = mounts
        // Mount points made by the image, as an engine's rootfs would have them (a container
        // root in a user namespace cannot create them in a rootfs the host's root owns).
        try FileManager.default.createDirectory(
            atPath: s.rootfs + "/conformance/data", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: s.rootfs + "/conformance/check", contents: nil)
        s.args(["/conformance/check", "/conformance/data/config.json", "/conformance/data/hostns"])
        return data
    }

    /// Runs the checker in a container made from the sandbox's config after `edit`; the
    /// checker gets the config as written (or `seen`, when a test lies to it on purpose).
    @discardableResult
    static func conform(
        _ s: Sandbox, minChecks: Int = 40, joined: String = "", seen: (([String: Any]) -> [String: Any])? = nil,
        expectPass: Bool = true
    ) throws -> Harness.Result {
        let data = try installChecker(s)
        s.process["terminal"] = false
        let cid = s.id("k")
        if (s.linux["cgroupsPath"] as? String)?.hasPrefix(s.cgroupParent) ?? true { s.freshCgroup(cid) }
        try s.writeConfig()
        let written =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.bundle + "/config.json")))
            as? [String: Any] ?? [:]
        let shown = try JSONSerialization.data(withJSONObject: seen?(written) ?? written, options: [.sortedKeys])
        try shown.write(to: URL(fileURLWithPath: data + "/config.json"))
        try (hostNamespaces() + joined).write(toFile: data + "/hostns", atomically: true, encoding: .utf8)
        let r = s.swrun(["run", "--bundle", s.bundle, cid])
        let failed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("not ok") }
        let count = r.stdout.split(separator: "\n").filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok") }.count
        if expectPass {
            #expect(r.code == 0 && failed.isEmpty, "\(failed.joined(separator: "\n"))\n\(r.stderr)")
            #expect(count >= minChecks, "only \(count) checks ran:\n\(r.stdout)\n\(r.stderr)")
        }
        return r
    }

    // MARK: - Engine-shaped configs

    /// A fixture from Tests/OCISpecTests/Fixtures, adapted to this host: no hooks or LSM
    /// labels, bind sources that exist, the sandbox's rootfs and cgroup, limits under the
    /// host's hard limits.
    static func fixture(_ name: String, into s: Sandbox) throws {
        let url = Harness.packageRoot.appendingPathComponent("Tests/OCISpecTests/Fixtures/\(name).json")
        var c = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        c["root"] = ["path": "rootfs"]
        c["hooks"] = nil
        var p = c["process"] as? [String: Any] ?? [:]
        p["apparmorProfile"] = nil
        p["rlimits"] = (p["rlimits"] as? [[String: Any]])?.map { r -> [String: Any] in
            var r = r
            r["hard"] = min(r["hard"] as? Int ?? 1024, 1024)
            r["soft"] = min(r["soft"] as? Int ?? 1024, 1024)
            return r
        }
        c["process"] = p
        let source = s.dir + "/bind-source"
        FileManager.default.createFile(atPath: source, contents: Data("nameserver 192.0.2.1\n".utf8))
        var mounts = (c["mounts"] as? [[String: Any]] ?? []).map { m -> [String: Any] in
            var m = m
            if m["type"] as? String == "bind" { m["source"] = source }
            return m
        }
        // A cut-short fixture without /proc or /dev gets runc's defaults first, as its engine's
        // full config has them.
        let have = Set(mounts.compactMap { $0["destination"] as? String })
        mounts =
            (Harness.defaultSpec["mounts"] as? [[String: Any]] ?? []).filter {
                !have.contains($0["destination"] as? String ?? "")
            } + mounts
        c["mounts"] = mounts
        var l = c["linux"] as? [String: Any] ?? [:]
        l["mountLabel"] = nil
        // The fixtures' profiles are cut short; a real engine's allows what a program needs.
        if var sc = l["seccomp"] as? [String: Any] {
            let special = (sc["syscalls"] as? [[String: Any]] ?? []).filter {
                $0["action"] as? String != "SCMP_ACT_ALLOW"
            }
            sc["syscalls"] =
                [
                    [
                        "names": try Harness.syscallNames(except: Harness.dockerDenied.union(["clone3"])),
                        "action": "SCMP_ACT_ALLOW",
                    ]
                ] + special
            l["seccomp"] = sc
        }
        l["cgroupsPath"] = nil
        c["linux"] = l
        s.config = c
    }

    @Test(arguments: ["runc-spec", "containerd", "docker", "podman"])
    func engineShaped(_ name: String) throws {
        let s = try Sandbox("conf-\(name)")
        try Self.fixture(name, into: s)
        try Self.conform(s)
    }

    @Test func runcDefaultSpec() throws {
        try Self.conform(try Sandbox())
    }

    // MARK: - config.md

    @Test func hostnameDomainnameCwdEnv() throws {
        let s = try Sandbox()
        s.config["hostname"] = "conf-host"
        s.config["domainname"] = "conf.example"
        s.process["cwd"] = "/tmp"
        s.process["env"] = ["PATH=/bin", "A=with spaces", "EMPTY="]
        try Self.conform(s)
    }

    @Test func nonRootUserGroupsUmaskAmbientCaps() throws {
        let s = try Sandbox()
        s.process["user"] = ["uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 0o027]
        let caps = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
        s.process["capabilities"] = [
            "bounding": caps + ["CAP_CHOWN"], "effective": caps, "permitted": caps, "inheritable": caps,
            "ambient": ["CAP_NET_BIND_SERVICE"],
        ]
        try Self.conform(s)
    }

    @Test func rootWithFewCapabilities() throws {
        let s = try Sandbox()
        s.process["capabilities"] = [
            "bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
        ]
        try Self.conform(s)
    }

    @Test func rlimitsNoNewPrivilegesOomScore() throws {
        let s = try Sandbox()
        s.process["rlimits"] = [
            ["type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000], ["type": "RLIMIT_NPROC", "soft": 300, "hard": 400],
            ["type": "RLIMIT_CORE", "soft": 0, "hard": 0],
            ["type": "RLIMIT_STACK", "soft": 4_194_304, "hard": 8_388_608],
        ]
        s.process["noNewPrivileges"] = false
        s.process["oomScoreAdj"] = 500
        try Self.conform(s)
    }

    @Test func schedulerIOPriorityPersonality() throws {
        let s = try Sandbox()
        s.process["scheduler"] = ["policy": "SCHED_BATCH", "nice": 7]
        s.process["ioPriority"] = ["class": "IOPRIO_CLASS_BE", "priority": 6]
        var l = s.linux
        l["personality"] = ["domain": "LINUX32"]
        s.linux = l
        let r = try Self.conform(s)
        for field in [
            "process.scheduler.policy", "process.scheduler.nice", "process.ioPriority", "linux.personality.domain",
        ] {
            #expect(r.stdout.contains("- " + field), "\(field) was not checked:\n\(r.stdout)")
        }
    }

    /// (A real-time policy also needs cpu.rt_runtime_us in the container's cgroup, which a
    /// new v1 cpu cgroup does not have: the kernel answers EPERM, reported as such.)
    @Test func idleSchedulerAndIdleIOClass() throws {
        let s = try Sandbox()
        s.process["scheduler"] = ["policy": "SCHED_IDLE", "flags": ["SCHED_FLAG_RESET_ON_FORK"]]
        s.process["ioPriority"] = ["class": "IOPRIO_CLASS_IDLE", "priority": 0]
        try Self.conform(s)
    }

    @Test func mountsWithOptions() throws {
        let s = try Sandbox()
        let host = s.dir + "/hostdir"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts += [
            [
                "destination": "/data/tmp", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "noexec", "mode=0700", "uid=1000", "gid=1000", "size=1m"],
            ],
            [
                "destination": "/data/rotmp", "type": "tmpfs", "source": "tmpfs",
                "options": ["ro", "noatime", "mode=1777"],
            ],
            [
                "destination": "/data/bind", "type": "bind", "source": host,
                "options": ["rbind", "ro", "nosuid", "noexec", "rprivate"],
            ],
            ["destination": "/data/slave", "type": "bind", "source": host, "options": ["bind", "rslave"]],
            [
                "destination": "/data/q", "type": "mqueue", "source": "mqueue",
                "options": ["nosuid", "nodev", "noexec"],
            ],
        ]
        s.config["mounts"] = mounts
        try Self.conform(s)
    }

    @Test func readonlyRootMaskedAndReadonlyPaths() throws {
        let s = try Sandbox()
        s.config["root"] = ["path": "rootfs", "readonly": true]
        try FileManager.default.createDirectory(atPath: s.rootfs + "/secret", withIntermediateDirectories: true)
        try "x".write(toFile: s.rootfs + "/secret/key", atomically: true, encoding: .utf8)
        try "y".write(toFile: s.rootfs + "/etc/token", atomically: true, encoding: .utf8)
        var l = s.linux
        l["maskedPaths"] = ["/secret", "/etc/token", "/proc/kcore", "/does/not/exist"]
        l["readonlyPaths"] = ["/proc/sys", "/tmp", "/does/not/exist"]
        s.linux = l
        try Self.conform(s)
    }

    // MARK: - config-linux.md

    @Test func devices() throws {
        let s = try Sandbox()
        var l = s.linux
        l["devices"] = [
            ["path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600, "uid": 1, "gid": 2],
            ["path": "/dev/sda-test", "type": "b", "major": 8, "minor": 0, "fileMode": 0o640],
            ["path": "/dev/myfifo", "type": "p", "fileMode": 0o622],
        ]
        l["resources"] = [
            "devices": [
                ["allow": false, "access": "rwm"],
                ["allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"],
            ]
        ]
        s.linux = l
        try Self.conform(s)
    }

    @Test func namespacedSysctls() throws {
        let s = try Sandbox()
        var l = s.linux
        l["sysctl"] = [
            "kernel.shmmax": "4096000", "kernel.msgmax": "16384", "net.ipv4.ip_forward": "1",
            "net.ipv4.ip_local_port_range": "2000 3000",
        ]
        s.linux = l
        try Self.conform(s)
    }

    @Test(arguments: ["network", "ipc", "uts", "pid"])
    func withoutNamespace(_ type: String) throws {
        let s = try Sandbox("conf-no-\(type)")
        var l = s.linux
        l["namespaces"] = (l["namespaces"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != type }
        s.linux = l
        if type == "uts" { s.config["hostname"] = nil }
        try Self.conform(s)
    }

    @Test func cgroupAndTimeNamespacesWithLimits() throws {
        let s = try Sandbox()
        var l = s.linux
        var ns = l["namespaces"] as? [[String: Any]] ?? []
        ns += [["type": "cgroup"], ["type": "time"]]
        l["namespaces"] = ns
        l["timeOffsets"] = ["monotonic": ["secs": 86400, "nanosecs": 0], "boottime": ["secs": 3600, "nanosecs": 500]]
        l["resources"] = [
            "pids": ["limit": 64], "memory": ["limit": 64 << 20],
            "cpu": ["shares": 512, "quota": 20000, "period": 100000],
        ]
        s.linux = l
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append([
            "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
        ])
        s.config["mounts"] = mounts
        let r = try Self.conform(s)
        for field in [
            "linux.resources.pids.limit", "linux.resources.memory.limit", "linux.resources.cpu",
            "linux.timeOffsets.monotonic",
            "linux.timeOffsets.boottime", "linux.namespaces time is new", "cgroup namespace rooted",
        ] {
            #expect(r.stdout.contains("- " + field), "\(field) was not checked:\n\(r.stdout)")
        }
    }

    @Test func userNamespaceWithMappings() throws {
        let s = try Sandbox()
        UserNamespaceTests.userns(s, host: 200_000)
        s.process["user"] = ["uid": 1000, "gid": 1000, "additionalGids": [5]]
        let r = try Self.conform(s)
        #expect(r.stdout.contains("- linux.namespaces user is new"), "\(r.stdout)")
    }

    @Test func joinedNetworkNamespace() throws {
        let s = try Sandbox()
        let holder = try s.startDetached("holder", args: ["/bin/sleep", "60"])
        let pid = (s.state(holder)["pid"] as? Int) ?? 0
        #expect(pid > 0)
        var l = s.linux
        l["namespaces"] = (l["namespaces"] as? [[String: Any]] ?? []).map {
            $0["type"] as? String == "network" ? ["type": "network", "path": "/proc/\(pid)/ns/net"] : $0
        }
        s.linux = l
        var st = stat()
        #expect(stat("/proc/\(pid)/ns/net", &st) == 0)
        let r = try Self.conform(s, joined: "join net \(st.st_ino)\n")
        #expect(r.stdout.contains("- linux.namespaces network joined by path"), "\(r.stdout)")
    }

    @Test(arguments: ["rprivate", "rslave", "rshared", "unbindable"])
    func rootfsPropagation(_ value: String) throws {
        let s = try Sandbox("conf-prop-\(value)")
        var l = s.linux
        l["rootfsPropagation"] = value
        s.linux = l
        try Self.conform(s)
    }

    @Test func seccompFilterMode() throws {
        let s = try Sandbox()
        var l = s.linux
        l["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [["names": ["kexec_load", "open_by_handle_at"], "action": "SCMP_ACT_ERRNO"]],
        ]
        s.linux = l
        s.process["noNewPrivileges"] = true
        try Self.conform(s)
    }

    /// process.terminal with consoleSize: the checker's TAP comes back through the pty the
    /// console socket received.
    @Test func terminalAndConsoleSize() throws {
        let s = try Sandbox()
        let data = try Self.installChecker(s)
        s.process["terminal"] = true
        s.process["consoleSize"] = ["height": 31, "width": 97]
        let id = s.id("k")
        s.freshCgroup(id)
        try s.writeConfig()
        try FileManager.default.copyItem(atPath: s.bundle + "/config.json", toPath: data + "/config.json")
        try Self.hostNamespaces().write(toFile: data + "/hostns", atomically: true, encoding: .utf8)
        let (recv, sock, outPath) = try s.probeServer("recvtty", "tty")
        let r = s.swrun(["run", "-d", "--console-socket", sock, "--bundle", s.bundle, id])
        #expect(r.code == 0, "\(r.stderr)")
        recv.waitUntilExit()
        let out = try String(contentsOfFile: outPath, encoding: .utf8).replacingOccurrences(of: "\r", with: "")
        let lines = out.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("not ok") }, "\(lines.filter { $0.hasPrefix("not ok") })")
        #expect(
            out.contains("ok") && out.contains("- process.consoleSize")
                && out.contains("- process.terminal: /dev/console is the pty"), "\(out.prefix(600))")
        #expect(lines.filter { $0.hasPrefix("ok ") }.count >= 40)
    }

    // MARK: - The checker itself can fail

    @Test func checkerCatchesAMismatch() throws {
        let s = try Sandbox()
        s.config["hostname"] = "applied"
        let r = try Self.conform(
            s,
            seen: { c in
                var c = c
                c["hostname"] = "claimed"
                var p = c["process"] as? [String: Any] ?? [:]
                p["oomScoreAdj"] = 321
                c["process"] = p
                return c
            }, expectPass: false)
        #expect(r.code == 1)
        #expect(
            r.stdout.contains("not ok") && r.stdout.contains("hostname: expected claimed, got applied"), "\(r.stdout)")
        #expect(r.stdout.contains("process.oomScoreAdj: expected 321"), "\(r.stdout)")
    }
}
