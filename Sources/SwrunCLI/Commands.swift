import OCISpec
import SwrunCore
import SwrunSys

/// What `main` needs to finish: an exit code, or an error to report.
public enum Outcome {
    case exit(Int32)
    case failure(SwrunError, verb: String?)
    case usage(UsageError)
}

public enum SwrunCLI {
    /// Parses argv (without argv[0]), configures logging, and runs one verb.
    public static func run(_ argv: [String]) -> Outcome {
        let globals: ParsedArgs
        do {
            globals = try ArgParser.parse(argv[...], flags: Verbs.globals, stopAtPositional: true, verb: nil)
        } catch {
            return .usage(error)
        }
        let format: Log.Format
        switch globals.string("log-format") ?? "text" {
        case "text": format = .text
        case "json": format = .json
        case let other: return .failure(SwrunError(.usage, "invalid log-format: \(other)"), verb: nil)
        }
        do { try Log.configure(path: globals.string("log"), format: format, debug: globals.bool("debug")) } catch {
            return .failure(error, verb: nil)
        }
        if globals.bool("version") {
            Stdio.writeStdout(Help.versionText(libseccomp: SeccompInfo.version))
            return .exit(0)
        }
        guard let verbName = globals.positional.first, verbName != "help", verbName != "h" else {
            if globals.positional.count > 1, let v = Verbs.find(globals.positional[1]) {
                Stdio.writeStdout(Help.verb(v))
            } else {
                Stdio.writeStdout(Help.root())
            }
            return .exit(0)
        }
        if globals.bool("systemd-cgroup") {
            return .failure(SwrunError(.usage, "--systemd-cgroup: systemd cgroup management is not supported by this version of swrun"), verb: verbName)
        }
        guard let verb = Verbs.find(verbName) else {
            if verbName == "checkpoint" || verbName == "restore" {
                return .failure(SwrunError(.usage, "\(verbName): checkpoint/restore (CRIU) is not supported by swrun"), verb: verbName)
            }
            return .usage(UsageError(message: "No help topic for '\(verbName)'", verb: nil))
        }
        let args: ParsedArgs
        do {
            args = try ArgParser.parse(globals.positional.dropFirst(), flags: verb.flags + [FlagSpec(["help", "h"], help: "show help")], stopAtPositional: verb.stopAtPositional, verb: verb.name)
        } catch {
            return .usage(error)
        }
        if args.bool("help") {
            Stdio.writeStdout(Help.verb(verb))
            return .exit(0)
        }
        if let e = checkArgs(verb, args.positional) { return .usage(e) }
        // A relative --root is the caller's, as runc resolves it (filepath.Abs): every later
        // step runs in the bundle directory, where it would name another place.
        var root = globals.string("root") ?? "/run/swrun"
        if !root.startsWithBytes("/") {
            do { root = MountPlan.normalize(try Files.getcwd() + "/" + root) } catch {
                return .failure(SwrunError(.system, "resolve --root \(root): \(error)"), verb: verbName)
            }
        }
        // The verbs that enter containers run from a view of swrun the container cannot write
        // (CVE-2019-5736); this re-executes swrun once when it is not one already. `run`
        // decides once its plan is built (Launcher.exposure).
        if verb.name == "create" || verb.name == "exec" {
            do { try SealedBinary.ensure(scratch: root + "/.sealed", argv: Proc.arguments) } catch {
                return .failure(SwrunError(.system, "cannot protect the swrun binary (CVE-2019-5736): \(error)"), verb: verb.name)
            }
            if let note = SealedBinary.note { Log.debug("CVE-2019-5736: \(note)") }
        }
        let container = Container(root: root)
        do {
            return .exit(try dispatch(verb.name, args, container))
        } catch {
            return .failure(error, verb: verb.name)
        }
    }

