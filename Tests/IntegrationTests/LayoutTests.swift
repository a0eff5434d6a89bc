import Foundation
import Testing

/// The runtime binary is linked with its start path laid out together (layout/swrun.order,
/// docs/performance.md "Text layout"): a `run` then maps about half the text pages it maps
/// with the default layout. The page counts themselves are measured by `make bench`; this
/// holds the build to the layout: the ordering file is used, matches the code, and the
/// functions it names sit together at the start of .text.
@Suite("layout: the start path is linked together", .enabled(if: Harness.enabled))
struct LayoutTests {
    /// FUNC symbols of the binary: name -> (address, size).
    static func functions(_ binary: String) -> [String: (address: UInt64, size: UInt64)] {
        var out: [String: (address: UInt64, size: UInt64)] = [:]
        for line in Harness.run(["/usr/bin/readelf", "-sW", binary]).stdout.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 8, f[3] == "FUNC", let address = UInt64(f[1], radix: 16), address != 0,
                let size = UInt64(f[2])
            else { continue }
            if out[String(f[7])] == nil { out[String(f[7])] = (address, size) }
        }
        return out
    }

    /// Start and size of a section of the binary.
    static func section(_ binary: String, _ name: String) -> (start: UInt64, size: UInt64)? {
        for line in Harness.run(["/usr/bin/readelf", "-SW", binary]).stdout.split(separator: "\n") {
            let f = line.replacingOccurrences(of: "[ ", with: "[").split(
                separator: " ", omittingEmptySubsequences: true)
            if f.count > 5, f[1] == name, let start = UInt64(f[3], radix: 16), let size = UInt64(f[5], radix: 16) {
                return (start, size)
            }
        }
        return nil
    }

    /// The property itself, measured, not the freshness of a name list (a rename must not
    /// fail the build): the functions a `run` enters, recorded by layout/fntrace (a
    /// breakpoint on every function entry, one trap per function), fall in few 64 KB
    /// windows of .text, which is what the kernel maps around each fault. With a fresh
    /// layout, `run` and its init touch about 31 windows (26 before the systemd driver,
    /// rootless and checkpoint code); with the default one, 73. The bound
    /// sits half way: a rename, or a refactor of a few files, leaves a name or a dozen out of
    /// the order and costs a window each (a refactor of the cgroup code left 42), which
    /// `make bench` sees and `make layout` repairs; more than 50 means the order is gone or
    /// badly stale.
    @Test func runTouchesFewTextWindows() throws {
        let s = try Sandbox()
        let tool = s.dir + "/fntrace", entries = s.dir + "/entries", trace = s.dir + "/trace"
        let cc = Harness.run([
            "/usr/bin/gcc", "-O2", "-o", tool, Harness.packageRoot.appendingPathComponent("layout/fntrace.c").path,
        ])
        try #require(cc.code == 0, "gcc: \(cc.stderr)")
        let symbols = Self.functions(Harness.binary)
        let text = try #require(Self.section(Harness.binary, ".text"), "no .text in \(Harness.binary)")
        let byAddress = Dictionary(symbols.values.map { ($0.address, $0.size) }, uniquingKeysWith: { a, _ in a })
        try byAddress.keys.sorted().map { String($0, radix: 16) }.joined(separator: "\n").write(
            toFile: entries, atomically: true, encoding: .utf8)
        s.args(["/bin/true"])
        let id = s.id("layout")
        s.freshCgroup(id)
        try s.writeConfig()
        // As layout/generate.sh traces it: the host's cgroup mounts, in hybrid mode when
        // /sys/fs/cgroup/unified is mounted (generate.sh traces both).
        let r = Harness.run([tool, trace, entries, Harness.binary, "--root", s.root, "run", "--bundle", s.bundle, id])
        #expect(r.code == 0, "\(r.stdout) \(r.stderr)")
        var windows = Set<UInt64>(), entered = 0
        for line in try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3, let address = UInt64(f[2], radix: 16), address >= text.start else { continue }
            entered += 1
            let end = address + max(byAddress[address] ?? 1, 1) - 1
            for w in ((address - text.start) >> 16)...((end - text.start) >> 16) { windows.insert(w) }
        }
        print("layout: a run entered \(entered) functions in \(windows.count) 64 KB windows of .text")
        #expect(entered > 500, "the trace saw \(entered) functions")
        #expect(
            windows.count <= 50,
            "a run enters \(entered) functions in \(windows.count) 64 KB windows of .text: run `make layout`")
    }
}
