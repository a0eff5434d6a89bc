import Foundation
import Testing

/// `checkpoint` and `restore` on the host that runs the tests. Real checkpoints and restores
/// run in the VM (tests/vm/criu.sh, VMSuiteTests), where Debian's kernel and criu match; on
/// this host criu 3.17 cannot work (its `criu check` fails on the 6.18 kernel's vDSO), and
/// what is checked here is that swrun says so clearly, naming criu and what `criu check`
/// reported, and leaves the container as it was. Where criu is missing, that is said; where
/// `criu check` passes, the checkpoint is made.
@Suite("checkpoint and restore on this host", .enabled(if: Harness.enabled))
struct CheckpointTests {
    /// criu in PATH or the sbin directories, as swrun looks for it.
    static let criu: String? = {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin"
        return path.split(separator: ":").map { "\($0)/criu" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }()

    @Test func checkpointSaysWhyCriuCannotWork() throws {
        let s = try Sandbox()
        let id = try s.startDetached("cp")
        let images = s.dir + "/images-\(id)"
        let r = s.swrun(["checkpoint", "--image-path", images, id])
        guard let criu = Self.criu else {
            #expect(r.code == 1 && r.stderr.contains("criu is not installed"), "stderr: \(r.stderr)")
            #expect(s.state(id)["status"] as? String == "running")
            return
        }
        let check = Harness.run([criu, "check"])
        if check.code == 0 {
            // A host where CRIU works: the checkpoint is made and the container is gone.
            #expect(r.code == 0, "checkpoint on a host where criu check passes: \(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: images + "/inventory.img"))
            return
        }
        #expect(r.code == 1)
        let said = (check.stdout + check.stderr).split(separator: "\n").first.map(String.init) ?? ""
        #expect(r.stderr.contains("criu") && r.stderr.contains("cannot work on this kernel"), "stderr: \(r.stderr)")
        #expect(r.stderr.contains("`criu check` reports: "), "stderr: \(r.stderr)")
        #expect(!said.isEmpty && r.stderr.contains(said), "the error quotes criu check (\(said)): \(r.stderr)")
        #expect(r.stderr.contains(images + "/dump.log"), "and names CRIU's log")
        // Nothing changed: the container runs, and can be deleted as ever.
        #expect(s.state(id)["status"] as? String == "running")
        #expect(s.swrun(["delete", "--force", id]).code == 0)
    }

    /// criu installed, and `criu check` failing: the host this restore test is about.
    static let criuInstalledButFailing: Bool = {
        guard let criu else { return false }
        return Harness.run([criu, "check"]).code != 0
    }()

    @Test(.enabled(if: criuInstalledButFailing, "needs criu installed with a failing `criu check`"))
    func restoreSaysWhyCriuCannotWork() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "60"])
        try s.writeConfig()
        let images = s.dir + "/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try #"["/dev/null","pipe:[1]","pipe:[2]"]"#.write(
            toFile: images + "/descriptors.json", atomically: true, encoding: .utf8)
        let id = s.id("rs")
        let r = s.swrun(["restore", "-d", "--bundle", s.bundle, "--image-path", images, id])
        #expect(
            r.code == 1 && r.stderr.contains("cannot work on this kernel")
                && r.stderr.contains("`criu check` reports: "), "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id), "a failed restore leaves no state")
        #expect(Sandbox.cgroupDirs(named: id).isEmpty, "nor a cgroup")
    }

    @Test func errorsBeforeCriu() throws {
        let s = try Sandbox()
        let id = try s.startDetached("ce")
        var r = s.swrun(["--criu", "/nonexistent/criu", "checkpoint", "--image-path", s.dir + "/i1", id])
        #expect(
            r.code == 1 && r.stderr.contains("criu is not available: --criu") && r.stderr.contains("/nonexistent/criu"),
            "stderr: \(r.stderr)")
        r = s.swrun(["--criu", "no-such-criu", "checkpoint", "--image-path", s.dir + "/i1", id])
        #expect(
            r.code == 1 && r.stderr.contains("criu is not installed: no") && r.stderr.contains("no-such-criu"),
            "stderr: \(r.stderr)")
        r = s.swrun(["checkpoint", "--parent-path", "/abs", "--image-path", s.dir + "/i1", id])
        #expect(r.code == 1 && r.stderr.contains("--parent-path must be relative"), "stderr: \(r.stderr)")
        r = s.swrun(["checkpoint", "--manage-cgroups-mode", "bogus", id])
        #expect(r.code == 1 && r.stderr.contains("manage-cgroups-mode"), "stderr: \(r.stderr)")
        r = s.swrun(["checkpoint", "nosuchcontainer"])
        #expect(r.code == 1 && r.stderr.contains("container does not exist"), "stderr: \(r.stderr)")
        #expect(s.state(id)["status"] as? String == "running")
        // A created container has nothing to checkpoint yet; a stopped one, nothing left.
        let created = s.id("cc")
        s.freshCgroup(created)
        try s.writeConfig()
        #expect(s.swrun(["create", "--bundle", s.bundle, created]).code == 0)
        r = s.swrun(["checkpoint", "--image-path", s.dir + "/i2", created])
        #expect(
            r.code == 1 && r.stderr.contains("Container cannot be checkpointed in created state"), "stderr: \(r.stderr)"
        )
        #expect(s.swrun(["kill", id, "KILL"]).code == 0)
        #expect(Harness.waitUntil { s.state(id)["status"] as? String == "stopped" })
        r = s.swrun(["checkpoint", "--image-path", s.dir + "/i3", id])
        #expect(
            r.code == 1 && r.stderr.contains("Container cannot be checkpointed in stopped state"), "stderr: \(r.stderr)"
        )
        // restore: an image directory that is not there, and no leftovers.
        let rid = s.id("rm")
        r = s.swrun(["restore", "-d", "--bundle", s.bundle, "--image-path", s.dir + "/missing", rid])
        #expect(
            r.code == 1 && r.stderr.contains("--image-path") && r.stderr.contains("no such file or directory"),
            "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + rid))
    }

    /// What engines ask before they checkpoint: Podman runs `RUNTIME checkpoint --help` and
    /// `RUNTIME restore --lsm-mount-context`; `features` says checkpoint is enabled.
    @Test func enginesProbes() throws {
        let s = try Sandbox()
        var r = s.swrun(["checkpoint", "--help"])
        #expect(r.code == 0 && r.stdout.contains("--leave-running") && r.stdout.contains("--pre-dump"))
        r = s.swrun(["restore", "--help"])
        #expect(r.code == 0 && r.stdout.contains("--console-socket") && r.stdout.contains("--no-subreaper"))
        r = s.swrun(["restore", "--lsm-mount-context"])
        #expect(r.code == 1 && r.stderr.contains("flag needs an argument"), "stderr: \(r.stderr)")
        r = s.swrun(["features"])
        let features = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
        let annotations = features?["annotations"] as? [String: String]
        #expect(annotations?["org.opencontainers.runc.checkpoint.enabled"] == "true")
        r = s.swrun(["--help"])
        #expect(r.stdout.contains("checkpoint") && r.stdout.contains("restore"))
    }
}