    /// Everything `run` decides from argv before it acts (global and verb flags, argument
    /// counts, the container id, each verb's option values) with no effect at all: no log
    /// file, no file read, no container. The CLI fuzzer drives it (Fuzz/); nil when argv is
    /// acceptable, else what `run` would refuse it with.
    public static func dryRun(_ argv: [String]) -> String? {
        let globals: ParsedArgs, args: ParsedArgs, verb: VerbSpec
        do {
            globals = try ArgParser.parse(argv[...], flags: Verbs.globals, stopAtPositional: true, verb: nil)
            guard let name = globals.positional.first, let v = Verbs.find(name) else { return "no verb" }
            verb = v
            args = try ArgParser.parse(globals.positional.dropFirst(), flags: verb.flags + [FlagSpec(["help", "h"], help: "show help")], stopAtPositional: verb.stopAtPositional, verb: verb.name)
        } catch {
            return error.message
        }
        switch globals.string("log-format") ?? "text" {
        case "text", "json": break
        default: return "invalid log-format"
        }
        if let e = checkArgs(verb, args.positional) { return e.message }
        do {
            if let id = args.positional.first, verb.minArgs > 0 { try ContainerID.validate(id) }
            switch verb.name {
            case "create", "run": _ = try createOptions(args)
            case "exec": _ = try execOptions(args)
            case "kill": _ = try parseSignal(args.positional.count > 1 ? args.positional[1] : "SIGTERM")
            case "update":
                var flagsOnly = args
                flagsOnly.values["resources"] = nil
                _ = try updateResources(flagsOnly)
            case "events":
                if parseDuration(args.string("interval") ?? "5s") == nil { return "invalid interval" }
            default: break
            }
        } catch {
            return error.message
        }
        return nil
    }

    static func checkArgs(_ v: VerbSpec, _ p: [String]) -> UsageError? {
        if let max = v.maxArgs, max == v.minArgs, p.count != max {
            return UsageError(message: "swrun: \"\(v.name)\" requires exactly \(max) argument(s)", verb: v.name)
        }
        if p.count < v.minArgs { return UsageError(message: "swrun: \"\(v.name)\" requires a minimum of \(v.minArgs) argument(s)", verb: v.name) }
        if let max = v.maxArgs, p.count > max { return UsageError(message: "swrun: \"\(v.name)\" requires a maximum of \(max) argument(s)", verb: v.name) }
        return nil
    }

    static func createOptions(_ a: ParsedArgs) throws(SwrunError) -> CreateOptions {
        var o = CreateOptions()
        o.noPivot = a.bool("no-pivot")
        o.noNewKeyring = a.bool("no-new-keyring")
        if let n = a.string("preserve-fds") {
            guard let v = Int(n), v >= 0 else { throw SwrunError(.usage, "invalid value \(Quote.short(n)) for flag -preserve-fds") }
            o.preserveFds = v
        }
        o.consoleSocket = a.string("console-socket")
        o.pidfdSocket = a.string("pidfd-socket")
        // systemd socket activation: runc passes LISTEN_FDS on to the container.
        if let n = Proc.getenv("LISTEN_FDS").flatMap(Int.init), n > 0 { o.listenFds = n }
        return o
    }

    static func dispatch(_ verb: String, _ a: ParsedArgs, _ c: Container) throws(SwrunError) -> Int32 {
        let id = a.positional.first ?? ""
        switch verb {
        case "create":
            try c.create(id: id, bundle: a.string("bundle") ?? ".", pidFile: a.string("pid-file"), options: try createOptions(a))
        case "run":
            var o = try createOptions(a)
            o.detached = a.bool("detach")
            let cwd: String
            do { cwd = try Files.getcwd() } catch { throw SwrunError.system(error) }
            o.run = CreateOptions.Run(scratch: c.store.root + "/.sealed", argv: Proc.arguments, cwd: cwd)
            return try c.run(id: id, bundle: a.string("bundle") ?? ".", pidFile: a.string("pid-file"), options: o, detach: a.bool("detach"), keep: a.bool("keep"))
        case "start":
            try c.start(id)
        case "state":
            Stdio.writeStdout(try c.state(id).runtimeJSON.encoded(indent: "  "))
        case "kill":
            let sig = try parseSignal(a.positional.count > 1 ? a.positional[1] : "SIGTERM")
            try c.kill(id, signal: sig, all: a.bool("all"))
        case "delete":
            try c.delete(id, force: a.bool("force"))
        case "list":
            try list(c, format: a.string("format") ?? "table", quiet: a.bool("quiet"))
        case "ps":
            try ps(c, id: id, format: a.string("format") ?? "table", psArgs: Array(a.positional.dropFirst()))
        case "pause":
            try c.pause(id)
        case "resume":
            try c.resume(id)
        case "spec":
            try spec(bundle: a.string("bundle"), rootless: a.bool("rootless"))
        case "features":
            Stdio.writeStdout(Features.json().encoded(indent: "    ") + "\n")
        case "exec":
            return try c.exec(id, try execOptions(a))
        case "update":
            try c.update(id, try updateResources(a))
        case "events":
            try events(c, id: id, stats: a.bool("stats"), interval: a.string("interval") ?? "5s")
        default:
            throw SwrunError(.usage, "unknown command \(verb)")
        }
        return 0
    }

