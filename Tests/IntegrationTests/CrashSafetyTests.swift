import Foundation
import Testing

/// swrun may be SIGKILLed at any instant (a shim timeout, the OOM killer). `delete --force`
/// afterwards must remove everything the killed create made.
@Suite("crash safety", .enabled(if: Harness.enabled))
struct CrashSafetyTests {
    @Test(arguments: [0.0, 0.002, 0.005, 0.01, 0.03])
    func killedCreateIsCleanedByDeleteForce(delay: Double) throws {
        let s = try Sandbox()
        // A createRuntime hook that blocks keeps the create in the middle of its work.
        s.config["hooks"] = ["createRuntime": [["path": "/bin/sleep", "args": ["sleep", "30"]]]]
        let id = s.id("crash")
        s.freshCgroup(id)
        try s.writeConfig()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["--root", s.root, "create", "--bundle", s.bundle, id]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the create has started (or the delay passed), then kill it mid-way.
        let deadline = Date().addingTimeInterval(delay == 0 ? 0.5 : delay)
        while Date() < deadline && !FileManager.default.fileExists(atPath: s.root + "/" + id + "/state.json") {
            usleep(500)
        }
        usleep(UInt32(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let r = s.swrun(["delete", "--force", id])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id))
        #expect(Sandbox.cgroupDirs(named: id).isEmpty, "cgroups of a killed create are removed")
        // No process of the container is left: the init dies with its creator.
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let leftovers = procs.compactMap(Int32.init).filter { pid in
            let root = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root")) ?? ""
            return root.hasPrefix(s.bundle)
        }
        #expect(leftovers.isEmpty, "processes left in the rootfs: \(leftovers)")
    }
}
