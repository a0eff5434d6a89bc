import SwrunCLI
import SwrunCore
import Testing

@Suite("argv spellings (runc's)")
struct CLITests {
    let create = Verbs.find("create")!.flags

    @Test func globalsBeforeVerb() throws {
        let g = try ArgParser.parse(
            ["--root", "/x", "--log=/l", "--log-format", "json", "--debug", "create", "--bundle", "b", "id"][...],
            flags: Verbs.globals, stopAtPositional: true, verb: nil)
        #expect(
            g.string("root") == "/x" && g.string("log") == "/l" && g.string("log-format") == "json" && g.bool("debug"))
        #expect(g.positional == ["create", "--bundle", "b", "id"])
    }

    @Test func goStyleSingleDashAndEquals() throws {
        let a = try ArgParser.parse(
            ["-bundle", "/b", "--pid-file=/p", "-b", "/c", "id"][...], flags: create, stopAtPositional: false,
            verb: "create")
        #expect(a.string("bundle") == "/c" && a.string("pid-file") == "/p" && a.positional == ["id"])
    }

    @Test func booleansAcceptExplicitValues() throws {
        let a = try ArgParser.parse(
            ["--no-pivot=false", "--no-new-keyring", "id"][...], flags: create, stopAtPositional: false, verb: "create")
        #expect(!a.bool("no-pivot") && a.bool("no-new-keyring"))
    }

    /// The usage error `create`'s parser gives for argv, or nil when it parses.
    func usageError(_ argv: [String]) -> String? {
        do {
            _ = try ArgParser.parse(argv[...], flags: create, stopAtPositional: false, verb: "create")
            return nil
        } catch {
            return error.message
        }
    }

    @Test func unknownFlagAndMissingValue() {
        #expect(throws: UsageError.self) {
            try ArgParser.parse(["--nope", "id"][...], flags: create, stopAtPositional: false, verb: "create")
        }
        #expect(usageError(["--pid-file"]) == "flag needs an argument: -pid-file")
        #expect(usageError(["--nope"]) == "flag provided but not defined: -nope")
    }

    @Test func execStopsAtTheCommand() throws {
        let a = try ArgParser.parse(
            ["--tty", "id", "ls", "-la", "--color"][...], flags: Verbs.find("exec")!.flags, stopAtPositional: true,
            verb: "exec")
        #expect(a.bool("tty") && a.positional == ["id", "ls", "-la", "--color"])
    }

    /// Flags are read by bytes, as Go's flag package reads them: "-" alone and a non-ASCII
    /// argument are positional, a value after "=" keeps every byte (another "=", non-ASCII).
    @Test func flagsByBytes() throws {
        let a = try ArgParser.parse(
            ["-", "--pid-file=/p=q/ä", "-b=/ü", "é"][...], flags: create, stopAtPositional: false, verb: "create")
        #expect(a.positional == ["-", "é"])
        #expect(a.string("pid-file") == "/p=q/ä" && a.string("bundle") == "/ü")
        #expect(usageError(["--ä=1"]) == "flag provided but not defined: -ä")
        // Two dashes at most are stripped, as Go does; "---x" names the flag "-x".
        #expect(usageError(["---bundle", "b"]) == "flag provided but not defined: --bundle")
    }

    @Test func doubleDashEndsFlags() throws {
        let a = try ArgParser.parse(["--", "-weird-id"][...], flags: create, stopAtPositional: false, verb: "create")
        #expect(a.positional == ["-weird-id"])
    }

    @Test(arguments: [
        ("KILL", 9), ("SIGKILL", 9), ("9", 9), ("term", 15), ("SIGUSR1", 10), ("HUP", 1), ("RTMIN+2", 36),
    ])
    func signals(name: String, number: Int32) throws {
        #expect(try SwrunCLI.parseSignal(name) == number)
    }

    @Test func badSignals() {
        // RTMIN+2147483647 overflowed Int32 and trapped the process (SIGILL).
        for s in [
            "NOPE", "65", "-1", "", "RTMIN+2147483647", "RTMAX-2147483648", "RTMIN+31", "RTMAX+1",
            "SIGRTMIN+99999999999",
        ] {
            #expect(throws: SwrunError.self) { try SwrunCLI.parseSignal(s) }
        }
    }

    /// 0 is kill(2)'s existence check, which runc passes on.
    @Test func signalZeroIsAccepted() throws {
        #expect(try SwrunCLI.parseSignal("0") == 0)
        #expect(try SwrunCLI.parseSignal("RTMAX-30") == 34 && SwrunCLI.parseSignal("RTMIN+30") == 64)
    }

    /// Inputs that used to trap (Double to Int64 of inf or 1e30): refused, never a crash.
    @Test func bytesAndDurationsNeverTrap() {
        for s in ["1e30k", "infk", "nank", "-1k", "9223372036854775807k", "1e300g"] {
            #expect(SwrunCLI.parseBytes(s) == nil, "\(s)")
        }
        #expect(
            SwrunCLI.parseBytes("1k") == 1024 && SwrunCLI.parseBytes("-1") == -1
                && SwrunCLI.parseBytes("1.5m") == 1_572_864)
        for s in ["1e300s", "infs", "nans", "0s", "-5s", "1e20ms"] {
            #expect(SwrunCLI.parseDuration(s) == nil, "\(s)")
        }
        #expect(SwrunCLI.parseDuration("5s") == 5000 && SwrunCLI.parseDuration("100ms") == 100)
    }

    @Test func everyVerbHasHelp() {
        for v in Verbs.all {
            let h = Help.verb(v)
            #expect(h.contains("swrun \(v.name) - ") && h.contains("USAGE:"))
        }
        #expect(Help.root().contains("GLOBAL OPTIONS:") && Help.root().contains("--systemd-cgroup"))
        #expect(Help.versionText(libseccomp: "2.5.4").hasPrefix("swrun version "))
        #expect(
            Help.versionText(libseccomp: "2.5.4").contains("\ncommit: ")
                && Help.versionText(libseccomp: "2.5.4").contains("\nspec: 1.0.2-dev"))
    }

    @Test func psFilterKeepsHeaderAndContainerPids() throws {
        let out =
            "UID   PID  PPID  C STIME TTY  TIME CMD\nroot    1     0  0 10:00 ?    00:00:01 /sbin/init\nroot  4242     1  0 10:00 ?    00:00:00 sleep 60\n"
        #expect(
            try HostPS.filter(out, pids: [4242])
                == "UID   PID  PPID  C STIME TTY  TIME CMD\nroot  4242     1  0 10:00 ?    00:00:00 sleep 60\n")
        #expect(throws: SwrunError.self) { try HostPS.filter("NOPE\n1\n", pids: [1]) }
    }

    @Test func tableLikeGoTabwriter() {
        let t = Table.render([["ID", "PID", "STATUS"], ["a-long-container-id", "1", "running"]])
        #expect(t == "ID                    PID         STATUS\na-long-container-id   1           running\n")
    }
}
