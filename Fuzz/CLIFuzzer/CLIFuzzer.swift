// The CLI fuzzer (docs/fuzzing.md): an argv (arguments separated by NUL bytes in the input)
// through everything `swrun` decides from its command line before it acts
// (SwrunCLI.dryRun: global and verb flags, argument counts, container ids, signals, byte
// sizes, durations, exec and create options). Refusing is fine; trapping is not.
//
// Built with -sanitize=fuzzer -D SWRUN_FUZZ, libFuzzer provides main; built normally, it
// replays the files given as arguments.
import SwrunCLI
import SwrunSys

enum CLIFuzz {
    static func one(_ bytes: [UInt8]) {
        let argv = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        _ = SwrunCLI.dryRun(argv)
    }
}

/// libFuzzer's entry for each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    CLIFuzz.one(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if SWRUN_FUZZ
    /// libFuzzer's driver, started from our own main (SwiftPM gives an executable target its
    /// main, so libFuzzer's is not linked).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
    ) -> Int32
#endif

@main
struct CLIReplay {
    static func main() {
        #if SWRUN_FUZZ
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            Proc.exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
        #else
            var n = 0
            for path in CommandLine.arguments.dropFirst() {
                guard let bytes = try? Files.readFile(path) else {
                    Stdio.writeStderr("cannot read \(path)\n")
                    Proc.exit(2)
                }
                CLIFuzz.one(bytes)
                n += 1
            }
            Stdio.writeStdout("replayed \(n) inputs\n")
        #endif
    }
}
