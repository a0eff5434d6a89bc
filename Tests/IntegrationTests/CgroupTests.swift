import Foundation
import Testing

/// Limits enforced on this host's cgroups (v1 controllers on a hybrid host; the same code
/// writes v2 files where the unified hierarchy has the controller).
@Suite("cgroup resources", .enabled(if: Harness.enabled))
struct CgroupTests {
    func setResources(_ s: Sandbox, _ r: [String: Any]) {
        var linux = s.linux
        linux["resources"] = r
        s.linux = linux
    }

    @Test func pidsLimitStopsAForkLoop() throws {
        let s = try Sandbox()
        setResources(s, ["pids": ["limit": 8]])
        s.args([
            "/bin/sh", "-c",
            "for i in $(seq 1 20); do (sleep 5 &); done 2>&1 | head -1; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids/pids.current",
        ])
        let r = try s.runContainer()
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("can't fork") == true, "the fork loop hits the limit: \(r.stdout) \(r.stderr)")
        #expect(lines.dropFirst().first == "8")
        #expect(lines.last.flatMap { Int($0) } ?? 99 <= 8, "never more than 8 tasks: \(r.stdout)")
    }

    @Test func memoryLimitOOMKillsAndEventsReportIt() throws {
        let s = try Sandbox()
        setResources(s, ["memory": ["limit": 16 << 20, "swap": 16 << 20]])
        let id = try s.startDetached(
            "oom", args: ["/bin/sh", "-c", "sleep 0.5; x=$(yes | head -c 64000000); echo survived ${#x}"])
        let events = Harness.run([Harness.binary, "--root", s.root, "events", "--interval", "100ms", id], timeout: 20)
        #expect(
            events.stdout.contains("{\"type\":\"oom\",\"id\":\"\(id)\"}"),
            "events: \(events.stdout.suffix(300)) \(events.stderr)")
        #expect(s.swrun(["delete", "-f", id]).code == 0)
    }

    @Test func cpuAndMemoryFilesFromInside() throws {
        let s = try Sandbox()
        setResources(s, ["cpu": ["shares": 512, "quota": 25000, "period": 100000], "memory": ["limit": 64 << 20]])
        s.args([
            "/bin/cat", "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ])
        let r = try s.runContainer()
        #expect(r.stdout == "512\n25000\n\(64 << 20)\n", "\(r.stdout) \(r.stderr)")
    }

    /// A v1 memory hierarchy takes disableOOMKiller even on a hybrid host whose unified
    /// hierarchy cannot (runtime-tools' linux_cgroups_memory found it refused).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.oom_control")))
    func disableOOMKillerOnV1Memory() throws {
        let s = try Sandbox()
        setResources(s, ["memory": ["limit": 64 << 20, "disableOOMKiller": true]])
        s.args(["/bin/cat", "/sys/fs/cgroup/memory/memory.oom_control"])
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout.contains("oom_kill_disable 1"), "\(r.stdout) \(r.stderr)")
    }

    /// A block device node (loop0's number) outside runc's default list: the devices cgroup
    /// refuses its open (EPERM) unless a rule allows it (then it opens, or says ENXIO).
    @Test func devicesCgroupDeniesUnlistedDevices() throws {
        let s = try Sandbox()
        let made = Harness.run(["/bin/mknod", s.rootfs + "/loopx", "b", "7", "0"])
        #expect(made.code == 0, "\(made.stderr)")
        s.args(["/bin/sh", "-c", "head -c1 /dev/zero | wc -c; swrun-probe write /loopx; true"])
        setResources(s, ["devices": [["allow": false, "access": "rwm"]]])
        let denied = try s.runContainer()
        #expect(
            denied.stdout == "1\nEPERM\n",
            "default devices stay usable, others are refused: \(denied.stdout) \(denied.stderr)")
        setResources(
            s,
            [
                "devices": [
                    ["allow": false, "access": "rwm"],
                    ["allow": true, "type": "b", "major": 7, "minor": 0, "access": "rw"],
                ]
            ])
        let allowed = try s.runContainer()
        #expect(
            allowed.stdout.hasPrefix("1\n") && !allowed.stdout.contains("EPERM"),
            "an allowed device opens: \(allowed.stdout) \(allowed.stderr)")
    }

    @Test func updateChangesLimitsOfARunningContainer() throws {
        let s = try Sandbox()
        let id = try s.startDetached("upd", args: ["/bin/sleep", "60"])
        // Docker's shape, on stdin.
        let json =
            #"{"memory":{"limit":67108864,"reservation":0,"swap":134217728,"kernel":0},"cpu":{"shares":0,"quota":50000,"period":100000},"pids":{"limit":50},"blockIO":{"weight":0}}"#
        let u = s.swrun(["update", "--resources", "-", id], stdin: json)
        #expect(u.code == 0, "\(u.stderr)")
        let st1 = s.swrun(["events", "--stats", id]).stdout
        #expect(st1.contains("\"limit\":67108864") && st1.contains("\"pids\":{\"current\":1,\"limit\":50}"), "\(st1)")
        #expect(
            s.swrun([
                "update", "--memory", "96m", "--memory-swap", "192m", "--pids-limit", "-1", "--cpu-quota", "20000", id,
            ]).code == 0)
        let st2 = s.swrun(["events", "--stats", id]).stdout
        #expect(st2.contains("\"limit\":\(96 << 20)"), "\(st2)")
        #expect(st2.contains("\"pids\":{\"current\":1,\"limit\":18446744073709551615}"))
        let bad = s.swrun(["update", "--memory", "lots", id])
        #expect(bad.code != 0 && bad.stderr.contains("--memory"))
        #expect(s.swrun(["delete", "-f", id]).code == 0)
        #expect(s.swrun(["update", "--pids-limit", "5", id]).stderr.contains("does not exist"))
    }

    @Test func joiningAnExistingCgroupLeavesItInPlace() throws {
        let s = try Sandbox()
        let layoutLine = (try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)).split(separator: "\n").first
        { $0.contains(":pids:") }
        let own = layoutLine.map { String($0.split(separator: ":", maxSplits: 2)[2]) } ?? "/"
        let name = "swrun-existing-\(getpid())"
        let dir = "/sys/fs/cgroup/pids" + (own == "/" ? "" : own) + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { rmdir(dir) }
        var linux = s.linux
        linux["cgroupsPath"] = name
        s.linux = linux
        s.args(["/bin/cat", "/proc/self/cgroup"])
        try s.writeConfig()
        let r = s.swrun(["run", "--bundle", s.bundle, s.id("ex")])
        #expect(r.code == 0 && r.stdout.contains("pids:") && r.stdout.contains(name), "\(r.stdout) \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir), "a cgroup swrun did not create is not removed")
    }

    @Test func unavailableControllerIsAnError() throws {
        let s = try Sandbox()
        setResources(s, ["hugepageLimits": [["pageSize": "3MB", "limit": 1]]])
        let r = try s.runContainer()
        #expect(r.code == 1, "a limit that cannot be applied fails create: \(r.stdout)")
        #expect(r.stderr.contains("hugepageLimits") || r.stderr.contains("hugetlb"), "\(r.stderr)")
        // rdma is parsed but not implemented: refused, not dropped.
        setResources(s, ["rdma": ["mlx": ["hcaHandles": 1]]])
        let rdma = try s.runContainer()
        #expect(
            rdma.code == 1 && rdma.stderr.contains("linux.resources.rdma: the rdma controller is not supported"),
            "\(rdma.stderr)")
    }

    /// The record names the driver and the leaves pause and status read; a record written
    /// before drivers were recorded (no cgroupDriver) is still understood: pause, resume,
    /// exec and delete work on it and remove its cgroups.
    @Test func recordNamesTheDriverAndOldRecordsStillWork() throws {
        let s = try Sandbox()
        let id = try s.startDetached("rec", args: ["/bin/sleep", "60"])
        let path = s.root + "/" + id + "/state.json"
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            ?? [:]
        let leaves = state["cgroupLeaves"] as? [String] ?? []
        #expect(state["cgroupDriver"] as? String == "cgroupfs-v1", "\(state)")
        #expect((state["cgroupFreezer"] as? String)?.hasPrefix("/sys/fs/cgroup/freezer/") == true)
        #expect(state["systemdUnit"] == nil)
        var old = state
        for k in ["cgroupDriver", "cgroupFreezer", "cgroupUnified"] { old[k] = nil }
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: path))
        #expect(s.swrun(["pause", id]).code == 0)
        #expect(s.swrun(["state", id]).stdout.contains("\"paused\""))
        #expect(s.swrun(["resume", id]).code == 0)
        let e = s.swrun(["exec", id, "/bin/true"])
        #expect(e.code == 0, "\(e.stderr)")
        #expect(s.swrun(["delete", "-f", id]).code == 0)
        for leaf in leaves { #expect(!FileManager.default.fileExists(atPath: leaf), "\(leaf) removed") }
    }
}
