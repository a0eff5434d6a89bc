import Foundation
import Testing

/// Drives the built `swrun` binary (never SwrunCore in-process: the test runner is
/// multi-threaded, and swrun forks). Each test gets its own state root, bundle and cgroup
/// parent below the test runner's own cgroup.
enum Harness {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var binary: String {
        ProcessInfo.processInfo.environment["SWRUN_BIN"]
            ?? packageRoot.appendingPathComponent(".build/release/swrun").path
    }

    static var probe: String {
        ProcessInfo.processInfo.environment["SWRUN_PROBE"]
            ?? packageRoot.appendingPathComponent(".build/probe/swrun-probe").path
    }

    static var isRoot: Bool { getuid() == 0 }

    /// Integration tests need root; in CI they must also find the binaries (a missing binary
    /// fails the suite instead of skipping it).
    static var enabled: Bool { isRoot }

    /// Every applet of the host's busybox-static, linked as in Debian's busybox images.
    static let applets: [String] = {
        let list = run([busybox, "--list"]).stdout.split(separator: "\n").map(String.init)
        return list.isEmpty ? ["sh", "true", "cat", "echo", "ls", "sleep"] : list.filter { $0 != "busybox" }
    }()

    static let busybox: String =
        ["/bin/busybox", "/usr/bin/busybox"].first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? "/bin/busybox"

