import Foundation
import Testing

/// The VM suites, tests/vm/*.sh, in the project's own VM (vm/, docs/vm.md): Debian's kernel
/// under QEMU (TCG), Debian 12 with systemd as PID 1, pure cgroup v2 and AppArmor. Each suite
/// runs in a fresh VM through `vm/test.sh --suite NAME` with the static swrun and probe, and
/// must end "N passed, 0 failed" with N > 0. vm/test.sh builds the image first if it is
/// missing or stale (`make vm-image` builds it ahead of time).
///
/// A missing prerequisite (qemu-system-x86_64; mmdebstrap, e2fsprogs and xz-utils when the
/// image has to be built; the kernel package in the apt lists) fails the test with the reason;
/// `make deps` installs them. SWRUN_VM_TESTS=0 turns the
/// suite off, and it then shows as skipped, never as passed.
@Suite(
    "VM suites (vm/, tests/vm/)", .serialized, .enabled(if: Harness.enabled),
    .enabled(if: ProcessInfo.processInfo.environment["SWRUN_VM_TESTS"] != "0", "SWRUN_VM_TESTS=0 skips the VM suites"))
struct VMSuiteTests {
    static let testScript = Harness.packageRoot.appendingPathComponent("vm/test.sh").path

    /// Every tests/vm/NAME.sh, by NAME.
    static let suites: [String] = {
        let dir = Harness.packageRoot.appendingPathComponent("tests/vm").path
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return files.filter { $0.hasSuffix(".sh") }.map { String($0.dropLast(3)) }.sorted()
    }()

    /// What the VM needs on the host, by what is missing.
    static var missing: [String] {
        var m: [String] = []
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        func found(_ tool: String) -> Bool {
            path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
        // The image's build tools (mmdebstrap, e2fsprogs, xz) are checked by vm/build.sh when
        // it has to build, and its error fails the test with the name of what is missing.
        if !found("qemu-system-x86_64") { m.append("qemu-system-x86_64") }
        if !FileManager.default.isExecutableFile(atPath: testScript) { m.append(testScript) }
        return m
    }

    @Test func suitesExist() {
        #expect(!Self.suites.isEmpty, "no tests/vm/*.sh")
    }

    @Test(arguments: suites)
    func vmSuite(_ name: String) throws {
        let missing = Self.missing
        guard missing.isEmpty else {
            Issue.record("the VM cannot run: \(missing.joined(separator: ", ")) missing (make deps installs them)")
            return
        }
        // Up to one image build (about a minute and a half from nothing) plus the suite.
        let r = Harness.run([Self.testScript, "--suite", name, Harness.binary, Harness.probe], timeout: 1800)
        let out = r.stdout + r.stderr
        let summary = out.split(separator: "\n").last {
            $0.range(of: #"^[0-9]+ passed, [0-9]+ failed$"#, options: .regularExpression) != nil
        }
        let counts = summary?.split(separator: " ").compactMap { Int($0) } ?? []
        let report = out.split(separator: "\n").filter { $0.hasPrefix("FAIL") || $0.hasPrefix("vm:") }.joined(
            separator: "\n")
        #expect(r.code == 0, "vm/test.sh --suite \(name) exited \(r.code)\n\(report)\n\(out.suffix(3000))")
        #expect(counts.count == 2, "no \"N passed, M failed\" line:\n\(out.suffix(3000))")
        guard counts.count == 2 else { return }
        #expect(counts[0] > 0, "\(name): nothing passed\n\(out.suffix(3000))")
        #expect(counts[1] == 0, "\(name): \(counts[1]) failed\n\(report)")
    }
}
