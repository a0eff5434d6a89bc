import Foundation
import Testing

/// The fuzzers' seed corpus and every input a fuzzer ever crashed on (Fuzz/corpus/), replayed
/// through the same entry points with the normal build (docs/fuzzing.md): none may trap.
@Suite("fuzz corpus")
struct FuzzCorpusTests {
    static func replayer(_ name: String) -> String {
        URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().appendingPathComponent(name).path
    }

    @Test(arguments: [("swrun-fuzz-config", "config"), ("swrun-fuzz-cli", "cli")])
    func corpusReplays(_ tool: String, _ dir: String) throws {
        let corpus = Harness.packageRoot.appendingPathComponent("Fuzz/corpus/\(dir)").path
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted().map { corpus + "/" + $0 }
        #expect(files.count >= 10, "a seed corpus")
        let bin = Self.replayer(tool)
        #expect(FileManager.default.isExecutableFile(atPath: bin), "\(bin) is built with swrun (make build)")
        let r = Harness.run([bin] + files, timeout: 120)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout == "replayed \(files.count) inputs\n", "\(r.stdout)")
    }
}
