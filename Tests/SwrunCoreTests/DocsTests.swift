import Foundation
import OCISpec
import SwrunCLI
import SwrunCore
import SwrunDocs
import Testing

/// The man pages and completions are made from the command table (SwrunDocs): every verb
/// and every flag is in them, the scripts parse and complete, and the help text is swrun's
/// own words.
@Suite("man pages and completions from the command table")
struct DocsTests {
    /// A flag name as roff writes it (hyphens as \-).
    func roff(_ name: String) -> String {
        (name.count == 1 ? "\\-" : "\\-\\-") + name.replacingOccurrences(of: "-", with: "\\-")
    }

    @Test func everyVerbAndFlagHasItsManPage() {
        let pages = Dictionary(uniqueKeysWithValues: Manual.pages())
        #expect(pages.count == Verbs.all.count + 1)
        let root = try! #require(pages["swrun.8"])
        #expect(root.hasPrefix(".\\\"") && root.contains(".TH SWRUN 8"))
        for f in Verbs.globals {
            for n in f.names { #expect(root.contains("\\fB" + roff(n) + "\\fR"), "swrun(8) lacks \(n)") }
        }
        for v in Verbs.all {
            #expect(
                root.contains("\\fBswrun\\-\(v.name.replacingOccurrences(of: "-", with: "\\-"))\\fR(8)"),
                "swrun(8) lacks \(v.name)")
            guard let page = pages["swrun-\(v.name).8"] else { Issue.record("no page for \(v.name)"); continue }
            #expect(page.contains(".TH SWRUN-\(v.name.uppercased()) 8"))
            #expect(page.contains(".SH NAME\nswrun\\-\(v.name) \\- "))
            for f in v.flags {
                for n in f.names { #expect(page.contains("\\fB" + roff(n) + "\\fR"), "swrun-\(v.name)(8) lacks \(n)") }
            }
        }
    }

    @Test func completionsNameEveryVerbAndFlag() {
        let scripts = Dictionary(uniqueKeysWithValues: Completions.scripts())
        let bash = try! #require(scripts["swrun.bash"]), zsh = try! #require(scripts["_swrun"]),
            fish = try! #require(scripts["swrun.fish"])
        #expect(zsh.hasPrefix("#compdef swrun\n"))
        for v in Verbs.all {
            #expect(bash.contains("    \(v.name))\n"), "bash lacks \(v.name)")
            #expect(zsh.contains("'\(v.name):") && zsh.contains("    \(v.name))\n"), "zsh lacks \(v.name)")
            #expect(fish.contains("-a \(v.name) -d "), "fish lacks \(v.name)")
            for f in v.flags {
                for n in f.names {
                    let dashed = (n.count == 1 ? "-" : "--") + n
                    #expect(bash.contains(dashed), "bash lacks \(v.name) \(dashed)")
                    #expect(zsh.contains(dashed), "zsh lacks \(v.name) \(dashed)")
                }
                #expect(
                    fish.contains("__swrun_verb_is \(v.name)' -l \(f.names[0])")
                        || fish.contains("__swrun_verb_is \(v.name)' -s \(f.names[0])"),
                    "fish lacks \(v.name) --\(f.names[0])")
            }
        }
        for f in Verbs.globals {
            #expect(
                bash.contains("--" + f.names[0]) && zsh.contains("--" + f.names[0]) && fish.contains("-l " + f.names[0])
            )
        }
        // Container ids come from `swrun list -q`.
        for s in [bash, zsh, fish] { #expect(s.contains("list -q")) }
    }

    /// Writes the generated files and runs a command on them; nil when `tool` is missing.
    func withGenerated(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "swrun-docs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, text) in Completions.scripts() + Manual.pages() {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        // A stand-in swrun that answers `list -q` with two ids and records its arguments.
        try "#!/bin/sh\necho \"$@\" >> \(dir)/calls\necho web1; echo db2\n".write(
            toFile: dir + "/bin/swrun", atomically: true, encoding: .utf8)
        chmod(dir + "/bin/swrun", 0o755)
        try body(dir)
    }

