import Foundation
import Testing

@Suite("lifecycle: create, start, state, kill, delete, list", .enabled(if: Harness.enabled))
struct LifecycleTests {
    @Test func binariesArePresent() {
        #expect(
            FileManager.default.isExecutableFile(atPath: Harness.binary),
            "build swrun first (make build): \(Harness.binary)")
        #expect(FileManager.default.isExecutableFile(atPath: Harness.probe), "build the probe first (make probe)")
    }

    @Test func runTrueExitsZeroAndLeavesNothing() throws {
        let s = try Sandbox()
        s.args(["/bin/true"])
        let id = s.id("t")
        let r = try s.runContainer(id)
        #expect(r.code == 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.isEmpty, "stderr must be empty on success: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id))
        #expect(Sandbox.cgroupDirs(named: id).isEmpty)
    }

    @Test func exitCodeAndSignalArePropagated() throws {
        let s = try Sandbox()
        s.args(["/bin/swrun-probe", "exit", "7"])
        #expect(try s.runContainer().code == 7)
        // A signal that kills the container's init comes back as 128 + signal.
        s.args(["/bin/sleep", "30"])
        let id = s.id("sig")
        s.freshCgroup(id)
        try s.writeConfig()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["--root", s.root, "run", "--bundle", s.bundle, id]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var running = false
        for _ in 0..<200 where !running {
            running = s.state(id)["status"] as? String == "running"
            usleep(10_000)
        }
        #expect(running)
        #expect(s.swrun(["kill", id, "KILL"]).code == 0)
        p.waitUntilExit()
        #expect(p.terminationStatus == 128 + 9)
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id), "foreground run deletes the container")
    }

    @Test func createStartStateKillDelete() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "60"])
        s.config["annotations"] = ["org.example.key": "value"]
        let id = s.id("life")
        s.freshCgroup(id)
        try s.writeConfig()
        let pidFile = s.dir + "/init.pid"
        let c = s.swrun(["create", "--bundle", s.bundle, "--pid-file", pidFile, id])
        #expect(c.code == 0, "\(c.stderr)")
        #expect(c.stdout.isEmpty && c.stderr.isEmpty)
        let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
        #expect(!pidText.hasSuffix("\n"), "pid file must be a bare decimal")
        let pid = try #require(Int32(pidText))

        let st = s.swrun(["state", id])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(st.stdout.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "created")
        #expect(json["pid"] as? Int == Int(pid))
        #expect(json["bundle"] as? String == s.bundle)
        #expect(json["rootfs"] as? String == s.bundle + "/rootfs")
        #expect((json["annotations"] as? [String: String])?["org.example.key"] == "value")
        #expect(json["ociVersion"] as? String != nil && json["created"] as? String != nil && json["owner"] != nil)
        // runc's key order
        let keys = st.stdout.split(separator: "\n").compactMap { l -> String? in
            let t = l.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("\""), let end = t.dropFirst().firstIndex(of: "\"") else { return nil }
            return String(t[t.index(after: t.startIndex)..<end])
        }.filter {
            ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"].contains($0)
        }
        #expect(keys == ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"])

        // The init waits on the fifo: not yet running the user's program.
        let cmdline = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        #expect(!cmdline.contains("sleep"))

        #expect(s.swrun(["start", id]).code == 0)
        #expect(s.swrun(["state", id]).stdout.contains("\"running\""))
        #expect(
            Harness.waitUntil {
                ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("sleep")
            })

        let again = s.swrun(["start", id])
        #expect(again.code != 0 && again.stderr.contains("cannot start an already running container"))
        let del = s.swrun(["delete", id])
        #expect(del.code != 0 && del.stderr.contains("cannot delete container \(id) that is not stopped: running"))
        let dup = s.swrun(["create", "--bundle", s.bundle, id])
        #expect(dup.code != 0 && dup.stderr.contains("already exists"))

        #expect(s.swrun(["kill", id, "KILL"]).code == 0)
        var stopped = false
        for _ in 0..<100 where !stopped {
            stopped = s.swrun(["state", id]).stdout.contains("\"stopped\"")
            usleep(20_000)
        }
        #expect(stopped)
        let k = s.swrun(["kill", id])
        #expect(k.code != 0 && k.stderr.contains("container not running"))
        #expect(s.swrun(["delete", id]).code == 0)
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id))
        #expect(Sandbox.cgroupDirs(named: id).isEmpty)
        let gone = s.swrun(["state", id])
        #expect(gone.code == 1 && gone.stderr.contains("container does not exist"))
        #expect(s.swrun(["delete", "--force", id]).code == 0, "delete --force of a missing id exits 0")
        #expect(s.swrun(["delete", id]).code == 1)
    }

    @Test func killAcceptsNamesNumbersAndAll() throws {
        let s = try Sandbox()
        s.args(["/bin/sh", "-c", "trap 'echo got-usr1 > /tmp/sig' USR1; while true; do sleep 0.05; done"])
        s.config["root"] = ["path": "rootfs", "readonly": false]
        let id = s.id("kill")
        s.freshCgroup(id)
        try s.writeConfig()
        #expect(s.swrun(["run", "-d", "--bundle", s.bundle, id]).code == 0)
        #expect(s.swrun(["kill", id, "SIGUSR1"]).code == 0)
        var got = false
        for _ in 0..<100 where !got {
            got = FileManager.default.fileExists(atPath: s.rootfs + "/tmp/sig")
            usleep(20_000)
        }
        #expect(got)
        #expect(s.swrun(["kill", id, "NOSUCHSIG"]).code != 0)
        #expect(s.swrun(["kill", "--all", id, "9"]).code == 0)
        var stopped = false
        for _ in 0..<100 where !stopped {
            stopped = s.swrun(["state", id]).stdout.contains("\"stopped\"")
            usleep(20_000)
        }
        #expect(stopped)
        #expect(s.swrun(["delete", id]).code == 0)
    }

    @Test func deleteForceKillsARunningContainer() throws {
        let s = try Sandbox()
        let id = try s.startDetached("df", args: ["/bin/sleep", "60"])
        let pid = try #require(s.state(id)["pid"] as? Int32)
        #expect(kill(pid, 0) == 0)
        #expect(s.swrun(["delete", "--force", id]).code == 0)
        Harness.waitUntil(2) { ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").isEmpty }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        #expect(stat.isEmpty || stat.contains(") Z "), "the container's process must be gone: \(stat)")
        #expect(Sandbox.cgroupDirs(named: id).isEmpty)
    }

    @Test func createdContainerIsDeletedWithoutForce() throws {
        let s = try Sandbox()
        s.args(["/bin/true"])
        let id = s.id("cd")
        s.freshCgroup(id)
        try s.writeConfig()
        #expect(s.swrun(["create", "--bundle", s.bundle, id]).code == 0)
        #expect(s.swrun(["delete", id]).code == 0, "runc deletes a created container without --force")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id))
    }

    @Test func listTableJsonAndQuiet() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "60"])
        let id = s.id("ls")
        s.freshCgroup(id)
        try s.writeConfig()
        #expect(s.swrun(["create", "--bundle", s.bundle, id]).code == 0)
        let table = s.swrun(["list"]).stdout
        #expect(
            table.split(separator: "\n").first?.split(separator: " ") == [
                "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER",
            ])
        #expect(table.contains(id) && table.contains("created"))
        #expect(s.swrun(["list", "-q"]).stdout == id + "\n")
        let arr = try #require(
            try JSONSerialization.jsonObject(with: Data(s.swrun(["list", "--format", "json"]).stdout.utf8))
                as? [[String: Any]])
        #expect(arr.count == 1 && arr[0]["id"] as? String == id && arr[0]["owner"] as? String == "root")
        let ps = s.swrun(["ps", "--format", "json", id])
        let pids = try #require(try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [Int])
        #expect(pids.count == 1)
        #expect(s.swrun(["delete", "--force", id]).code == 0)
    }

    @Test func pauseAndResume() throws {
        let s = try Sandbox()
        let id = try s.startDetached("pz", args: ["/bin/sleep", "60"])
        #expect(s.swrun(["pause", id]).code == 0)
        #expect(s.swrun(["state", id]).stdout.contains("\"paused\""))
        // list decodes state.json without most cgroup paths: the freezer's must still tell.
        let row = s.swrun(["list"]).stdout.split(separator: "\n").first { $0.hasPrefix(id + " ") }
        #expect(
            row?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first == "paused",
            "\(row ?? "no row")")
        #expect(s.swrun(["list", "--format", "json"]).stdout.contains("\"status\":\"paused\""))
        #expect(s.swrun(["resume", id]).code == 0)
        #expect(s.swrun(["list", "--format", "json"]).stdout.contains("\"status\":\"running\""))
        #expect(s.swrun(["state", id]).stdout.contains("\"running\""))
        let r = s.swrun(["resume", id])
        #expect(r.code != 0 && r.stderr.contains("container not paused"))
        #expect(s.swrun(["delete", "-f", id]).code == 0)
    }

    @Test func noPivotRuns() throws {
        let s = try Sandbox()
        let r = try s.runContainer(extra: ["--no-pivot"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(Sandbox.parse(r.stdout)["pid"] == "1")
    }
}
