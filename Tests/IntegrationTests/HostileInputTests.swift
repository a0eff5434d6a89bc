import Foundation
import Testing

/// Hostile and malformed input (issue #19): whatever the config, the bundle or the command
/// line holds, swrun exits 1 with one error line naming the field, writes exactly one JSON
/// line with --log, does not trap, hang or read without bound, and leaves nothing behind.
@Suite("hostile input", .enabled(if: Harness.enabled))
struct HostileInputTests {
    /// create with the sandbox's config (or `bundle`): exit 1, the message on stderr, one
    /// JSON line in the log, nothing left, within `seconds`.
    func refuses(_ s: Sandbox, _ message: String, bundle: String? = nil, extra: [String] = [], seconds: Double = 10)
        throws
    {
        let id = s.id("h")
        s.freshCgroup(id)
        if bundle == nil { try s.writeConfig() }
        let log = s.dir + "/log-\(id).json"
        let started = Date()
        let r = Harness.run(
            [
                Harness.binary, "--root", s.root, "--log", log, "--log-format", "json", "create", "--bundle",
                bundle ?? s.bundle,
            ] + extra + [id], timeout: 60)
        #expect(Date().timeIntervalSince(started) < seconds, "took \(Date().timeIntervalSince(started)) s")
        #expect(r.code == 1, "exit \(r.code): \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one error line: \(r.stderr)")
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("\"level\":\"error\""), "exactly one JSON line: \(lines)")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id), "no state left")
        #expect(Sandbox.cgroupDirs(named: id).isEmpty, "no cgroup left")
    }

    /// config.json that never ends (/dev/zero), is random (/dev/urandom) or is a FIFO: read
    /// only as a bounded regular file.
    @Test(arguments: ["/dev/zero", "/dev/urandom", "fifo", "directory"])
    func configThatIsNotARegularFile(_ kind: String) throws {
        let s = try Sandbox()
        let path = s.bundle + "/config.json"
        try? FileManager.default.removeItem(atPath: path)
        switch kind {
        case "fifo": #expect(mkfifo(path, 0o644) == 0)
        case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        default: try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: kind)
        }
        try refuses(s, kind == "directory" ? "config.json" : "config.json: not a regular file", bundle: s.bundle)
    }

    /// The image's /etc/passwd as a FIFO: a user name is looked up without hanging.
    @Test func passwdThatIsAFIFO() throws {
        let s = try Sandbox()
        try FileManager.default.removeItem(atPath: s.rootfs + "/etc/passwd")
        #expect(mkfifo(s.rootfs + "/etc/passwd", 0o644) == 0)
        s.process["user"] = ["uid": 0, "gid": 0, "username": "alice"]
        try refuses(s, "process.user.username: no user \"alice\" in the container's /etc/passwd")
    }

    @Test(arguments: ["2147483647", "4294967296"])
    func preserveFdsBeyondTheOpenFileLimit(_ n: String) throws {
        let s = try Sandbox()
        try refuses(s, "--preserve-fds \(n): more descriptors than the open-file limit", extra: ["--preserve-fds", n])
    }

    /// A cgroupsPath through a file fails at once (it retried rmdir for seconds).
    @Test func cgroupsPathThroughAFile() throws {
        let s = try Sandbox()
        let id = s.id("cgf")
        s.linux["cgroupsPath"] = "\(s.cgroupParent)/cgroup.procs/\(id)"
        try s.writeConfig()
        let started = Date()
        let r = s.swrun(["create", "--bundle", s.bundle, id])
        #expect(
            r.code == 1 && Date().timeIntervalSince(started) < 3, "\(Date().timeIntervalSince(started)) s: \(r.stderr)")
        #expect(r.stderr.contains("create cgroup"), "\(r.stderr)")
    }

    @Test func tooManyMounts() throws {
        let s = try Sandbox()
        s.config["mounts"] = Array(
            repeating: ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs"] as [String: Any], count: 100_000)
        try refuses(s, "mounts: 100000 entries, more than the 4096 swrun takes")
    }

    /// A seccomp profile the kernel could never load (past 4096 instructions): refused at
    /// create, fast, with the size (it used to compile for over a minute, then fail at start).
    @Test func seccompProfileTooLargeForTheKernel() throws {
        let s = try Sandbox()
        let rules: [[String: Any]] = (0..<5000).map {
            [
                "names": ["getpgid"], "action": "SCMP_ACT_ERRNO",
                "args": [["index": 0, "value": $0, "op": "SCMP_CMP_EQ"]],
            ]
        }
        s.linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": rules,
        ]
        try refuses(
            s,
            "linux.seccomp: 5000 rules for 1 architecture(s) cannot fit the kernel's limit of 4096 filter instructions",
            seconds: 5)
    }

    /// Every seccomp rule is validated, also one whose action is the default action.
    @Test func seccompRuleEqualToTheDefaultIsStillValidated() throws {
        let s = try Sandbox()
        s.linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                [
                    "names": ["getpgid"], "action": "SCMP_ACT_ALLOW",
                    "args": [["index": 9, "value": 1, "op": "SCMP_CMP_EQ"]],
                ]
            ],
        ]
        try refuses(s, "linux.seccomp.syscalls[0].args[0].index: 9 is out of range 0..5")
    }

    /// A bad poststop (or poststart) hook is refused before anything exists: the id can be
    /// used again at once (it said "already exists" while state said it did not).
    @Test(arguments: 0..<3)
    func badHooksLeaveNothing(_ which: Int) throws {
        let hook: [String: Any] = [
            ["path": "relative/hook"], ["path": "/bin/true", "timeout": 0],
            ["path": "/bin/true", "timeout": 9_007_199_254_740_993],
        ][which]
        let s = try Sandbox()
        for kind in ["poststop", "poststart"] {
            s.config["hooks"] = [kind: [hook]]
            try refuses(s, "hooks.\(kind)[0]")
        }
        s.config["hooks"] = nil
        let ok = try s.runContainer()
        #expect(ok.code == 0, "\(ok.stderr)")
    }

    /// Invalid JSON is refused with its line and column (RFC 8259), and a malformed number
    /// is a syntax error, not a range error.
    @Test(arguments: ["+0", "00", "010", "e", ".", "+-+", "0e", "1.", "-", ".5"])
    func invalidJSONNumbers(_ token: String) throws {
        let s = try Sandbox()
        try "{\"ociVersion\": \"1.0.2\",\n \"process\": {\"user\": {\"uid\": \(token), \"gid\": 0}, \"cwd\": \"/\"}}"
            .write(toFile: s.bundle + "/config.json", atomically: true, encoding: .utf8)
        try refuses(s, "invalid JSON at line 2", bundle: s.bundle)
    }

    /// 20 MB of environment is refused at create, with the field, not at exec.
    @Test func environmentBeyondArgMax() throws {
        let s = try Sandbox()
        s.process["env"] = (0..<160).map { "V\($0)=" + String(repeating: "x", count: 130_000) }
        try refuses(s, "process.args and process.env:")
        s.process["env"] = ["BIG=" + String(repeating: "y", count: 200_000)]
        try refuses(s, "process.env[0]: 200004 bytes, more than execve takes in one string")
    }

    /// memory.limit 0 leaves the limit unset, as in runc (it was written, and the init was
    /// OOM-killed).
    @Test func memoryLimitZeroIsUnset() throws {
        let s = try Sandbox()
        s.linux["resources"] = ["memory": ["limit": 0]]
        s.args(["/bin/echo", "alive"])
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout == "alive\n", "\(r.code) \(r.stderr)")
    }

    @Test func relativeMountDestinationAndNewerOCIVersion() throws {
        let s = try Sandbox()
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "data", "type": "tmpfs", "source": "tmpfs"])
        s.config["mounts"] = mounts
        try refuses(s, "mounts[7].destination: \"data\" must be an absolute path")
        mounts.removeLast()
        s.config["mounts"] = mounts
        s.config["ociVersion"] = "1.3.0"
        try refuses(s, "ociVersion: \"1.3.0\" is outside what this swrun supports")
        s.config["ociVersion"] = "one"
        try refuses(s, "ociVersion: \"one\" is not a version")
    }

    /// The init killed during setup (a memory limit far too small) is explained, not only
    /// "exited unexpectedly".
    @Test func initKilledDuringSetupIsExplained() throws {
        let s = try Sandbox()
        s.linux["resources"] = ["memory": ["limit": 64 << 10]]
        try refuses(s, "killed by the OOM killer during setup: linux.resources.memory.limit is too small")
    }

    /// An init-side error that quotes a huge value still reaches the user, cut to fit.
    @Test func longInitErrorsAreCutNotLost() throws {
        let s = try Sandbox()
        s.config["hooks"] = ["createContainer": [["path": "/" + String(repeating: "h", count: 300_000)]]]
        try refuses(s, "bytes cut")
    }

    /// A 10 MB annotation is data: runc takes it, and it no longer travels the sync socket.
    @Test func tenMegabyteAnnotation() throws {
        let s = try Sandbox()
        s.config["annotations"] = ["big": String(repeating: "a", count: 10 << 20)]
        s.args(["/bin/true"])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(r.stderr.prefix(500))")
    }

    /// A limit the host will not grant reads as the field that asked for it (runc's words
    /// kept after it, since podman users search for them).
    @Test(
        .enabled(
            if: {
                var l = rlimit(); getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &l);
                return l.rlim_max < 1_048_576
            }()))
    func rlimitFailureNamesTheField() throws {
        let s = try Sandbox()
        s.process["rlimits"] = [["type": "RLIMIT_NOFILE", "soft": 1_048_576, "hard": 1_048_576]]
        try refuses(
            s,
            "process.rlimits[0] (RLIMIT_NOFILE, soft 1048576, hard 1048576): error setting rlimit type 7: operation not permitted"
        )
    }

    /// A failing prestart hook: one error line in --log (the init used to add "peer exited
    /// while waiting for hooksDone" before it).
    @Test func failedPrestartHookLogsOneLine() throws {
        let s = try Sandbox()
        s.config["hooks"] = ["prestart": [["path": "/bin/false"]]]
        // A race the old code lost about two times in three: ten tries.
        for _ in 0..<10 { try refuses(s, "error running prestart/createRuntime hook #0") }
    }

    /// Values are echoed at most a few hundred bytes long.
    @Test func longValuesAreCutInMessages() throws {
        let s = try Sandbox()
        let huge = String(repeating: "n", count: 100_000)
        s.linux["namespaces"] = [["type": "mount"], ["type": huge]]
        let id = s.id("long")
        s.freshCgroup(id)
        try s.writeConfig()
        let r = s.swrun(["create", "--bundle", s.bundle, id])
        #expect(
            r.code == 1 && r.stderr.contains("unknown namespace type") && r.stderr.count < 1000,
            "\(r.stderr.count) bytes")
        let kill = s.swrun(["kill", id, "RTMIN+" + huge])
        #expect(kill.code == 1 && kill.stderr.count < 1000)
    }

    /// Inputs that trapped the process (SIGILL, exit 132, no message).
    @Test func inputsThatUsedToTrap() throws {
        let s = try Sandbox()
        s.linux["devices"] = [["path": "/dev/x", "type": "c", "major": 4_294_967_297, "minor": 1]]
        try refuses(s, "linux.devices[0]: major 4294967297 and minor 1 must be in 0 to 4294967295")
        s.linux["devices"] = nil
        for shares in [1, 1 << 52] {
            s.linux["resources"] = ["cpu": ["shares": shares]]
            s.args(["/bin/true"])
            let r = try s.runContainer()
            #expect(r.code == 0, "cpu.shares \(shares): exit \(r.code) \(r.stderr)")
        }
        s.linux["resources"] = nil
        let id = try s.startDetached("trap", args: ["/bin/sleep", "60"])
        for (args, message) in [
            (["kill", id, "RTMIN+2147483647"], "unknown signal"),
            (["update", "--memory", "1e30k", id], "invalid value"),
            (["update", "--memory", "infk", id], "invalid value"),
            (["events", "--interval", "1e300s", id], "invalid interval"),
            (["events", "--interval", "infs", id], "invalid interval"),
        ] {
            let r = s.swrun(args)
            #expect(r.code == 1 && r.stderr.contains(message), "\(args): exit \(r.code) \(r.stderr)")
        }
    }
}
