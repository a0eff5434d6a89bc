import Foundation
import Testing

/// SwrunKit as a library (docs/library.md): the worked example runs containers through the
/// API, and another package can depend on the library products (no unsafeFlags in them).
@Suite("library: SwrunKit", .enabled(if: Harness.enabled))
struct LibraryTests {
    static var example: String {
        URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().appendingPathComponent("swrun-example").path
    }

    @Test func workedExampleRunsContainers() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.example), "\(Self.example) is not built (make build)")
        let s = try Sandbox()
        let r = Harness.run([Self.example, s.rootfs, s.root], timeout: 120)
        #expect(r.code == 0, "\(r.stdout) \(r.stderr)")
        for line in [
            "hello from library", "run exit code: 0", "after create: created", "after start: running",
            "exec in library",
            "exec exit code: 3", "events until stopped: stats seen, now stopped",
            "bad id refused: kind usage, invalid container ID format", "missing container: kind notExist",
        ] {
            #expect(r.stdout.contains(line + "\n"), "\(line): \(r.stdout) \(r.stderr)")
        }
        // Everything it made is gone: no state left but the protection's scratch directory.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: s.root)) ?? []
        #expect(left.filter { !$0.hasPrefix(".") }.isEmpty, "state left: \(left)")
    }

    /// A package outside this one depends on SwrunKit by path and builds: SwiftPM refuses a
    /// dependency whose products use unsafeFlags (Package.swift keeps them behind
    /// SWRUN_TUNED, which the consumer's build does not set).
    @Test(.timeLimit(.minutes(15))) func anotherPackageCanDependOnTheLibrary() throws {
        let dir = NSTemporaryDirectory() + "swrun-consumer-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/Sources/consumer", withIntermediateDirectories: true)
        try """
        // swift-tools-version: 6.0
        import PackageDescription
        let package = Package(
            name: "consumer",
            dependencies: [.package(path: "\(Harness.packageRoot.path)")],
            targets: [.executableTarget(name: "consumer", dependencies: [.product(name: "SwrunKit", package: "\(Harness.packageRoot.lastPathComponent)")])]
        )
        """.write(toFile: dir + "/Package.swift", atomically: true, encoding: .utf8)
        try """
        import SwrunKit
        let spec = try SpecLoader.decodeSpecFast(Array(DefaultSpec.json.utf8))
        print(spec.ociVersion, try SwrunKit.encode(spec).count > 100)
        """.write(toFile: dir + "/Sources/consumer/main.swift", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["SWRUN_TUNED"] = nil
        let build = Harness.run(["/usr/bin/env", "swift", "build", "--package-path", dir], env: env, timeout: 900)
        #expect(build.code == 0, "\(build.stdout.suffix(2000)) \(build.stderr.suffix(2000))")
        let run = Harness.run([dir + "/.build/debug/consumer"])
        #expect(run.stdout == "1.0.2-dev true\n", "\(run.stdout) \(run.stderr)")
    }
}
