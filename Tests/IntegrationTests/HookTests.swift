import Foundation
import Testing

@Suite("hooks", .enabled(if: Harness.enabled))
struct HookTests {
    /// A hook script that appends its kind, its argv and its stdin (the state JSON) to a log.
    func hook(_ s: Sandbox, _ kind: String, extra: String = "") -> [String: Any] {
        [
            "path": "/bin/sh", "args": ["sh", "-c", "echo \(kind) $(cat) >> \(s.dir)/hooks.log\(extra)"],
            "env": ["HOOKENV=1"],
        ]
    }

    @Test func allSixKindsRunInOrderWithState() throws {
        let s = try Sandbox()
        s.args(["/bin/true"])
        s.config["hooks"] = [
            "prestart": [hook(s, "prestart")], "createRuntime": [hook(s, "createRuntime")],
            "createContainer": [
                ["path": Harness.busybox, "args": ["sh", "-c", "echo createContainer $(cat) >> \(s.dir)/hooks.log"]]
            ],
            "startContainer": [
                ["path": "/bin/sh", "args": ["sh", "-c", "echo startContainer $(cat) >> /tmp/start.log"]]
            ],
            "poststart": [hook(s, "poststart")], "poststop": [hook(s, "poststop")],
        ]
        s.config["root"] = ["path": "rootfs", "readonly": false]
        let id = s.id("hk")
        let r = try s.runContainer(id)
        #expect(r.code == 0, "\(r.stderr)")
        let log = try String(contentsOfFile: s.dir + "/hooks.log", encoding: .utf8)
        let kinds = log.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        #expect(kinds == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"])
        #expect(log.contains("\"id\":\"\(id)\"") && log.contains("\"bundle\":\"\(s.bundle)\""))
        let prestart = log.split(separator: "\n").first { $0.hasPrefix("prestart ") } ?? ""
        #expect(
            prestart.contains("\"status\":\"created\""),
            "prestart sees the container created (runtime-tools' hooks_stdin): \(prestart)")
        #expect(log.contains("\"status\":\"stopped\""))
        // startContainer runs inside the container (its filesystem)
        let start = try String(contentsOfFile: s.rootfs + "/tmp/start.log", encoding: .utf8)
        #expect(start.hasPrefix("startContainer {") && start.contains("\"status\":\"running\""), "\(start)")
    }

    @Test func failingPrestartHookFailsCreateAndCleansUp() throws {
        let s = try Sandbox()
        s.config["hooks"] = ["prestart": [["path": "/bin/sh", "args": ["sh", "-c", "echo boom; exit 3"]]]]
        let id = s.id("hf")
        s.freshCgroup(id)
        try s.writeConfig()
        let r = s.swrun(["create", "--bundle", s.bundle, id])
        #expect(r.code == 1)
        #expect(r.stderr.contains("prestart") && r.stderr.contains("exit status 3") && r.stderr.contains("boom"))
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id))
        #expect(Sandbox.cgroupDirs(named: id).isEmpty)
    }

    @Test func hookTimeoutIsEnforced() throws {
        let s = try Sandbox()
        s.config["hooks"] = ["createRuntime": [["path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1]]]
        let start = Date()
        let r = try s.runContainer()
        #expect(r.code == 1 && r.stderr.contains("timeout"))
        #expect(Date().timeIntervalSince(start) < 20)
    }
}
