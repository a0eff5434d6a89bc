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
                  let size = UInt64(f[2]) else { continue }
            if out[String(f[7])] == nil { out[String(f[7])] = (address, size) }
        }
        return out
    }

    /// Start and size of a section of the binary.
    static func section(_ binary: String, _ name: String) -> (start: UInt64, size: UInt64)? {
        for line in Harness.run(["/usr/bin/readelf", "-SW", binary]).stdout.split(separator: "\n") {
            let f = line.replacingOccurrences(of: "[ ", with: "[").split(separator: " ", omittingEmptySubsequences: true)
            if f.count > 5, f[1] == name, let start = UInt64(f[3], radix: 16), let size = UInt64(f[5], radix: 16) {
                return (start, size)
            }
        }
        return nil
    }

    @Test func orderedFunctionsLeadTheText() throws {
        let order = try String(contentsOfFile: Harness.packageRoot.appendingPathComponent("layout/swrun.order").path, encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let symbols = Self.functions(Harness.binary)
        let text = try #require(Self.section(Harness.binary, ".text"), "no .text in \(Harness.binary)")
        #expect(order.count > 500, "layout/swrun.order lists \(order.count) functions")
        // A stale order file (the code changed since `make layout`) leaves pages on the table.
        let found = order.compactMap { symbols[$0] }
        #expect(found.count * 10 >= order.count * 9, "only \(found.count) of \(order.count) ordered functions exist: run `make layout`")
        // The ordered functions come first, in one run: the start of .text up to the last of
        // them is at most half again their own size (the rest: functions that share a
        // section with an ordered one, in objects built without function sections). The
        // default layout spreads them over the whole text (5.8 MB).
        let inText = found.filter { $0.address >= text.start && $0.address < text.start + text.size }
        #expect(inText.count + 2 >= found.count, "\(found.count - inText.count) ordered functions outside .text")
        let size = inText.reduce(UInt64(0)) { $0 + $1.size }
        let end = inText.map { $0.address + $0.size }.max() ?? text.start
        #expect(end - text.start <= size + size / 2, "ordered functions (\(size) bytes) span \(end - text.start) bytes of .text")
        #expect(inText.first?.address == text.start, "the first ordered function (\(order.first ?? "")) does not open .text")
        // The start path itself (the first 300, run's own process up to its parsing and
        // planning) within 384 KB (220 KB when the order was made).
        let first = inText.prefix(300).map { $0.address + $0.size }.max() ?? text.start
        #expect(first - text.start <= 384 * 1024, "the first 300 ordered functions span \(first - text.start) bytes")
    }
}