    nonisolated(unsafe) static let defaultSpec: [String: Any] = {
        let dir = NSTemporaryDirectory() + "swrun-spec-\(getpid())-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = run([binary, "spec", "--bundle", dir])
        let data = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) ?? Data()
        try? FileManager.default.removeItem(atPath: dir)
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }()

    /// What docker's default profile denies (in spirit): the rest of x86_64's syscalls are
    /// allowed by the docker-style profiles of the tests.
    static let dockerDenied: Set<String> = [
        "acct", "add_key", "bpf", "kexec_load", "keyctl", "mount", "umount2", "pivot_root", "reboot", "swapon",
        "swapoff",
    ]

    /// Every x86_64 syscall name the kernel headers know, minus `except`.
    static func syscallNames(except: Set<String>) throws -> [String] {
        let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", encoding: .utf8)
        return header.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("#define __NR_") else { return nil }
            let n = String(line.split(separator: " ")[1].dropFirst(5))
            return except.contains(n) ? nil : n
        }
    }

    /// Polls `condition` every 10 ms until it holds or `seconds` have passed: a wait on a
    /// condition with a bound, never a fixed sleep. True if it held.
    @discardableResult
    static func waitUntil(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    struct Result {
        var code: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a command; `extraFd` is inherited as fd 3 when given.
    @discardableResult
    static func run(
        _ argv: [String], stdin: String? = nil, env: [String: String]? = nil, extraFd: FileHandle? = nil,
        timeout: TimeInterval = 60
    ) -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        if let env { p.environment = env }
        // Output goes to files: no reader threads to coordinate.
        let base = NSTemporaryDirectory() + "swrun-out-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        guard let out = FileHandle(forWritingAtPath: base + ".out"),
            let err = FileHandle(forWritingAtPath: base + ".err")
        else {
            return Result(code: -1, stdout: "", stderr: "cannot create output files")
        }
        p.standardOutput = out
        p.standardError = err
        let inp = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
        do { try p.run() } catch { return Result(code: -1, stdout: "", stderr: "\(error)") }
        try? out.close()
        try? err.close()
        if let stdin {
            inp.fileHandleForWriting.write(stdin.data(using: .utf8) ?? Data())
            try? inp.fileHandleForWriting.close()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(2000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let outData = (try? Data(contentsOf: URL(fileURLWithPath: base + ".out"))) ?? Data()
        let errData = (try? Data(contentsOf: URL(fileURLWithPath: base + ".err"))) ?? Data()
        return Result(
            code: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// One test's world: a state root, a bundle with a busybox + probe rootfs, a unique id.
final class Sandbox {
    let dir: String
    let root: String
    let bundle: String
    let cgroupParent: String
    var config: [String: Any]

    init(_ name: String = #function) throws {
        let tag = name.filter { $0.isLetter || $0.isNumber }.prefix(24)
        dir = NSTemporaryDirectory() + "swrun-it-\(tag)-\(UUID().uuidString.prefix(8))"
        root = dir + "/state"
        bundle = dir + "/bundle"
        cgroupParent = "swrun-tests-\(getpid())"
        Sandbox.removeParentAtExit
        let fm = FileManager.default
        let rootfs = bundle + "/rootfs"
        for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "data"] {
            try fm.createDirectory(atPath: rootfs + "/" + d, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: Harness.busybox, toPath: rootfs + "/bin/busybox")
        for applet in Harness.applets {
            try fm.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try fm.copyItem(atPath: Harness.probe, toPath: rootfs + "/bin/swrun-probe")
        try "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n".write(
            toFile: rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nalice:x:1000:\n".write(toFile: rootfs + "/etc/group", atomically: true, encoding: .utf8)
        config = Harness.defaultSpec
        process["terminal"] = false
        process["args"] = ["/bin/swrun-probe", "report"]
        linux["cgroupsPath"] = "\(cgroupParent)/\(id("c"))"
    }

    deinit {
        for id in ids { _ = Harness.run([Harness.binary, "--root", root, "delete", "--force", id]) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    private var ids: [String] = []
    private var counter = 0

    /// A unique container id (registered for clean-up).
    func id(_ prefix: String) -> String {
        counter += 1
        let s = "\(prefix)\(counter)-\(dir.suffix(8))"
        ids.append(s)
        return s
    }

    var process: [String: Any] {
        get { config["process"] as? [String: Any] ?? [:] }
        set { config["process"] = newValue }
    }

    var linux: [String: Any] {
        get { config["linux"] as? [String: Any] ?? [:] }
        set { config["linux"] = newValue }
    }

    var rootfs: String { bundle + "/rootfs" }

    func args(_ a: [String]) { process["args"] = a }

    func writeConfig() throws {
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: bundle + "/config.json"))
    }

    /// Uses a fresh cgroup for the next container id.
    func freshCgroup(_ id: String) { linux["cgroupsPath"] = "\(cgroupParent)/\(id)" }

    @discardableResult
    func swrun(
        _ args: [String], stdin: String? = nil, extraFd: FileHandle? = nil, log: String? = nil, format: String? = nil
    ) -> Harness.Result {
        var argv = [Harness.binary, "--root", root]
        if let log { argv += ["--log", log] }
        if let format { argv += ["--log-format", format] }
        return Harness.run(argv + args, stdin: stdin)
    }

    /// Starts the probe as a host-side server (`recvtty`, `notify-listen`, `seccomp-agent`)
    /// on a fresh socket in this sandbox; returns the process, the socket and its output file.
    func probeServer(_ command: String, _ name: String) throws -> (Process, String, String) {
        let sock = dir + "/\(name).sock", out = dir + "/\(name).out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.probe)
        p.arguments = [command, sock]
        p.standardOutput = FileHandle(forWritingAtPath: out)
        try p.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: sock) { usleep(5000) }
        return (p, sock, out)
    }

    /// Runs `command` under script(1), which gives it a real terminal. script's own stdin
    /// stays open (an EOF there would hang up the terminal while the container still runs).
    /// Its stdin is a FIFO held open by a writer that outlives it (however slow a loaded
    /// machine makes the command), killed afterwards.
    static func underTerminal(_ command: String) -> Harness.Result {
        let quoted = "'" + command.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let fifo = NSTemporaryDirectory() + "swrun-tty-\(UUID().uuidString.prefix(8))"
        let script =
            "mkfifo \(fifo) && { sleep 600 > \(fifo) & keeper=$!; /usr/bin/script -qec \(quoted) /dev/null < \(fifo); rc=$?; kill $keeper; rm -f \(fifo); exit $rc; }"
        return Harness.run(["/bin/sh", "-c", script], timeout: 60)
    }

    /// `run --detach` of `args` in a fresh cgroup; returns the container id.
    func startDetached(_ prefix: String, args a: [String] = ["/bin/sleep", "60"]) throws -> String {
        args(a)
        let cid = id(prefix)
        freshCgroup(cid)
        try writeConfig()
        let r = swrun(["run", "-d", "--bundle", bundle, cid])
        #expect(r.code == 0, "run -d failed: \(r.stderr)")
        return cid
    }

    /// `run` in the foreground with the current config; returns the result.
    func runContainer(_ id: String? = nil, extra: [String] = []) throws -> Harness.Result {
        let cid = id ?? self.id("r")
        freshCgroup(cid)
        try writeConfig()
        return swrun(["run", "--bundle", bundle] + extra + [cid])
    }

    /// Runs the probe's `report` and returns its key=value lines (repeated keys joined by \n).
    func report() throws -> [String: String] {
        args(["/bin/swrun-probe", "report"])
        let r = try runContainer()
        #expect(r.code == 0, "run failed: \(r.stderr)")
        return Sandbox.parse(r.stdout)
    }

    static func parse(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in s.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let k = String(line[..<eq]), v = String(line[line.index(after: eq)...])
            out[k] = out[k].map { $0 + "\n" + v } ?? v
        }
        return out
    }

    func state(_ id: String) -> [String: Any] {
        let r = swrun(["state", id])
        return ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]) ?? [:]
    }

    /// The tests' parent cgroup (swrun-tests-PID, made by swrun's first create below it) is
    /// shared by every test of this process, so no test may remove it: it goes when the
    /// process exits, in every hierarchy, once it is empty (rmdir removes nothing else).
    static let removeParentAtExit: Void = {
        atexit {
            for dir in Sandbox.cgroupDirs(named: "swrun-tests-\(getpid())") { rmdir(dir) }
        }
    }()

    /// Directories under every cgroup hierarchy that hold `name` (to assert clean-up).
    static func cgroupDirs(named name: String) -> [String] {
        var found: [String] = []
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(" - cgroup") {
            let f = line.split(separator: " ")
            guard f.count > 4 else { continue }
            let mp = String(f[4])
            if let e = FileManager.default.enumerator(atPath: mp) {
                while let p = e.nextObject() as? String {
                    if p.hasSuffix("/" + name) || p == name { found.append(mp + "/" + p) }
                    if p.split(separator: "/").count > 4 { e.skipDescendants() }
                }
            }
        }
        return found
    }
}
