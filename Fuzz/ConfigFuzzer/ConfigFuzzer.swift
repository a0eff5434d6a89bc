// The config fuzzer (docs/fuzzing.md): config.json bytes through what `create` runs before
// it makes anything (Validation: decode, cgroupsPath, PlanBuilder with every field check,
// seccomp compilation) and the resource writes, on a hybrid and a pure v2 cgroup layout;
// and through `swrun check`'s collecting decode, which must agree with create's.
// Any input may be refused; none may trap, hang or grow without bound.
//
// Built with -sanitize=fuzzer -D SWRUN_FUZZ (make fuzz), libFuzzer provides main and calls
// LLVMFuzzerTestOneInput. Built normally, it is a replayer: each argument is a file run once
// (the seed corpus and every crash kept in Fuzz/corpus/ replay in `make test`).
import OCISpec
import SwrunCore
import SwrunSys

enum ConfigFuzz {
    static let hybrid = CgroupLayout.parse(
        mountinfo: """
            30 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
            31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
            32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
            33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu,cpuacct
            34 30 0:30 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,devices
            35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
            36 30 0:32 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpuset
            37 30 0:33 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,freezer
            38 30 0:34 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,blkio
            """,
        selfCgroup: "0::/\n2:memory:/\n3:cpu,cpuacct:/\n4:devices:/\n5:pids:/\n6:cpuset:/\n7:freezer:/\n8:blkio:/\n")
    static let pureV2 = CgroupLayout.parse(
        mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate", selfCgroup: "0::/fuzz.slice\n")

    /// A bundle with a small rootfs, made once per process.
    static let bundle: String = {
        let dir = "/tmp/swrun-fuzz-bundle-" + String(Creds.geteuid())
        _ = try? Files.mkdirAll(dir + "/rootfs/etc")
        _ = try? Files.mkdirAll(dir + "/rootfs/bin")
        try? Files.writeAtomic(
            dir + "/rootfs/etc/passwd",
            Array("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n".utf8), mode: 0o644)
        try? Files.writeAtomic(dir + "/rootfs/etc/group", Array("root:x:0:\nalice:x:1000:\n".utf8), mode: 0o644)
        return (try? Files.realpath(dir)) ?? dir
    }()

    static func one(_ bytes: [UInt8]) {
        // `swrun check`'s collecting decode runs the same reader and mapper: it must report
        // an error exactly when create's decode throws one, and still give a config otherwise.
        let diagnosis = SpecLoader.diagnose(bytes)
        let decoded = try? Validation.spec(bytes)
        if (decoded == nil) != !diagnosis.errors.isEmpty || (decoded != nil && diagnosis.spec == nil) {
            fatalError(
                "check and create disagree on this config: create \(decoded == nil ? "refuses" : "accepts") it, check reports \(diagnosis.errors.map(\.message))"
            )
        }
        guard let spec = decoded else { return }
        for layout in [hybrid, pureV2] {
            _ = try? Validation.plan(spec, bundle: bundle, id: "fuzz", layout: layout, options: CreateOptions())
            if let r = spec.linux?.resources { _ = try? Validation.resourceWrites(r, layout: layout) }
        }
        // The other two documents swrun decodes with the same reader.
        _ = try? SpecLoader.decodeProcessFast(bytes)
        _ = try? SpecLoader.decodeResourcesFast(bytes)
    }
}

/// libFuzzer's entry for each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    ConfigFuzz.one(Array(UnsafeBufferPointer(start: data, count: size)))
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
struct ConfigReplay {
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
                ConfigFuzz.one(bytes)
                n += 1
            }
            Stdio.writeStdout("replayed \(n) inputs\n")
        #endif
    }
}
