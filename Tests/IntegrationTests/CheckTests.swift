import Foundation
import Testing

/// `swrun check` against a corpus of broken bundles: each gets the finding it should (the
/// field, the words), exit 1, and `run` fails on it too; a bundle check passes runs.
@Suite("check: the broken-bundle corpus", .enabled(if: Harness.enabled))
struct CheckTests {
    struct Finding {
        var path: String, severity: String, message: String, hint: String
    }

    /// `check --format json` of the sandbox's bundle: exit code and findings.
    func check(_ s: Sandbox, bundle: String? = nil) -> (Int32, [Finding]) {
        let r = s.swrun(["check", "--format", "json", "--bundle", bundle ?? s.bundle])
        guard let list = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: String]] else {
            Issue.record("check --format json printed no list: \(r.stdout) \(r.stderr)")
            return (r.code, [])
        }
        var out: [Finding] = []
        for item in list {
            #expect(Set(item.keys) == ["path", "severity", "message", "hint"], "\(item)")
            #expect(["error", "warning"].contains(item["severity"] ?? ""))
            #expect(!(item["hint"] ?? "").isEmpty, "every finding has a fix: \(item)")
            out.append(
                Finding(
                    path: item["path"] ?? "", severity: item["severity"] ?? "", message: item["message"] ?? "",
                    hint: item["hint"] ?? ""))
        }
        return (r.code, out)
    }

    /// One broken bundle: what to break, the field check must name (a prefix), words of
    /// its message.
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var path: String
        var words: String
        var when: @Sendable () -> Bool = { true }
        var breakIt: @Sendable (Sandbox) throws -> Void
        var description: String { name }
    }

    static func ns(_ s: Sandbox, _ f: ([[String: Any]]) -> [[String: Any]]) {
        var l = s.linux
        l["namespaces"] = f(l["namespaces"] as? [[String: Any]] ?? [])
        s.linux = l
    }

    static func addMount(_ s: Sandbox, _ m: [String: Any]) -> Int {
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(m)
        s.config["mounts"] = mounts
        return mounts.count - 1
    }

    static func setLinux(_ s: Sandbox, _ key: String, _ v: Any) {
        var l = s.linux
        l[key] = v
        s.linux = l
    }

    static func setProcess(_ s: Sandbox, _ key: String, _ v: Any) {
        var p = s.process
        p[key] = v
        s.process = p
    }

    static func setResources(_ s: Sandbox, _ key: String, _ v: Any) {
        var l = s.linux
        var r = l["resources"] as? [String: Any] ?? [:]
        r[key] = v
        l["resources"] = r
        s.linux = l
    }

    static let pureV2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")

    static let corpus: [Case] = [
        Case(name: "JSON syntax", path: "config.json", words: "line 3, column") { s in
            try "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}".write(
                toFile: s.bundle + "/config.json", atomically: true, encoding: .utf8)
        },
        Case(name: "wrong type", path: "process.args", words: "expected an array, found a string") { s in
            setProcess(s, "args", "/bin/true")
        },
        Case(name: "wrong nested type", path: "linux.resources.pids.limit", words: "expected a number") { s in
            setResources(s, "pids", ["limit": "many"])
        },
        Case(name: "missing required field", path: "process.cwd", words: "required field is missing") { s in
            var p = s.process; p["cwd"] = nil; s.process = p
        },
        Case(name: "ociVersion", path: "ociVersion", words: "outside what this swrun supports") { s in
            s.config["ociVersion"] = "9.0.0"
        },
        Case(name: "unknown namespace", path: "linux.namespaces[", words: "unknown namespace type \"bogus\"") { s in
            ns(s) { $0 + [["type": "bogus"]] }
        },
        Case(name: "duplicate namespace", path: "linux.namespaces[", words: "duplicate pid namespace") { s in
            ns(s) { $0 + [["type": "pid"]] }
        },
        Case(name: "no mount namespace", path: "linux.namespaces", words: "a mount namespace is required") { s in
            ns(s) { $0.filter { $0["type"] as? String != "mount" } }
        },
        Case(name: "hostname without uts", path: "hostname", words: "without a private UTS namespace") { s in
            ns(s) { $0.filter { $0["type"] as? String != "uts" } }
            s.config["hostname"] = "h"
        },
        Case(name: "unknown rlimit", path: "process.rlimits[0].type", words: "unknown rlimit") { s in
            setProcess(s, "rlimits", [["type": "RLIMIT_BOGUS", "soft": 1, "hard": 1]])
        },
        Case(name: "unknown capability", path: "process.capabilities.bounding", words: "unknown capability") { s in
            var p = s.process
            var c = p["capabilities"] as? [String: Any] ?? [:]
            c["bounding"] = ["CAP_KILL", "CAP_BOGUS"]
            p["capabilities"] = c
            s.process = p
        },
        Case(name: "unsupported field", path: "linux.intelRdt", words: "not supported") { s in
            setLinux(s, "intelRdt", ["closID": "x"])
        },
        Case(
            name: "id-mapped mount without a user namespace", path: "mounts[",
            words: "takes the container's user namespace, and there is none"
        ) { s in
            _ = addMount(s, ["destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["bind", "idmap"]])
        },
        Case(name: "rootfs missing", path: "root.path", words: "does not exist") { s in
            s.config["root"] = ["path": "no-such-rootfs"]
        },
        Case(name: "program not in PATH", path: "process.args[0]", words: "executable file not found in $PATH") { s in
            s.args(["no-such-program"])
        },
        Case(
            name: "program from the config's PATH", path: "process.args[0]", words: "executable file not found in $PATH"
        ) { s in
            // busybox is in /bin, and the config's PATH does not look there.
            s.args(["busybox", "true"])
            setProcess(s, "env", ["PATH=/data:/tmp"])
        },
        Case(name: "absolute program missing", path: "process.args[0]", words: "no such file or directory") { s in
            s.args(["/bin/no-such-program"])
        },
        Case(name: "program not executable", path: "process.args[0]", words: "permission denied") { s in
            try "#!/bin/sh\n".write(toFile: s.rootfs + "/data/script", atomically: true, encoding: .utf8)
            chmod(s.rootfs + "/data/script", 0o644)
            s.args(["/data/script"])
        },
        Case(name: "user name not in /etc/passwd", path: "process.user.username", words: "no user \"bob\"") { s in
            var p = s.process
            var u = p["user"] as? [String: Any] ?? [:]
            u["username"] = "bob"
            p["user"] = u
            s.process = p
        },
        Case(name: "cwd missing", path: "process.cwd", words: "no such file or directory") { s in
            setProcess(s, "cwd", "/no/such/dir")
        },
        Case(name: "cwd not a directory", path: "process.cwd", words: "not a directory") { s in
            setProcess(s, "cwd", "/etc/passwd")
        },
        Case(name: "cwd relative", path: "process.cwd", words: "must be an absolute path") { s in
            setProcess(s, "cwd", "data")
        },
        Case(name: "bind source missing", path: "mounts[", words: "does not exist") { s in
            _ = addMount(s, ["destination": "/mnt", "type": "bind", "source": "/no/such/source", "options": ["rbind"]])
        },
        Case(name: "mount destination relative", path: "mounts[", words: "must be an absolute path") { s in
            _ = addMount(s, ["destination": "mnt", "type": "tmpfs", "source": "tmpfs"])
        },
        Case(name: "rootfs propagation", path: "linux.rootfsPropagation", words: "invalid propagation") { s in
            setLinux(s, "rootfsPropagation", "sideways")
        },
        Case(name: "sysctl outside any namespace", path: "linux.sysctl", words: "not in a separate kernel namespace") {
            s in setLinux(s, "sysctl", ["vm.swappiness": "10"])
        },
        Case(
            name: "uid mappings without a user namespace", path: "linux.uidMappings",
            words: "user namespaces not enabled"
        ) { s in
            setLinux(s, "uidMappings", [["containerID": 0, "hostID": 100000, "size": 65536]])
        },
        Case(name: "seccomp action", path: "linux.seccomp.defaultAction", words: "unknown seccomp action") { s in
            setLinux(s, "seccomp", ["defaultAction": "SCMP_ACT_BOGUS"])
        },
        Case(name: "seccomp architecture", path: "linux.seccomp.architectures[0]", words: "unknown architecture") { s in
            setLinux(s, "seccomp", ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"]])
        },
        Case(name: "seccomp operator", path: "linux.seccomp.syscalls[0].args[0].op", words: "unknown operator") { s in
            setLinux(
                s, "seccomp",
                [
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [
                        [
                            "names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                            "args": [["index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"]],
                        ]
                    ],
                ])
        },
        Case(name: "AppArmor profile", path: "process.apparmorProfile", words: "profile \"swrun-no-such-profile\"") {
            s in setProcess(s, "apparmorProfile", "swrun-no-such-profile")
        },
        Case(
            name: "SELinux label", path: "process.selinuxLabel", words: "label",
            when: { !FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce") }
        ) { s in
            setProcess(s, "selinuxLabel", "system_u:system_r:bogus_t:s0")
        },
        Case(
            name: "controller the host lacks", path: "linux.resources.network.classID",
            words: "net_cls controller is not available", when: { pureV2 }
        ) { s in
            setResources(s, "network", ["classID": 1])
        },
        Case(name: "CPU that is not online", path: "linux.resources.cpu.cpus", words: "") { s in
            setResources(s, "cpu", ["cpus": "8000"])
        },
        Case(name: "huge page size the host lacks", path: "linux.resources.hugepageLimits", words: "") { s in
            setResources(s, "hugepageLimits", [["pageSize": "64KB", "limit": 1 << 20]])
        },
        Case(
            name: "prestart hook missing", path: "hooks.prestart[0].path",
            words: "/no/such/hook does not exist on the host"
        ) { s in
            s.config["hooks"] = ["prestart": [["path": "/no/such/hook"]]]
        },
        Case(name: "hook not executable", path: "hooks.createRuntime[0].path", words: "is not an executable file") {
            s in
            try "#!/bin/sh\n".write(toFile: s.dir + "/hook", atomically: true, encoding: .utf8)
            chmod(s.dir + "/hook", 0o644)
            s.config["hooks"] = ["createRuntime": [["path": s.dir + "/hook"]]]
        },
        Case(name: "hook path relative", path: "hooks.poststart[0].path", words: "must be absolute") { s in
            s.config["hooks"] = ["poststart": [["path": "hook.sh"]]]
        },
        Case(
            name: "startContainer hook missing in the container", path: "hooks.startContainer[0].path",
            words: "does not exist in the container"
        ) { s in
            s.config["hooks"] = ["startContainer": [["path": "/bin/no-such-hook"]]]
        },
    ]

    @Test(arguments: corpus)
    func brokenBundle(_ c: Case) throws {
        guard c.when() else { return }
        let s = try Sandbox("check-" + c.name)
        s.args(["/bin/true"])
        try s.writeConfig()
        try c.breakIt(s)
        if c.name != "JSON syntax" { try s.writeConfig() }
        let (code, findings) = check(s)
        #expect(code == 1, "\(c.name): check exits 1")
        let hit = findings.first {
            $0.severity == "error" && $0.path.hasPrefix(c.path) && (c.words.isEmpty || $0.message.contains(c.words))
        }
        #expect(
            hit != nil,
            "\(c.name): no error at \(c.path) saying \(c.words): \(findings.map { "\($0.path): \($0.message)" })")
        // What check says create hits, create (with start, as run) does hit.
        let id = s.id("chk")
        s.freshCgroup(id)
        if c.name != "JSON syntax" { try s.writeConfig() }
        let r = s.swrun(["run", "--bundle", s.bundle, id])
        #expect(r.code != 0, "\(c.name): check found an error, but run succeeded")
    }

    /// A good bundle: check passes (exit 0, no error) and the container runs; a bundle with
    /// only warnings passes as well.
    @Test func aBundleCheckPassesRuns() throws {
        let s = try Sandbox()
        s.args(["/bin/true"])
        try s.writeConfig()
        var (code, findings) = check(s)
        #expect(code == 0 && !findings.contains { $0.severity == "error" }, "\(findings)")
        var r = try s.runContainer()
        #expect(r.code == 0, "run: \(r.stderr)")
        // An unknown field, a platform section, two propagations, a missing poststop hook:
        // warnings, and run still works.
        Self.setProcess(s, "terminall", false)
        s.config["windows"] = ["layerFolders": []]
        _ = Self.addMount(
            s, ["destination": "/mnt", "type": "bind", "source": s.dir, "options": ["rbind", "rprivate", "rshared"]])
        s.config["hooks"] = ["poststop": [["path": "/no/such/poststop"]]]
        try s.writeConfig()
        (code, findings) = check(s)
        #expect(code == 0, "warnings alone pass: \(findings)")
        #expect(
            findings.contains {
                $0.path == "process.terminall" && $0.severity == "warning" && $0.hint.contains("\"terminal\"")
            })
        #expect(findings.contains { $0.path == "windows" && $0.severity == "warning" })
        #expect(findings.contains { $0.path.hasPrefix("mounts[") && $0.message.contains("more than one propagation") })
        #expect(findings.contains { $0.path.hasPrefix("mounts[") && $0.message.contains("cannot reach the host") })
        #expect(findings.contains { $0.path == "hooks.poststop[0].path" && $0.severity == "warning" })
        r = try s.runContainer()
        #expect(r.code == 0, "run with warnings: \(r.stderr)")
    }

    /// All problems at once, not the first: one run reports every one of them.
    @Test func reportsEveryProblemAtOnce() throws {
        let s = try Sandbox()
        s.args(["no-such-program"])
        Self.setProcess(s, "cwd", "/no/such/dir")
        Self.setProcess(s, "rlimits", [["type": "RLIMIT_BOGUS", "soft": 1, "hard": 1]])
        Self.ns(s) { $0 + [["type": "bogus"]] }
        _ = Self.addMount(s, ["destination": "/mnt", "type": "bind", "source": "/no/such/source", "options": ["bind"]])
        Self.setResources(s, "pids", ["limit": "many"])
        s.config["hooks"] = ["prestart": [["path": "/no/such/hook"]]]
        try s.writeConfig()
        let (code, findings) = check(s)
        #expect(code == 1)
        let errors = findings.filter { $0.severity == "error" }.map(\.path)
        for want in [
            "process.args[0]", "process.cwd", "process.rlimits[0].type", "linux.resources.pids.limit",
            "hooks.prestart[0].path",
        ] {
            #expect(errors.contains(want), "missing \(want) in \(errors)")
        }
        #expect(
            errors.contains { $0.hasPrefix("linux.namespaces[") }
                && errors.contains { $0.hasPrefix("mounts[") && $0.hasSuffix(".source") }, "\(errors)")
        // The text form says the same, with a count.
        let text = s.swrun(["check", "--bundle", s.bundle])
        #expect(text.code == 1 && text.stdout.contains("error: process.cwd: ") && text.stdout.contains("  fix: "))
        #expect(text.stdout.contains("create would fail: \(errors.count) errors"), "\(text.stdout)")
    }

    @Test func missingBundleAndConfig() throws {
        let s = try Sandbox()
        var (code, findings) = check(s, bundle: s.dir + "/nope")
        #expect(code == 1 && findings.first?.path == "bundle")
        // The sandbox has written no config.json yet.
        (code, findings) = check(s)
        #expect(
            code == 1 && findings.first?.path == "config.json" && findings.first?.message.contains("not found") == true)
        let bad = s.swrun(["check", "--format", "yaml", "--bundle", s.bundle])
        #expect(bad.code == 1 && bad.stderr.contains("invalid format"))
    }
}
