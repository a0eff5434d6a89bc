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
        guard let verb = Verbs.find(verbName) else {
            return .usage(UsageError(message: "No help topic for '\(verbName)'", verb: nil))
        }
        var args: ParsedArgs
        do {
            args = try ArgParser.parse(
                globals.positional.dropFirst(), flags: verb.flags + [FlagSpec(["help", "h"], help: "show help")],
                stopAtPositional: verb.stopAtPositional, verb: verb.name)
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
        guard let rootless = RootlessFlag.parse(globals.string("rootless")) else {
            return .failure(
                SwrunError(
                    .usage,
                    "invalid value \(Quote.short(globals.string("rootless") ?? "")) for --rootless: true, false or auto"
                ), verb: verbName)
        }
        var root: String
        if let given = globals.string("root") {
            root = given
        } else {
            do { root = try defaultRoot(verb: verb.name) } catch {
                return .failure(error, verb: verbName)
            }
        }
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
                return .failure(
                    SwrunError(.system, "cannot protect the swrun binary (CVE-2019-5736): \(error)"), verb: verb.name)
            }
            if let note = SealedBinary.note { Log.debug("CVE-2019-5736: \(note)") }
        }
        // The global --criu reaches checkpoint and restore with their own options.
        if let criu = globals.string("criu") { args.values["criu"] = [criu] }
        let container = Runtime(root: root)
        do {
            return .exit(
                try dispatch(
                    verb.name, args, container, systemdCgroup: globals.bool("systemd-cgroup"), rootless: rootless))
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
            args = try ArgParser.parse(
                globals.positional.dropFirst(), flags: verb.flags + [FlagSpec(["help", "h"], help: "show help")],
                stopAtPositional: verb.stopAtPositional, verb: verb.name)
        } catch {
            return error.message
        }
        switch globals.string("log-format") ?? "text" {
        case "text", "json": break
        default: return "invalid log-format"
        }
        if RootlessFlag.parse(globals.string("rootless")) == nil { return "invalid --rootless" }
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
            case "checkpoint": _ = try criuOptions(args)
            case "restore": _ = try restoreOptions(args)
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
        if p.count < v.minArgs {
            return UsageError(
                message: "swrun: \"\(v.name)\" requires a minimum of \(v.minArgs) argument(s)", verb: v.name)
        }
        if let max = v.maxArgs, p.count > max {
            return UsageError(message: "swrun: \"\(v.name)\" requires a maximum of \(max) argument(s)", verb: v.name)
        }
        return nil
    }

    /// The state root when --root is not given: /run/swrun for the host's root, and
    /// $XDG_RUNTIME_DIR/swrun for anyone else where that is set (runc's rule,
    /// Identity.honorsXDGRuntimeDir), made 0700 with the sticky bit, which the XDG spec asks
    /// of what must not be pruned from that directory (runc does the same).
    static func defaultRoot(verb: String) throws(SwrunError) -> String {
        guard let xdg = Proc.getenv("XDG_RUNTIME_DIR"), !xdg.isEmpty,
            Identity.current.honorsXDGRuntimeDir(user: Proc.getenv("USER"))
        else { return "/run/swrun" }
        let root = xdg + "/swrun"
        if verb == "spec" || verb == "features" { return root }
        do {
            _ = try Files.mkdirAll(root, mode: 0o700)
            try Files.chmod(root, mode: 0o1700)
        } catch {
            throw SwrunError(
                .system, "the state root in $XDG_RUNTIME_DIR must be writable by the user: \(error)", errno: error.errno
            )
        }
        return root
    }

    /// `systemdCgroup`: the global --systemd-cgroup, which only create and run read (every
    /// later verb uses the driver the container's record names, as runc); `rootless`: the
    /// global --rootless, read the same way.
    static func dispatch(
        _ verb: String, _ a: ParsedArgs, _ c: Runtime, systemdCgroup: Bool = false, rootless: RootlessFlag = .auto
    ) throws(SwrunError) -> Int32 {
        let id = a.positional.first ?? ""
        switch verb {
        case "create":
            var o = try createOptions(a)
            o.systemdCgroup = systemdCgroup
            o.rootlessCgroups = Identity.current.rootlessCgroups(rootless)
            try c.create(id: id, bundle: a.string("bundle") ?? ".", pidFile: a.string("pid-file"), options: o)
        case "run":
            var o = try createOptions(a)
            o.systemdCgroup = systemdCgroup
            o.forwardSignals = true
            o.rootlessCgroups = Identity.current.rootlessCgroups(rootless)
            o.detached = a.bool("detach")
            let cwd: String
            do { cwd = try Files.getcwd() } catch { throw SwrunError.system(error) }
            o.run = CreateOptions.Run(scratch: c.store.root + "/.sealed", argv: Proc.arguments, cwd: cwd)
            return try c.run(
                id: id, bundle: a.string("bundle") ?? ".", pidFile: a.string("pid-file"), options: o,
                detach: a.bool("detach"), keep: a.bool("keep"))
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
        case "check":
            return try check(
                bundle: a.string("bundle") ?? ".", format: a.string("format") ?? "text", systemdCgroup: systemdCgroup)
        case "exec":
            return try c.exec(id, try execOptions(a))
        case "update":
            try c.update(id, try updateResources(a))
        case "events":
            try events(c, id: id, stats: a.bool("stats"), interval: a.string("interval") ?? "5s")
        case "checkpoint":
            try c.checkpoint(id, try criuOptions(a))
        case "restore":
            var o = try restoreOptions(a)
            o.systemdCgroup = systemdCgroup
            return try c.restore(id, o)
        default:
            throw SwrunError(.usage, "unknown command \(verb)")
        }
        return 0
    }
}
