import Foundation
import Testing

/// Pure cgroup v2 with every controller, in the throwaway VM of ../shared/tools/cgroup2-vm:
/// tests/cgroup2/suite.sh runs the static swrun there (limits, cgroup2 view, pause/resume,
/// update, exec, kill --all, OOM events). Needs qemu-system-x86 (make deps installs it).
@Suite("cgroup v2 in a VM", .enabled(if: Harness.enabled))
struct CgroupV2VMTests {
    static let tool = Harness.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/cgroup2-vm/cgroup2-vm.sh").path
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: tool) && FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64")
    }

    @Test func pureCgroupV2Suite() throws {
        guard Self.available else {
            // In CI the tool and qemu must be there; elsewhere, say why nothing ran.
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "cgroup2-vm or qemu-system-x86_64 missing: \(Self.tool)")
            return
        }
        let root = Harness.packageRoot.path
        let bin = Harness.binary.hasPrefix(root + "/") ? "/work/" + Harness.binary.dropFirst(root.count + 1) : Harness.binary
        let probe = Harness.probe.hasPrefix(root + "/") ? "/work/" + Harness.probe.dropFirst(root.count + 1) : Harness.probe
        let r = Harness.run([Self.tool, "--mem", "1G", "--timeout", "400", "--share", "\(root):/work:ro", "--", "/work/tests/cgroup2/suite.sh", bin, probe], timeout: 450)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr.suffix(2000))")
        #expect(r.stdout.contains(" passed, 0 failed"), "\(r.stdout)")
        #expect(!r.stdout.contains("FAIL:"), "\(r.stdout)")
    }
}