    static func execOptions(_ a: ParsedArgs) throws(SwrunError) -> ExecOptions {
        var o = ExecOptions()
        o.processFile = a.string("process")
        o.args = Array(a.positional.dropFirst())
        o.env = a.strings("env")
        o.cwd = a.string("cwd")
        o.user = a.string("user")
        o.additionalGids = a.strings("additional-gids").flatMap { $0.split(separator: ",").map(String.init) }
        o.caps = a.strings("cap")
        o.noNewPrivs = a.bool("no-new-privs")
        o.apparmor = a.string("apparmor")
        o.processLabel = a.string("process-label")
        o.tty = a.bool("tty")
        o.consoleSocket = a.string("console-socket")
        o.detach = a.bool("detach")
        o.pidFile = a.string("pid-file")
        o.ignorePaused = a.bool("ignore-paused")
        if let n = a.string("preserve-fds") {
            guard let v = Int(n), v >= 0 else { throw SwrunError(.usage, "invalid value \(Quote.short(n)) for flag -preserve-fds") }
            o.preserveFds = v
        }
        o.pidfdSocket = a.string("pidfd-socket")
        o.cgroups = a.strings("cgroup")
        return o
    }

    /// `update`: --resources FILE|- (LinuxResources JSON, as Docker sends it) and runc's
    /// flags on top.
    static func updateResources(_ a: ParsedArgs) throws(SwrunError) -> LinuxResources {
        var r = LinuxResources()
        if let file = a.string("resources") {
            let bytes: [UInt8]
            do {
                bytes = file == "-" ? try Files.readAll(fd: 0, max: Limits.configBytes, display: "standard input") : try Files.readInput(file, max: Limits.configBytes)
            } catch {
                throw SwrunError.system(error).wrapped("read resources")
            }
            do { r = try SpecLoader.decodeResourcesFast(bytes) } catch { throw SwrunError.config("resources: \(error.message)") }
        }
        func int(_ name: String, bytes: Bool = false) throws(SwrunError) -> Int64? {
            guard let s = a.string(name) else { return nil }
            guard let v = bytes ? parseBytes(s) : Int64(s) else { throw SwrunError(.usage, "invalid value for --\(name): \(s)") }
            return v
        }
        var mem = r.memory ?? LinuxMemory()
        if let v = try int("memory", bytes: true) { mem.limit = v }
        if let v = try int("memory-reservation", bytes: true) { mem.reservation = v }
        if let v = try int("memory-swap", bytes: true) { mem.swap = v }
        if let v = try int("kernel-memory-tcp", bytes: true) { mem.kernelTCP = v }
        if a.has("kernel-memory") { throw SwrunError(.usage, "--kernel-memory is obsolete and not supported") }
        if mem != LinuxMemory() { r.memory = mem }
        var cpu = r.cpu ?? LinuxCPU()
        if let v = try int("cpu-share") { cpu.shares = UInt64(max(0, v)) }
        if let v = try int("cpu-quota") { cpu.quota = v }
        if let v = try int("cpu-period") { cpu.period = UInt64(max(0, v)) }
        if let v = try int("cpu-rt-period") { cpu.realtimePeriod = UInt64(max(0, v)) }
        if let v = try int("cpu-rt-runtime") { cpu.realtimeRuntime = v }
        if let v = a.string("cpuset-cpus") { cpu.cpus = v }
        if let v = a.string("cpuset-mems") { cpu.mems = v }
        if cpu != LinuxCPU() { r.cpu = cpu }
        if let v = try int("pids-limit") { r.pids = LinuxPids(limit: v) }
        if let v = try int("blkio-weight") {
            var b = r.blockIO ?? LinuxBlockIO()
            b.weight = UInt16(clamping: v)
            r.blockIO = b
        }
        return r
    }

