import Foundation
import Testing

/// Where swrun differed from runc on the same bundles (issue #13, "Lifecycle and CLI",
/// terminals, update, mounts, hooks, exec): each case checked with the built binary.
@Suite("runc parity", .enabled(if: Harness.enabled))
struct RuncParityTests {
    /// The v1 directory of `controller` for a container's cgroupsPath relative to this test
    /// process's own cgroup (hybrid host), nil when the controller is not a v1 hierarchy here.
    static func v1Dir(_ controller: String, _ cgroupsPath: String) -> String? {
        let own = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        for line in own.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3, f[1].split(separator: ",").contains(Substring(controller)) else { continue }
            let mount = "/sys/fs/cgroup/" + controller
            guard FileManager.default.fileExists(atPath: mount) else { return nil }
            return mount + (f[2] == "/" ? "" : String(f[2])) + "/" + cgroupsPath
        }
        return nil
    }

    /// A cgroup that is already frozen would freeze the init before it could answer: create
    /// is refused with runc's error, at once (it waited forever).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/freezer")))
    func frozenCgroupIsRefused() throws {
        let s = try Sandbox()
        let id = s.id("frz")
        let path = "\(s.cgroupParent)/\(id)"
        s.linux["cgroupsPath"] = path
        guard let dir = Self.v1Dir("freezer", path) else { Issue.record("no v1 freezer for this process"); return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "FROZEN".write(toFile: dir + "/freezer.state", atomically: false, encoding: .utf8)
        defer {
            try? "THAWED".write(toFile: dir + "/freezer.state", atomically: false, encoding: .utf8)
            rmdir(dir)
        }
        try s.writeConfig()
        let started = Date()
        let r = Harness.run([Harness.binary, "--root", s.root, "create", "--bundle", s.bundle, id], timeout: 30)
        #expect(r.code == 1, "\(r.code): \(r.stderr)")
        #expect(r.stderr.contains("container's cgroup unexpectedly frozen"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id))
    }

    /// delete removes the cgroups made inside the container's, deepest first (runc does); it
    /// failed with EBUSY and left everything.
    @Test func deleteRemovesNestedCgroups() throws {
        let s = try Sandbox()
        let id = try s.startDetached("nest", args: ["/bin/sleep", "60"])
        let leaves = Sandbox.cgroupDirs(named: id)
        #expect(!leaves.isEmpty)
        for leaf in leaves {
            try FileManager.default.createDirectory(atPath: leaf + "/inner/deeper", withIntermediateDirectories: true)
        }
        // A process in a nested cgroup, as a nested runtime would leave it.
        if let mem = leaves.first(where: { $0.contains("/memory/") }) {
            _ = s.swrun(["exec", "-d", id, "/bin/sleep", "60"])
            let pids = ((try? String(contentsOfFile: mem + "/cgroup.procs", encoding: .utf8)) ?? "").split(
                separator: "\n")
            if let last = pids.last {
                try? String(last).write(toFile: mem + "/inner/deeper/cgroup.procs", atomically: false, encoding: .utf8)
            }
        }
        let r = s.swrun(["delete", "-f", id])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(Sandbox.cgroupDirs(named: id).isEmpty, "every cgroup of the container is gone")
    }

    /// A `run -d` killed after the handover used to leave `state` saying stopped (pid 0)
    /// while the program ran: status follows the recorded init whenever there is one. The
    /// record is put in the state such a kill leaves (setup not marked complete, creator gone).
    @Test func statusFollowsTheInitWhenTheCreatorDied() throws {
        let s = try Sandbox()
        let id = try s.startDetached("kd", args: ["/bin/sleep", "60"])
        let statePath = s.root + "/" + id + "/state.json"
        var record =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any]
            ?? [:]
        record["setupComplete"] = false
        record["creatorPid"] = 999_999
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: statePath))
        #expect(s.state(id)["status"] as? String == "running", "\(s.state(id))")
        #expect((s.state(id)["pid"] as? Int ?? 0) > 0)
        #expect(s.swrun(["exec", id, "/bin/true"]).code == 0)
        #expect(s.swrun(["kill", id, "KILL"]).code == 0)
    }

    /// A `delete` that waited for the lock while its container was removed and the id made
    /// again must not remove the new container: the lock is re-checked against the path.
    @Test func staleDeleteDoesNotRemoveARecreatedContainer() throws {
        let s = try Sandbox()
        let id = s.id("race")
        s.freshCgroup(id)
        s.args(["/bin/sleep", "60"])
        try s.writeConfig()
        #expect(s.swrun(["run", "-d", "--bundle", s.bundle, id]).code == 0)
        let dir = s.root + "/" + id
        // Hold the container directory's lock, as a slow command would.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [dir, "/bin/sleep", "30"]
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        for _ in 0..<200 where !((try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? "").contains("FLOCK")
        { usleep(10_000) }
        let deleter = Process()
        deleter.executableURL = URL(fileURLWithPath: Harness.binary)
        deleter.arguments = ["--root", s.root, "delete", "--force", id]
        try deleter.run()
        // The delete waits for the lock (a blocked request shows as "->" in /proc/locks).
        for _ in 0..<300 where !((try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? "").contains("->") {
            usleep(10_000)
        }
        // Meanwhile the container goes away by other means and the id is created again.
        let initPid = s.state(id)["pid"] as? Int32 ?? 0
        if initPid > 0 { kill(initPid, SIGKILL) }
        // (Moved to a state root of its own, so that it can be deleted at the end: its
        // cgroup would be left behind otherwise.)
        let oldRoot = s.dir + "/old-root"
        try FileManager.default.createDirectory(atPath: oldRoot, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: dir, toPath: oldRoot + "/" + id)
        s.freshCgroup(id + "b")
        try s.writeConfig()
        let again = s.swrun(["run", "-d", "--bundle", s.bundle, id])
        #expect(again.code == 0, "\(again.stderr)")
        holder.terminate()
        deleter.waitUntilExit()
        #expect(deleter.terminationStatus == 0, "delete --force of a container that is gone exits 0")
        #expect(
            s.state(id)["status"] as? String == "running", "the new container survived the stale delete: \(s.state(id))"
        )
        s.swrun(["delete", "-f", id])
        #expect(Harness.run([Harness.binary, "--root", oldRoot, "delete", "--force", id]).code == 0)
        #expect(Sandbox.cgroupDirs(named: id).isEmpty, "the first container's cgroup is gone too")
    }

    /// exec failures exit 255 with runc's "exec failed: " (clients and scripts test for it).
    @Test func execFailuresExit255() throws {
        let s = try Sandbox()
        let missing = s.swrun(["exec", "no-such-container", "/bin/true"])
        #expect(
            missing.code == 255 && missing.stderr.contains("exec failed: container does not exist"),
            "\(missing.code) \(missing.stderr)")
        let id = try s.startDetached("x255", args: ["/bin/sleep", "60"])
        let noBinary = s.swrun(["exec", id, "/nonexistent"])
        #expect(noBinary.code == 255, "\(noBinary.code)")
        #expect(
            noBinary.stderr.contains("exec failed: unable to start container process: exec: ")
                && noBinary.stderr.contains("stat /nonexistent: no such file or directory"), "\(noBinary.stderr)")
        // A usage error stays a usage error (exit 1).
        #expect(s.swrun(["exec", "--nope", id, "/bin/true"]).code == 1)
    }

    /// kill 0 checks the container (runc passes 0 on); kill --all of a stopped container
    /// and ps of one succeed (their cgroups hold nothing); run --keep keeps it for delete.
    @Test func killPsAndKeepOfStoppedContainers() throws {
        let s = try Sandbox()
        let id = try s.startDetached("k0", args: ["/bin/sleep", "60"])
        #expect(s.swrun(["kill", id, "0"]).code == 0)
        s.args(["/bin/sh", "-c", "exit 3"])
        let kept = s.id("keep")
        s.freshCgroup(kept)
        try s.writeConfig()
        let r = s.swrun(["run", "--keep", "--bundle", s.bundle, kept])
        #expect(r.code == 3)
        #expect(s.state(kept)["status"] as? String == "stopped", "--keep leaves the stopped container")
        let zero = s.swrun(["kill", kept, "0"])
        #expect(zero.code == 1 && zero.stderr.contains("container not running"))
        #expect(s.swrun(["kill", "--all", kept, "KILL"]).code == 0)
        let ps = s.swrun(["ps", kept])
        #expect(
            ps.code == 0 && ps.stdout.contains("PID") && ps.stdout.split(separator: "\n").count == 1,
            "\(ps.stdout) \(ps.stderr)")
        let psj = s.swrun(["ps", "--format", "json", kept])
        #expect(psj.code == 0 && psj.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(psj.stdout)")
        #expect(s.swrun(["delete", kept]).code == 0)
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + kept))
    }

    /// A process.json without `user` is uid 0, as runc's decoder leaves it.
    @Test func execProcessWithoutUserIsRoot() throws {
        let s = try Sandbox()
        s.process["user"] = ["uid": 1000, "gid": 1000]
        let id = try s.startDetached("nouser", args: ["/bin/sleep", "60"])
        let r = s.swrun(["exec", "--process", "/dev/stdin", id], stdin: #"{"args":["/bin/id","-u"],"cwd":"/"}"#)
        #expect(r.code == 0 && r.stdout == "0\n", "\(r.stdout) \(r.stderr)")
    }

    /// The process's stdio pipes and its pty belong to the container's user (runc's
    /// fixStdioPermissions), so a non-root process can reopen /dev/stdout.
    @Test func stdioBelongsToTheContainersUser() throws {
        let s = try Sandbox()
        s.process["user"] = ["uid": 1000, "gid": 1000]
        s.args(["/bin/sh", "-c", "stat -L -c %u /dev/stdout; echo reopened > /dev/stdout"])
        let id = s.id("stdio")
        s.freshCgroup(id)
        try s.writeConfig()
        // Through a pipe, as containerd and conmon hand it over.
        let r = Harness.run([
            "/bin/sh", "-c", "\(Harness.binary) --root \(s.root) run --bundle \(s.bundle) \(id) | cat",
        ])
        #expect(r.stdout == "1000\nreopened\n", "\(r.stdout) \(r.stderr)")
        // A regular file the caller redirected to stays the caller's.
        let file = s.dir + "/out"
        let id2 = s.id("stdio")
        s.freshCgroup(id2)
        try s.writeConfig()
        _ = Harness.run([
            "/bin/sh", "-c", "\(Harness.binary) --root \(s.root) run --bundle \(s.bundle) \(id2) > \(file) 2>&1",
        ])
        let attrs = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attrs[.ownerAccountID] as? NSNumber)?.intValue == 0, "a host file is never given away")
    }

    /// update: --memory -1 after a swap limit lifts the swap limit too (runc's rule on v1).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")))
    func updateMemoryUnlimitedLiftsSwap() throws {
        let s = try Sandbox()
        var l = s.linux
        l["resources"] = ["memory": ["limit": 64 << 20, "swap": 128 << 20]]
        s.linux = l
        let id = try s.startDetached("mem", args: ["/bin/sleep", "60"])
        let r = s.swrun(["update", "--memory", "-1", id])
        #expect(r.code == 0, "\(r.stderr)")
        guard let mem = Sandbox.cgroupDirs(named: id).first(where: { $0.contains("/memory/") }) else {
            Issue.record("no memory cgroup"); return
        }
        let memsw = try String(contentsOfFile: mem + "/memory.memsw.limit_in_bytes", encoding: .utf8)
        let limit = try String(contentsOfFile: mem + "/memory.limit_in_bytes", encoding: .utf8)
        #expect(
            limit == memsw && (UInt64(limit.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 1 << 40,
            "memory \(limit) memsw \(memsw)")
    }

    /// update of CFS period and quota through a state the kernel refuses when written in one
    /// order (a period smaller than the current one, under a parent with a quota): written
    /// again after the quota, as runc does.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cpu/cpu.cfs_period_us")))
    func updateCPUPeriodQuotaInEitherOrder() throws {
        let s = try Sandbox()
        var l = s.linux
        l["resources"] = ["cpu": ["quota": 50000, "period": 100_000]]
        s.linux = l
        let id = try s.startDetached("cfs", args: ["/bin/sleep", "60"])
        guard let cpu = Sandbox.cgroupDirs(named: id).first(where: { $0.contains("/cpu,") || $0.contains("/cpu/") })
        else { Issue.record("no cpu cgroup"); return }
        let parent = (cpu as NSString).deletingLastPathComponent
        try "100000".write(toFile: parent + "/cpu.cfs_period_us", atomically: false, encoding: .utf8)
        try "60000".write(toFile: parent + "/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
        let r = s.swrun(["update", "--cpu-period", "10000", "--cpu-quota", "5000", id])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: cpu + "/cpu.cfs_period_us", encoding: .utf8).hasPrefix("10000\n"))
        #expect(try String(contentsOfFile: cpu + "/cpu.cfs_quota_us", encoding: .utf8).hasPrefix("5000\n"))
        s.swrun(["delete", "-f", id])
        try? "-1".write(toFile: parent + "/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
    }

    /// Realtime CPU settings go to the v1 cpu controller on a hybrid host (the unified
    /// hierarchy's rules refused them there).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cpu/cpu.rt_period_us")))
    func realtimeCPUOnV1() throws {
        let s = try Sandbox()
        var l = s.linux
        l["resources"] = ["cpu": ["realtimePeriod": 500_000]]
        s.linux = l
        let id = try s.startDetached("rt", args: ["/bin/sleep", "60"])
        guard let cpu = Sandbox.cgroupDirs(named: id).first(where: { $0.contains("/cpu,") || $0.contains("/cpu/") })
        else { Issue.record("no cpu cgroup"); return }
        #expect(try String(contentsOfFile: cpu + "/cpu.rt_period_us", encoding: .utf8) == "500000\n")
    }

    /// A read-only /dev is mounted read-write, filled, then made read-only; a tmpfs without
    /// mode= keeps the mode of the directory it covers; proc and sysfs go only on a real
    /// directory.
    @Test func mountsAsRuncMakesThem() throws {
        let s = try Sandbox()
        var mounts = (s.config["mounts"] as? [[String: Any]] ?? []).map { m -> [String: Any] in
            var m = m
            if m["destination"] as? String == "/dev" {
                m["options"] = ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]
            }
            return m
        }
        try FileManager.default.createDirectory(atPath: s.rootfs + "/scratch", withIntermediateDirectories: true)
        chmod(s.rootfs + "/scratch", 0o710)
        mounts.append(["destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]])
        s.config["mounts"] = mounts
        s.args([
            "/bin/sh", "-c",
            "ls /dev/null /dev/zero >/dev/null && echo devices; touch /dev/x 2>/dev/null || echo dev-ro; stat -c %a /scratch",
        ])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout == "devices\ndev-ro\n710\n", "\(r.stdout)")
        // /sys a symlink in the image: refused, not followed.
        try FileManager.default.removeItem(atPath: s.rootfs + "/sys")
        try FileManager.default.createSymbolicLink(atPath: s.rootfs + "/sys", withDestinationPath: "tmp")
        let sys = try s.runContainer()
        #expect(
            sys.code == 1 && sys.stderr.contains("mounts[5] (sysfs on ")
                && sys.stderr.contains("must be mounted on ordinary directory"), "\(sys.stderr)")
    }

    /// Poststop hooks all run and a failure is a warning; a failed poststart hook is a
    /// warning and the container goes on (the spec); createContainer hooks run in the
    /// container's root directory (runc's cwd for them).
    @Test func hooksAsTheSpecSays() throws {
        let s = try Sandbox()
        let marks = s.dir + "/marks"
        try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        s.config["hooks"] = [
            "poststop": [
                ["path": "/bin/false"], ["path": "/bin/sh", "args": ["sh", "-c", "touch \(marks)/poststop2"]],
            ],
            "poststart": [
                ["path": "/bin/false"], ["path": "/bin/sh", "args": ["sh", "-c", "touch \(marks)/poststart2"]],
            ],
            "createContainer": [["path": "/bin/sh", "args": ["sh", "-c", "pwd > \(marks)/cwd"]]],
        ]
        s.args(["/bin/sh", "-c", "echo running"])
        let r = try s.runContainer()
        #expect(
            r.code == 0 && r.stdout == "running\n",
            "the failed poststart hook does not stop the container: \(r.stdout) \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: marks + "/poststart2"), "every poststart hook runs")
        #expect(FileManager.default.fileExists(atPath: marks + "/poststop2"), "every poststop hook runs")
        #expect(
            r.stderr.contains("error running poststop hook #0") && r.stderr.contains("error running poststart hook #0"),
            "warnings: \(r.stderr)")
        let cwd = (try? String(contentsOfFile: marks + "/cwd", encoding: .utf8)) ?? ""
        #expect(cwd == s.rootfs + "\n", "createContainer hooks run in the rootfs: \(cwd)")
    }

    /// The executable check asks what execve would: a file only CAP_DAC_OVERRIDE lets the
    /// user execute (no execute bit for its owner) is run, not refused.
    @Test func executableCheckUsesEffectiveCapabilities() throws {
        let s = try Sandbox()
        let prog = s.rootfs + "/bin/owner-cannot-exec"
        try FileManager.default.copyItem(atPath: Harness.probe, toPath: prog)
        chown(prog, 1000, 1000)
        chmod(prog, 0o055)
        s.process["user"] = ["uid": 1000, "gid": 1000]
        var caps = s.process["capabilities"] as? [String: Any] ?? [:]
        for k in ["bounding", "effective", "permitted"] {
            caps[k] = ((caps[k] as? [String]) ?? []) + ["CAP_DAC_OVERRIDE"]
        }
        s.process["capabilities"] = caps
        s.args(["/bin/owner-cannot-exec", "exit", "7"])
        let r = try s.runContainer()
        #expect(r.code == 7, "it ran: \(r.code) \(r.stderr)")
    }

    /// exec --cgroup (runc 1.1): the process runs in an existing sub-cgroup of the
    /// container's; a missing one or ".." is refused.
    @Test func execIntoASubCgroup() throws {
        let s = try Sandbox()
        let id = try s.startDetached("sub", args: ["/bin/sleep", "60"])
        for leaf in Sandbox.cgroupDirs(named: id) {
            try FileManager.default.createDirectory(atPath: leaf + "/worker", withIntermediateDirectories: true)
            // A new v1 cpuset cgroup takes no task until it has CPUs and memory nodes.
            for f in ["cpuset.cpus", "cpuset.mems"] where FileManager.default.fileExists(atPath: leaf + "/" + f) {
                try String(contentsOfFile: leaf + "/" + f, encoding: .utf8).write(
                    toFile: leaf + "/worker/" + f, atomically: false, encoding: .utf8)
            }
        }
        let r = s.swrun(["exec", "--cgroup", "worker", id, "/bin/cat", "/proc/self/cgroup"])
        #expect(r.code == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").filter { $0.contains(":memory:") || $0.contains(":pids:") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasSuffix("/\(id)/worker") }, "\(r.stdout)")
        let memOnly = s.swrun(["exec", "--cgroup", "memory:worker", id, "/bin/cat", "/proc/self/cgroup"])
        #expect(memOnly.stdout.split(separator: "\n").contains { $0.contains(":memory:") && $0.hasSuffix("/worker") })
        #expect(
            memOnly.stdout.split(separator: "\n").contains { $0.contains(":pids:") && $0.hasSuffix("/\(id)") },
            "\(memOnly.stdout)")
        #expect(s.swrun(["exec", "--cgroup", "nope", id, "/bin/true"]).stderr.contains("does not exist"))
        #expect(s.swrun(["exec", "--cgroup", "../x", id, "/bin/true"]).code == 255)
    }

    /// A container put in a cgroup that already has processes gets runc's warning.
    @Test func nonEmptyCgroupWarns() throws {
        let s = try Sandbox()
        let first = try s.startDetached("occ", args: ["/bin/sleep", "60"])
        s.linux["cgroupsPath"] = "\(s.cgroupParent)/\(first)"
        s.args(["/bin/true"])
        try s.writeConfig()
        let r = s.swrun(["run", "--bundle", s.bundle, s.id("second")])
        #expect(r.code == 0)
        #expect(r.stderr.contains("container's cgroup is not empty: 1 process(es) found"), "\(r.stderr)")
    }

    /// Device rules are checked before anything is written: access letters other than
    /// r, w and m, a type other than a, b and c.
    @Test func badDeviceRulesAreRefused() throws {
        let s = try Sandbox()
        for (rule, field) in [
            (
                ["allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwx"] as [String: Any],
                "devices[0].access"
            ),
            (["allow": true, "type": "z", "access": "r"], "devices[0].type"),
            (["allow": true, "type": "c", "major": 4_294_967_297, "access": "r"], "devices[0].major"),
        ] {
            var l = s.linux
            l["resources"] = ["devices": [rule]]
            s.linux = l
            let id = s.id("dv")
            s.freshCgroup(id)
            try s.writeConfig()
            let r = s.swrun(["create", "--bundle", s.bundle, id])
            #expect(r.code == 1 && r.stderr.contains("linux.resources.\(field)"), "\(r.stderr)")
            #expect(Sandbox.cgroupDirs(named: id).isEmpty, "no cgroup was made")
        }
    }

    /// Keys match as Go's encoding/json matches them (runc decodes config.json with it):
    /// case-insensitively, the last of several matching keys winning.
    @Test func configKeysMatchCaseInsensitively() throws {
        let s = try Sandbox()
        s.config["Hostname"] = "folded"
        s.config.removeValue(forKey: "hostname")
        var p = s.process
        p["ARGS"] = ["/bin/hostname"]
        p.removeValue(forKey: "args")
        s.process = p
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout == "folded\n", "\(r.stdout) \(r.stderr)")
    }

    /// Fields swrun parses but does not implement are refused, never dropped; and an
    /// id-mapped mount with half its maps (runc refuses it too).
    @Test(arguments: ["mountLabel", "intelRdt", "idmappedMount", "commandLine"])
    func unsupportedFieldsAreRefused(_ field: String) throws {
        let s = try Sandbox()
        let expected: String
        switch field {
        case "mountLabel":
            s.linux["mountLabel"] = "system_u:object_r:container_file_t:s0"; expected = "linux.mountLabel"
        case "intelRdt": s.linux["intelRdt"] = ["closID": "x"]; expected = "linux.intelRdt"
        case "commandLine": s.process["commandLine"] = "cmd.exe"; expected = "process.commandLine"
        default:
            var mounts = s.config["mounts"] as? [[String: Any]] ?? []
            mounts.append([
                "destination": "/data", "type": "bind", "source": s.dir, "options": ["rbind"],
                "uidMappings": [["containerID": 0, "hostID": 1000, "size": 1]],
            ])
            s.config["mounts"] = mounts
            expected = "mounts[7]: id-mapped mounts must have both uid and gid mappings specified"
        }
        let r = try s.runContainer()
        #expect(r.code == 1 && r.stderr.contains(expected), "\(r.stderr)")
    }
}
