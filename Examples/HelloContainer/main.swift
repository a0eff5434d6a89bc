// A worked example of SwrunKit (docs/library.md): a Swift program that runs containers
// without the swrun binary. Usage: swrun-example ROOTFS STATE_ROOT
// ROOTFS is a directory with a busybox (or any) root file system; STATE_ROOT is where the
// containers' state lives (the equivalent of swrun --root). Run as root. The test suite
// builds and runs it (LibraryTests).
import Glibc
import SwrunKit

let argv = CommandLine.arguments
guard argv.count == 3 else {
    print("usage: swrun-example ROOTFS STATE_ROOT")
    exit(2)
}
let rootfs = argv[1], stateRoot = argv[2]

// The program is what a container's processes can see until they execute their own
// program: protect it first, before anything else (CVE-2019-5736).
do { try SwrunKit.protectExecutable(scratch: stateRoot + "/.sealed") } catch {
    print("cannot protect this program: \(error.message)")
    exit(1)
}

/// The runtime's default configuration (what `swrun spec` writes), with our changes.
func config(_ args: [String]) throws -> Spec {
    var spec = try SpecLoader.decodeSpecFast(Array(DefaultSpec.json.utf8))
    spec.root?.path = rootfs
    spec.hostname = "library"
    spec.process?.terminal = false
    spec.process?.args = args
    return spec
}

let runtime = Runtime(root: stateRoot)
let bundle = String(rootfs[..<(rootfs.lastIndex(of: "/") ?? rootfs.startIndex)])
let me = getpid()
do {
    // 1. run: create, start, wait, delete; the container's output is ours.
    let code = try runtime.run(
        id: "hello-\(me)", spec: config(["/bin/sh", "-c", "echo hello from $(hostname)"]), bundle: bundle)
    print("run exit code: \(code)")

    // 2. The lifecycle step by step, with state, exec and kill.
    let id = "sleeper-\(me)"
    try runtime.create(id: id, spec: config(["/bin/sleep", "30"]), bundle: bundle)
    print("after create: \(try runtime.state(id).status)")
    try runtime.start(id)
    print("after start: \(try runtime.state(id).status)")
    var exec = ExecOptions()
    exec.args = ["/bin/sh", "-c", "echo exec in $(hostname); exit 3"]
    print("exec exit code: \(try runtime.exec(id, exec))")
    // events: stats every 20 ms until the container stops; it is killed after the first
    // sample (killed before, it could be stopped before events saw it run).
    var samples = 0
    var killFailure: SwrunError?
    try runtime.events(id, intervalMilliseconds: 20) { event in
        if case .stats = event {
            samples += 1
            if samples == 1 {
                do throws(SwrunError) { try runtime.kill(id, signal: 9, all: false) } catch {
                    killFailure = error
                    return false
                }
            }
        }
        return true // until the container stops
    }
    if let killFailure { throw killFailure }
    print("events until stopped: \(samples > 0 ? "stats seen" : "no stats"), now \(try runtime.state(id).status)")
    try runtime.delete(id, force: false)

    // 3. Errors are typed: a kind to branch on, the message runc would print, the errno.
    let trueSpec = try config(["/bin/true"])
    do throws(SwrunError) {
        try runtime.create(id: "../escape", spec: trueSpec, bundle: bundle)
    } catch {
        print("bad id refused: kind \(error.kind), \(error.message)")
    }
    do throws(SwrunError) {
        _ = try runtime.state("no-such-container-\(me)")
    } catch {
        print("missing container: kind \(error.kind)")
    }
} catch let error as SwrunError {
    print("failed: \(error.message) (errno \(error.errno))")
    exit(1)
} catch {
    print("failed: \(error)")
    exit(1)
}