    /// Docker's RAMInBytes: 1024-based k, m, g, t suffixes (with an optional b); -1 stays -1.
    /// The number is finite and the result fits Int64, or it is refused (nil): `1e30k` and
    /// `infk` are input, not a reason to trap.
    public static func parseBytes(_ s: String) -> Int64? {
        if let v = Int64(s) { return v }
        var t = s.lowercased()
        if t.hasSuffix("b") { t.removeLast() }
        guard let unit = t.last, let mult: Int64 = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40][unit],
              let n = Double(t.dropLast()), n.isFinite, n >= 0 else { return nil }
        let v = n * Double(mult)
        // Double(Int64.max) rounds up to 2^63, which Int64 cannot hold: compare below it.
        guard v < 9_223_372_036_854_775_807.0 else { return nil }
        return Int64(v)
    }

    /// A Go duration ("5s", "100ms", "1m") in milliseconds, at most a year: finite,
    /// positive, or refused (nil).
    public static func parseDuration(_ s: String) -> Int? {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60000), ("h", 3_600_000)]
        for (u, f) in units where s.hasSuffix(u) {
            if let v = Double(s.dropLast(u.count)), v.isFinite, v > 0, v * f <= 31_536_000_000 { return max(1, Int(v * f)) }
        }
        return nil
    }

    static func events(_ c: Container, id: String, stats: Bool, interval: String) throws(SwrunError) {
        func line(_ type: String, _ data: JSON?) -> String {
            var m: [(String, JSON)] = [("type", .string(type)), ("id", .string(id))]
            if let data { m.append(("data", data)) }
            return JSON.object(m).encoded() + "\n"
        }
        if stats {
            Stdio.writeStdout(line("stats", try c.stats(id)))
            return
        }
        guard let ms = parseDuration(interval) else { throw SwrunError(.usage, "invalid interval \(Quote.short(interval))") }
        var ooms = c.oomKills(id)
        var next = 0
        while true {
            let stopped = c.isStopped(id)
            // An OOM kill often ends the container: report it before stopping.
            let o = c.oomKills(id)
            if o > ooms { Stdio.writeStdout(line("oom", nil)) }
            ooms = o
            if stopped { break }
            let now = Clock.monotonicMilliseconds()
            if now >= next {
                guard let s = try? c.stats(id) else { break }
                Stdio.writeStdout(line("stats", s))
                next = now + ms
            }
            Proc.sleep(milliseconds: min(ms, 50))
        }
    }

    /// runc's parseSignal: a number, or a name with or without SIG, any case.
    public static func parseSignal(_ s: String) throws(SwrunError) -> Int32 {
        if let n = Int32(s) {
            // 0 is kill(2)'s existence check, which runc passes on as well.
            guard n >= 0, n <= Signals.maxSignal else { throw SwrunError(.usage, "unknown signal \(Quote.short(s))") }
            return n
        }
        var name = s.uppercased()
        if name.startsWithBytes("SIG") { name.removeFirst(3) }
        if let hit = Signals.table.first(where: { $0.0 == name }) { return hit.1 }
        if name.startsWithBytes("RTMIN") || name.startsWithBytes("RTMAX") {
            // RTMIN+n and RTMAX-n, within 34...64; the offset is checked before it is added.
            let base: Int32 = name.startsWithBytes("RTMIN") ? 34 : 64
            let rest = name.dropFirst(5)
            if rest.isEmpty { return base }
            if let off = Int32(rest), (-30...30).contains(off), (34...64).contains(base + off) { return base + off }
        }
        throw SwrunError(.usage, "unknown signal \(Quote.short(s))")
    }

    static func list(_ c: Container, format: String, quiet: Bool) throws(SwrunError) {
        let states = try c.list()
        if quiet {
            Stdio.writeStdout(states.map { $0.id + "\n" }.joinedText())
            return
        }
        switch format {
        case "json":
            Stdio.writeStdout(JSON.array(states.map { $0.runtimeJSON }).encoded() + "\n")
        case "table":
            let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]] + states.map {
                [$0.id, String($0.pid), $0.status, $0.bundle, $0.created, $0.owner]
            }
            Stdio.writeStdout(Table.render(rows))
        default:
            throw SwrunError(.usage, "invalid format option")
        }
    }

    static func ps(_ c: Container, id: String, format: String, psArgs: [String]) throws(SwrunError) {
        let pids = try c.pids(id)
        switch format {
        case "json":
            Stdio.writeStdout(JSON.array(pids.map { .int(Int64($0)) }).encoded() + "\n")
        case "table":
            // As runc: ps(1) with the given options (default -ef), keeping the header and
            // the container's processes; without a ps on the host, /proc is read directly.
            if let out = HostPS.run(psArgs.isEmpty ? ["-ef"] : psArgs) {
                Stdio.writeStdout(try HostPS.filter(out, pids: Set(pids)))
                return
            }
            var rows = [["PID", "CMD"]]
            for pid in pids {
                let cmd = (try? Files.readFile("/proc/\(pid)/cmdline")).map { bytes in
                    bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                } ?? ""
                rows.append([String(pid), cmd])
            }
            Stdio.writeStdout(Table.render(rows))
        default:
            throw SwrunError(.usage, "invalid format option")
        }
    }

    static func spec(bundle: String?, rootless: Bool) throws(SwrunError) {
        let dir = bundle ?? "."
        let path = dir + "/config.json"
        if Files.exists(path) { throw SwrunError(.usage, "File config.json exists. Remove it first") }
        let text = rootless ? DefaultSpec.rootlessJSON(uid: Creds.geteuid(), gid: Creds.getegid()) : DefaultSpec.json
        do { try Files.writeAtomic(path, Array(text.utf8), mode: 0o644) } catch {
            throw SwrunError.system(error).wrapped("write \(path)")
        }
    }
}