    func sh(_ argv: [String], path: String) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.environment = ["PATH": path + ":/usr/bin:/bin", "HOME": "/tmp"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        guard (try? p.run()) != nil else { return (-1, "cannot run \(argv[0])") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs bash"))
    func bashCompletesVerbsFlagsValuesAndIds() throws {
        try withGenerated { dir in
            func complete(_ words: [String]) -> String {
                let list = words.map { "'\($0)'" }.joined(separator: " ")
                let script =
                    ". \(dir)/swrun.bash; COMP_WORDS=(\(list)); COMP_CWORD=\(words.count - 1); _swrun; echo \"${COMPREPLY[*]}\""
                return sh(["/bin/bash", "-c", script], path: dir + "/bin").1.trimmingCharacters(
                    in: .whitespacesAndNewlines)
            }
            #expect(complete(["swrun", "ch"]) == "check checkpoint")
            #expect(complete(["swrun", "che"]) == "check checkpoint")
            #expect(complete(["swrun", "res"]) == "restore resume")
            #expect(complete(["swrun", "--root", "/r", "kill", ""]) == "web1 db2")
            let calls = try String(contentsOfFile: dir + "/calls", encoding: .utf8)
            #expect(calls == "--root /r list -q\n", "the ids come from swrun --root /r list -q")
            #expect(complete(["swrun", "kill", "web1", "K"]) == "KILL")
            #expect(complete(["swrun", "check", "--format", ""]) == "text json")
            #expect(complete(["swrun", "--log-format", ""]) == "text json")
            #expect(complete(["swrun", "create", "--no-p"]) == "--no-pivot")
            #expect(complete(["swrun", "create", ""]) == "", "create takes a new id: nothing to complete")
            #expect(complete(["swrun", "delete", "--f"]) == "--force")
            #expect(complete(["swrun", "exec", "-t", ""]) == "web1 db2")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zsh"), "needs zsh (make deps)"))
    func zshScriptParses() throws {
        try withGenerated { dir in
            let (rc, out) = sh(["/usr/bin/zsh", "-n", dir + "/_swrun"], path: dir + "/bin")
            #expect(rc == 0, "zsh -n: \(out)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fish"), "needs fish (make deps)"))
    func fishScriptParsesAndCompletes() throws {
        try withGenerated { dir in
            let (rc, out) = sh(["/usr/bin/fish", "--no-execute", dir + "/swrun.fish"], path: dir + "/bin")
            #expect(rc == 0, "fish --no-execute: \(out)")
            // fish completes without a terminal: complete -C.
            let (_, ids) = sh(
                ["/usr/bin/fish", "-c", "source \(dir)/swrun.fish; complete -C 'swrun kill '"], path: dir + "/bin")
            #expect(Set(ids.split(separator: "\n")) == ["web1", "db2"], "fish: \(ids)")
            let (_, verbs) = sh(
                ["/usr/bin/fish", "-c", "source \(dir)/swrun.fish; complete -C 'swrun --root /x '"],
                path: dir + "/bin")
            #expect(verbs.contains("check\t") && verbs.contains("create\t"), "fish: \(verbs)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/groff"), "needs groff (make deps)"))
    func manPagesRenderWithoutWarnings() throws {
        try withGenerated { dir in
            for (name, _) in Manual.pages() {
                let (rc, out) = sh(
                    ["/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", dir + "/" + name], path: dir + "/bin")
                #expect(rc == 0 && out.isEmpty, "\(name): \(out)")
            }
        }
    }

    /// runc's help prose, which swrun's help used to copy: none of it is left.
    @Test func helpIsInSwrunsOwnWords() {
        let text = Help.root() + Verbs.all.map(Help.verb).joined()
        for phrase in [
            "path to the root of the bundle directory", "Forcibly deletes the container",
            "is the name for the instance of the container",
            "display container events such as OOM notifications", "allocate a pseudo-TTY",
            "do not use pivot root to jail process",
            "is a command line client for running applications packaged",
            "Shows a list of commands or help for one command",
            "The create command creates an instance of a container",
            "executes the user defined process in a created container",
            "set the log file to write", "root directory for storage of container state",
            "update container resource constraints",
            "Pass N additional file descriptors to the container", "specify the file to write the process id to",
        ] {
            #expect(!text.contains(phrase), "runc's words: \(phrase)")
        }
        // What clients do parse stays: the layout and the version lines.
        #expect(text.contains("USAGE:") && text.contains("GLOBAL OPTIONS:") && text.contains("COMMANDS:"))
    }
}

/// `check`'s decode: the same reader and mapper as create's, every error reported.
@Suite("check: collecting decode")
struct CheckDecodeTests {
    @Test func everyWrongFieldIsReportedNotTheFirst() {
        let json =
            #"{"ociVersion": "1.0.2", "process": {"cwd": "/", "args": "sh", "user": {"uid": "0", "gid": 0}, "terminall": true},"#
            + #" "mounts": [{"destination": "/a"}, {"destination": 5}], "linux": {"resources": {"pids": {"limit": "x"}}, "namespace": []}}"#
        let d = SpecLoader.diagnose(Array(json.utf8))
        let messages = d.errors.map(\.message)
        for want in [
            "process.args: expected an array", "process.user.uid: expected a number",
            "mounts[1].destination: expected a string", "linux.resources.pids.limit: expected a number",
        ] {
            #expect(messages.contains { $0.hasPrefix(want) }, "missing \(want) in \(messages)")
        }
        #expect(d.spec != nil, "the rest of the config is still decoded")
        let unknown = d.unknownFields.map(\.path)
        #expect(unknown.contains("process.terminall") && unknown.contains("linux.namespace"))
        #expect(d.unknownFields.first { $0.path == "process.terminall" }?.suggestion == "terminal")
        #expect(d.unknownFields.first { $0.path == "linux.namespace" }?.suggestion == "namespaces")
        // create's decode is unchanged: the first error, thrown.
        #expect(throws: SwrunError.self) { try Validation.spec(Array(json.utf8)) }
    }

    @Test func syntaxErrorsGiveLineAndColumn() {
        let d = SpecLoader.diagnose(Array("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}".utf8))
        #expect(d.spec == nil && d.errors.count == 1)
        #expect(d.errors.first?.message.contains("line 3, column 15") == true, "\(d.errors)")
    }

    @Test func findingsSplitFieldAndMessage() {
        let f = Finding(SwrunError.config("linux.namespaces[1].type: unknown namespace type \"bogus\""))
        #expect(
            f.path == "linux.namespaces[1].type" && f.message == "unknown namespace type \"bogus\""
                && f.severity == .error)
        #expect(f.hint.contains("pid, network, mount"))
        #expect(Finding(SwrunError.config("(root): invalid JSON at line 1, column 2: x")).path == "config.json")
    }

    @Test func textReportCountsErrorsAndWarnings() {
        let text = SwrunCLI.checkText(
            [
                Finding(path: "process.cwd", message: "m", hint: "h"),
                Finding(path: "x", severity: .warning, message: "w"),
            ], bundle: "b")
        #expect(
            text.contains("error: process.cwd: m\n  fix: h\n")
                && text.hasSuffix("b: create would fail: 1 error, 1 warning\n"))
    }
}
