import Foundation
import Testing

/// Every bad input: a clear error naming the field or path, exit 1, a JSON error line in
/// --log, and nothing left behind.
@Suite("errors", .enabled(if: Harness.enabled))
struct ErrorTests {
    func assertNothingLeft(_ s: Sandbox, _ id: String) {
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id), "state dir left behind")
        #expect(Sandbox.cgroupDirs(named: id).isEmpty, "cgroup left behind")
    }

    func expectFailure(_ s: Sandbox, _ contains: String, bundle: String? = nil) throws {
        let id = s.id("e")
        s.freshCgroup(id)
        if bundle == nil { try s.writeConfig() }
        let log = s.dir + "/log-\(id).json"
        let r = s.swrun(["create", "--bundle", bundle ?? s.bundle, id], log: log, format: "json")
        #expect(r.code == 1)
        #expect(r.stderr.contains(contains), "stderr: \(r.stderr)")
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 1, "a failed create logs exactly one line (podman parses the file as one object)")
        if let line = lines.first,
            let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        {
            #expect(Set(obj.keys) == ["level", "msg", "time"])
            #expect(obj["level"] == "error" && (obj["msg"] ?? "").contains(contains))
            #expect(ISO8601DateFormatter().date(from: obj["time"] ?? "") != nil, "time is RFC 3339")
        } else {
            Issue.record("log line is not a JSON object: \(lines)")
        }
        assertNothingLeft(s, id)
    }

    @Test func missingBundle() throws {
        let s = try Sandbox()
        try expectFailure(s, "no such file or directory", bundle: s.dir + "/nope")
    }

    @Test func badJSON() throws {
        let s = try Sandbox()
        try "{\"ociVersion\": \"1.0.2\", \"process\": {".write(
            toFile: s.bundle + "/config.json", atomically: true, encoding: .utf8)
        try expectFailure(s, "config.json", bundle: s.bundle)
    }

    @Test func wrongTypeNamesTheField() throws {
        let s = try Sandbox()
        s.process["args"] = "not-an-array"
        try expectFailure(s, "process.args")
    }

    @Test func unknownNamespaceType() throws {
        let s = try Sandbox()
        var linux = s.linux
        linux["namespaces"] = [["type": "mount"], ["type": "bogus"]]
        s.linux = linux
        try expectFailure(s, "linux.namespaces[1].type: unknown namespace type \"bogus\"")
    }

    /// Without a mount namespace the config's mounts would land in the host's mount table.
    @Test func noMountNamespace() throws {
        let s = try Sandbox()
        var l = s.linux
        l["namespaces"] = (l["namespaces"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "mount" }
        s.linux = l
        try expectFailure(s, "linux.namespaces: a mount namespace is required")
    }

    /// Network limits need a v1 net_cls/net_prio hierarchy (cgroup v2 has none): without
    /// one they fail create instead of being dropped.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/net_cls")))
    func networkLimitsWithoutNetCls() throws {
        let s = try Sandbox()
        var l = s.linux
        l["resources"] = ["network": ["classID": 1048577]]
        s.linux = l
        try expectFailure(s, "linux.resources.network.classID: the net_cls controller is not available")
    }

    @Test func badSchedulingAndPersonality() throws {
        let s = try Sandbox()
        s.process["scheduler"] = ["policy": "SCHED_FAST"]
        try expectFailure(s, "process.scheduler.policy: unknown policy \"SCHED_FAST\"")
        s.process["scheduler"] = nil
        s.process["ioPriority"] = ["class": "IOPRIO_CLASS_BE", "priority": 9]
        try expectFailure(s, "process.ioPriority.priority: 9 is outside 0..7")
        s.process["ioPriority"] = nil
        var l = s.linux
        l["personality"] = ["domain": "SVR4"]
        s.linux = l
        try expectFailure(s, "linux.personality.domain: unknown domain \"SVR4\"")
    }

    @Test func unknownCapability() throws {
        let s = try Sandbox()
        s.process["capabilities"] = ["bounding": ["CAP_NOT_A_CAP"]]
        try expectFailure(s, "unknown capability \"CAP_NOT_A_CAP\"")
    }

    @Test func unknownRlimit() throws {
        let s = try Sandbox()
        s.process["rlimits"] = [["type": "RLIMIT_BOGUS", "soft": 1, "hard": 1]]
        try expectFailure(s, "process.rlimits[0].type")
    }

    @Test func missingRootfs() throws {
        let s = try Sandbox()
        s.config["root"] = ["path": "no-such-rootfs"]
        try expectFailure(s, "root.path")
    }

    @Test func missingExecutable() throws {
        let s = try Sandbox()
        s.args(["/nonexistent"])
        try expectFailure(s, "exec: \"/nonexistent\": stat /nonexistent: no such file or directory")
        s.args(["nonexistent"])
        try expectFailure(s, "executable file not found in $PATH")
    }

    @Test func badCwd() throws {
        let s = try Sandbox()
        s.process["cwd"] = "/no/such/dir"
        try expectFailure(s, "no such file or directory")
    }

    @Test func hostnameWithoutUTSNamespace() throws {
        let s = try Sandbox()
        s.config["hostname"] = "x"
        var linux = s.linux
        linux["namespaces"] = [["type": "mount"], ["type": "pid"]]
        s.linux = linux
        try expectFailure(s, "UTS namespace")
    }

    @Test func badMountSource() throws {
        let s = try Sandbox()
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/x", "type": "bind", "source": "/no/such/source", "options": ["bind"]])
        s.config["mounts"] = mounts
        try expectFailure(s, "/no/such/source")
    }

    @Test func badFilesystemOption() throws {
        let s = try Sandbox()
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["notanoption=1"]])
        s.config["mounts"] = mounts
        try expectFailure(
            s,
            "mounts[7] (tmpfs on \"/x\"): fsconfig notanoption=1 /x: invalid argument (kernel: tmpfs: Unknown parameter 'notanoption')"
        )
    }

    @Test func invalidIDAndUsage() throws {
        let s = try Sandbox()
        try s.writeConfig()
        let bad = s.swrun(["create", "--bundle", s.bundle, "a/b"])
        #expect(bad.code == 1 && bad.stderr.contains("invalid container ID format"))
        let unknown = s.swrun(["--no-such-flag", "list"])
        #expect(unknown.code == 1 && unknown.stderr.contains("flag provided but not defined: -no-such-flag"))
        let missing = s.swrun(["create"])
        #expect(missing.code == 1 && missing.stderr.contains("requires exactly 1 argument(s)"))
        let noValue = s.swrun(["--root"])
        #expect(noValue.code == 1 && noValue.stderr.contains("flag needs an argument"))
        #expect(s.swrun(["state", "nope"]).stderr.contains("container does not exist"))
    }
}