/// Go's text/tabwriter with runc's settings (minwidth 12, padding 3, no trailing padding).
public enum Table {
    /// Columns padded to the widest cell + 3 (at least 12), as Go's tabwriter does for runc;
    /// widths in code points, as tabwriter counts runes. Built as bytes: `list` renders
    /// thousands of rows.
    public static func render(_ rows: [[String]]) -> String {
        guard let cols = rows.first?.count else { return "" }
        let runes = { (s: String) -> Int in s.utf8.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
        var widths = [Int](repeating: 12, count: cols)
        for r in rows { for (i, cell) in r.enumerated() where i < cols - 1 { widths[i] = max(widths[i], runes(cell) + 3) } }
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * widths.reduce(0, +) + rows.count * 40)
        for r in rows {
            for (i, cell) in r.enumerated() {
                out.append(contentsOf: cell.utf8)
                if i < cols - 1 { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[i] - runes(cell))) }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// ps(1) on the host, for `swrun ps ID [ps options]`.
public enum HostPS {
    static func run(_ args: [String]) -> String? {
        guard let ps = ["/bin/ps", "/usr/bin/ps"].first(where: { Files.isExecutable($0) }),
              let out = try? Files.pipe(),
              let pid = try? Proc.spawn(ps, ["ps"] + args, Proc.environment(), stdin: -1, stdout: out.write.raw, stderr: -1) else { return nil }
        out.write.close()
        let bytes = (try? Files.readAll(fd: out.read.raw)) ?? []
        guard let status = try? Proc.waitpid(pid), status == .exited(0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The header and the lines whose PID column is one of `pids` (runc's ps filter).
    public static func filter(_ output: String, pids: Set<Int32>) throws(SwrunError) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first, let column = header.split(separator: " ").firstIndex(of: "PID") else {
            throw SwrunError(.usage, "couldn't find PID field in ps output")
        }
        var out = String(header) + "\n"
        for line in lines.dropFirst() where !line.isEmpty {
            let fields = line.split(separator: " ")
            if fields.count > column, let pid = Int32(fields[column]), pids.contains(pid) { out += line + "\n" }
        }
        return out
    }
}
