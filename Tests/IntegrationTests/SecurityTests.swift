import Foundation
import Testing

/// Regression tests named after runtime CVEs (../shared/docs/SECURITY.md): each reproduces
/// the attack with a malicious bundle or container and asserts it fails and the host is
/// unchanged. docs/security.md lists which CVEs are covered so far.
@Suite("security regressions", .enabled(if: Harness.enabled))
struct SecurityTests {
    /// CVE-2024-21626: a cwd of /proc/self/fd/N must not land in a host directory held open
    /// by the runtime, and no runtime fd may reach the container.
    @Test func cve_2024_21626_leakedFdCwd() throws {
        let s = try Sandbox()
        for n in 3...9 {
            s.process["cwd"] = "/proc/self/fd/\(n)"
            let r = try s.runContainer()
            #expect(r.code == 1, "cwd /proc/self/fd/\(n) must fail, got \(r.code): \(r.stdout)")
            #expect(r.stderr.contains("chdir to cwd"), "\(r.stderr)")
        }
        s.process["cwd"] = "/"
        #expect(Sandbox.parse(try s.report().map { "\($0)=\($1)" }.joined(separator: "\n"))["fds"] == "0,1,2")
        // exec: the same through --cwd
        let id = try s.startDetached("lv", args: ["/bin/sleep", "60"])
        for n in 3...9 {
            let r = s.swrun(["exec", "--cwd", "/proc/self/fd/\(n)", id, "/bin/ls"])
            #expect(r.code != 0, "exec --cwd /proc/self/fd/\(n) must fail: \(r.stdout)")
        }
        #expect(Sandbox.parse(s.swrun(["exec", id, "/bin/swrun-probe", "report"]).stdout)["fds"] == "0,1,2")
    }

    /// CVE-2019-19921, CVE-2023-27561: /proc in the rootfs is a symlink pointing out of it;
    /// the proc mount must stay inside the rootfs and the host path must not be touched.
    @Test func cve_2019_19921_procSymlinkOutOfRoot() throws {
        let s = try Sandbox()
        let canary = s.dir + "/host-canary"
        try FileManager.default.createDirectory(atPath: canary, withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: s.rootfs + "/proc")
        try FileManager.default.createSymbolicLink(
            atPath: s.rootfs + "/proc", withDestinationPath: "../../../../../../../..\(canary)")
        s.args(["/bin/true"])
        _ = try s.runContainer()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: canary).isEmpty,
            "nothing mounted or created in the host directory")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(canary))
    }

    /// CVE-2024-45310 (deterministic form): a mount target under a symlink that points out
    /// of the rootfs is created inside the rootfs, never on the host.
    @Test func cve_2024_45310_mountTargetUnderSymlink() throws {
        let s = try Sandbox()
        let canary = s.dir + "/host-canary2"
        try FileManager.default.createDirectory(atPath: canary, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: s.rootfs + "/vol", withDestinationPath: canary)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/vol/a/b/c", "type": "tmpfs", "source": "tmpfs", "options": []])
        s.config["mounts"] = mounts
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/true"])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: canary).isEmpty, "no directory created on the host")
        #expect(
            FileManager.default.fileExists(atPath: s.rootfs + canary + "/a/b/c"), "created inside the rootfs instead")
    }

    /// CVE-2025-31133: masking binds /dev/null; if the container's /dev/null is not the null
    /// device (here: a bind of a host file), masking must fail rather than expose that file.
    @Test func cve_2025_31133_devNullReplaced() throws {
        let s = try Sandbox()
        let target = s.dir + "/not-null"
        try "secret".write(toFile: target, atomically: true, encoding: .utf8)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/dev/null", "type": "bind", "source": target, "options": ["bind"]])
        s.config["mounts"] = mounts
        let r = try s.runContainer()
        #expect(r.code == 1)
        #expect(r.stderr.contains("not the null device"), "\(r.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "secret")
    }

    /// CVE-2025-52565: /dev/console is the container's pty, opened from the master fd, and a
    /// /dev/console symlink in the image is refused rather than followed.
    @Test func cve_2025_52565_consoleIsThePty() throws {
        let s = try Sandbox()
        s.process["terminal"] = true
        s.args(["/bin/sh", "-c", "swrun-probe stat /dev/console"])
        try s.writeConfig()
        let r = Sandbox.underTerminal("\(Harness.binary) --root \(s.root) run --bundle \(s.bundle) \(s.id("con"))")
        // script(1) may echo a stray control character before the output: keep printable text.
        let text = String(r.stdout.unicodeScalars.filter { $0 == "\n" || $0.value >= 0x20 }).replacingOccurrences(
            of: "^@", with: "")
        let st = Sandbox.parse(text)
        #expect(st["type"] == "char" && st["major"] == "136", "\(r.stdout)")
        // An image whose /dev is not a tmpfs and whose /dev/console points at a host-ish file.
        s.config["mounts"] = (s.config["mounts"] as? [[String: Any]] ?? []).filter {
            ($0["destination"] as? String) != "/dev"
        }
        try FileManager.default.createDirectory(atPath: s.rootfs + "/dev", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: s.rootfs + "/dev/console", withDestinationPath: "/proc/sysrq-trigger")
        try s.writeConfig()
        let bad = Sandbox.underTerminal("\(Harness.binary) --root \(s.root) run --bundle \(s.bundle) \(s.id("con"))")
        #expect(bad.stdout.contains("neither a file nor a device"), "\(bad.stdout)")
    }

    /// CVE-2016-3697: a numeric --user is always an id, even if the image names a user "1000"
    /// with uid 0.
    @Test func cve_2016_3697_numericUserIsAnID() throws {
        let s = try Sandbox()
        try "root:x:0:0:root:/root:/bin/sh\n1000:x:0:0::/:/bin/sh\n".write(
            toFile: s.rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
        let id = try s.startDetached("nu")
        #expect(s.swrun(["exec", "--user", "1000", id, "/bin/id", "-u"]).stdout == "1000\n")
        #expect(
            s.swrun(
                ["exec", "--process", "/dev/stdin", id],
                stdin: #"{"args":["/bin/id","-u"],"cwd":"/","user":{"uid":1000,"gid":0}}"#
            ).stdout == "1000\n")
    }

    /// CVE-2026-41579, CVE-2026-47766: an image whose /dev is a symlink out of the rootfs
    /// (and no tmpfs on /dev) gets its devices and /dev symlinks inside the rootfs; the host
    /// directory and a marker in it are untouched.
    @Test func cve_2026_41579_devSymlinkOutOfRoot() throws {
        let s = try Sandbox()
        let host = s.dir + "/host-dev"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "marker".write(toFile: host + "/ptmx", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: s.rootfs + "/dev")
        try FileManager.default.createSymbolicLink(
            atPath: s.rootfs + "/dev", withDestinationPath: "../../../../../../../.." + host)
        s.config["mounts"] = (s.config["mounts"] as? [[String: Any]] ?? []).filter {
            !(($0["destination"] as? String) ?? "").hasPrefix("/dev")
        }
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/true"])
        _ = try s.runContainer()
        #expect(try FileManager.default.contentsOfDirectory(atPath: host) == ["ptmx"], "nothing created on the host")
        #expect(try String(contentsOfFile: host + "/ptmx", encoding: .utf8) == "marker")
    }

    /// CVE-2019-18837, CVE-2021-30465 (deterministic form): a mount destination through a
    /// symlink to "/" or "../.." lands inside the rootfs; the host's mount table is unchanged.
    @Test func cve_2019_18837_mountDestinationThroughSymlink() throws {
        let s = try Sandbox()
        try FileManager.default.createSymbolicLink(atPath: s.rootfs + "/up", withDestinationPath: "../../../../..")
        try FileManager.default.createSymbolicLink(atPath: s.rootfs + "/slash", withDestinationPath: "/")
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/up/escape1", "type": "tmpfs", "source": "tmpfs", "options": []])
        mounts.append(["destination": "/slash/escape2", "type": "tmpfs", "source": "tmpfs", "options": []])
        s.config["mounts"] = mounts
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/sh", "-c", "grep -c escape /proc/self/mounts"])
        let before = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let r = try s.runContainer()
        #expect(r.stdout == "2\n", "both mounts are inside the container: \(r.stdout) \(r.stderr)")
        #expect(
            FileManager.default.fileExists(atPath: s.rootfs + "/escape1")
                && FileManager.default.fileExists(atPath: s.rootfs + "/escape2"))
        #expect(
            !FileManager.default.fileExists(atPath: "/escape1") && !FileManager.default.fileExists(atPath: "/escape2"))
        #expect(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) == before)
    }

    /// CVE-2021-43784's class: a 70 000-byte annotation either starts correctly or fails
    /// cleanly; here it starts, and hooks see it whole.
    @Test func cve_2021_43784_hugeAnnotation() throws {
        let s = try Sandbox()
        let big = String(repeating: "x", count: 70_000)
        s.config["annotations"] = ["big": big]
        // createRuntime runs in swrun itself; startContainer in the init, which got the state
        // over the sync socket.
        s.config["hooks"] = [
            "createRuntime": [["path": "/bin/sh", "args": ["sh", "-c", "wc -c > \(s.dir)/state-size"]]],
            "startContainer": [["path": "/bin/sh", "args": ["sh", "-c", "wc -c > /tmp/state-size"]]],
        ]
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/true"])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(r.stderr)")
        let size =
            Int(
                (try String(contentsOfFile: s.dir + "/state-size", encoding: .utf8)).trimmingCharacters(
                    in: .whitespacesAndNewlines)) ?? 0
        #expect(size > 70_000, "the hook got the whole state (\(size) bytes)")
        let inInit =
            Int(
                (try String(contentsOfFile: s.rootfs + "/tmp/state-size", encoding: .utf8)).trimmingCharacters(
                    in: .whitespacesAndNewlines)) ?? 0
        #expect(inInit > 70_000, "the init's hook got the whole state through the sync socket (\(inInit) bytes)")
    }

    /// CVE-2023-25809: every /sys/fs/cgroup mount is read-only when the config says ro.
    @Test func cve_2023_25809_cgroupMountsReadOnly() throws {
        let s = try Sandbox()
        s.args(["/bin/sh", "-c", "grep /sys/fs/cgroup /proc/self/mounts"])
        let lines = try s.runContainer().stdout.split(separator: "\n")
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.split(separator: " ")[3].hasPrefix("ro,") }, "\(lines)")
    }

    /// CVE-2016-9962 / CVE-2019-5736: until it execs, the init is swrun's image holding host
    /// fds; it is non-dumpable, so a process in the container without CAP_SYS_PTRACE can
    /// neither read its memory or environment nor open its /proc/<pid>/exe.
    /// CVE-2019-5736: the container makes swrun's child execute `#!/proc/self/exe`, holds the
    /// resulting process's exe (swrun's own file) and reopens it for writing once it exits.
    /// swrun runs create/run/exec from a read-only overlay view (or a sealed memfd), so the
    /// reopen fails and the host binary is unchanged.
    @Test func cve_2019_5736_binaryCannotBeOverwritten() throws {
        let s = try Sandbox()
        try "#!/proc/self/exe --log=/tmp/fifo\n".write(
            toFile: s.rootfs + "/bin/evil", atomically: true, encoding: .utf8)
        chmod(s.rootfs + "/bin/evil", 0o755)
        s.config["root"] = ["path": "rootfs", "readonly": false]
        let binaryHash = Harness.run(["/usr/bin/sha256sum", Harness.binary]).stdout
        let id = try s.startDetached(
            "cve5736",
            args: ["/bin/sh", "-c", "mkfifo /tmp/fifo; /bin/swrun-probe hunt-exe /tmp/fifo > /tmp/hunt; sleep 60"])
        #expect(Harness.waitUntil { FileManager.default.fileExists(atPath: s.rootfs + "/tmp/fifo") })
        let ex = s.swrun(["exec", id, "/bin/evil"])
        #expect(ex.code != 0, "the hijacked exec runs swrun in the container, which fails on the bogus verb")
        var hunt = ""
        for _ in 0..<100 {
            hunt = s.swrun(["exec", id, "/bin/cat", "/tmp/hunt"]).stdout
            if hunt.contains("open-write=") || hunt.contains("found=nothing") { break }
            usleep(50_000)
        }
        #expect(hunt.contains("found=") && hunt.contains("held=yes"), "the attack reached swrun's exe: \(hunt)")
        #expect(
            hunt.contains("open-write=EROFS") || hunt.contains("open-write=EPERM"),
            "swrun's file must not be writable: \(hunt)")
        #expect(
            Harness.run(["/usr/bin/sha256sum", Harness.binary]).stdout == binaryHash, "swrun's binary is unchanged")
    }

    /// The protected view is what runs: a `run` that needs one (here: a startContainer hook
    /// runs inside the container's PID namespace while the init is still swrun's image) shows
    /// its exe on the detached overlay ("/swrun"), and a binary already on a read-only mount is
    /// not re-executed. Where overlayfs cannot be used, a sealed memfd copy runs.
    @Test func cve_2019_5736_protectedViewOrReadOnlyMount() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "1"])
        s.config["hooks"] = ["startContainer": [["path": "/bin/true"]]]
        let plain = s.id("sv"), bound = s.id("sv")
        s.freshCgroup(plain)
        try s.writeConfig()
        let bin = Harness.binary, root = s.root, bundle = s.bundle
        let probe = "\(bin) --root \(root) run -b \(bundle) ID & sleep 0.5; readlink /proc/$!/exe; wait"
        let r1 = Harness.run(["/bin/sh", "-c", probe.replacingOccurrences(of: "ID", with: plain)])
        #expect(r1.stdout.hasPrefix("/swrun"), "run executes from the overlay view: \(r1.stdout) \(r1.stderr)")
        s.freshCgroup(bound)
        try s.writeConfig()
        let ro =
            "mount --bind \(bin) \(bin) && mount -o remount,bind,ro \(bin) && "
            + probe.replacingOccurrences(of: "ID", with: bound)
        let r2 = Harness.run(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", ro])
        let real = URL(fileURLWithPath: bin).resolvingSymlinksInPath().path
        #expect(r2.stdout.hasPrefix(real), "a binary on a read-only mount runs as it is: \(r2.stdout) \(r2.stderr)")
        // Where overlayfs cannot take the binary's directory (here: a ':' in its path), a
        // sealed memfd copy runs instead; --debug says which.
        let odd = s.dir + "/odd:dir"
        try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bin, toPath: odd + "/swrun")
        let memfd = s.id("sv")
        s.freshCgroup(memfd)
        try s.writeConfig()
        let log = s.dir + "/debug.log"
        let r3 = Harness.run([
            "/bin/sh", "-c",
            "'\(odd)/swrun' --debug --log \(log) --root \(root) run -b \(bundle) \(memfd) & sleep 0.5; readlink /proc/$!/exe; wait",
        ])
        #expect(r3.stdout.hasPrefix("/memfd:swrun"), "\(r3.stdout) \(r3.stderr)")
        let debug = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(debug.contains("sealed memfd copy"), "\(debug.prefix(400))")
        let plainLog = s.dir + "/debug2.log"
        s.freshCgroup(plain)
        try s.writeConfig()
        _ = Harness.run([bin, "--debug", "--log", plainLog, "--root", root, "run", "-b", bundle, s.id("sv")])
        let plainDebug = (try? String(contentsOfFile: plainLog, encoding: .utf8)) ?? ""
        #expect(
            plainDebug.contains("run needs a protected view: createContainer/startContainer hooks"),
            "\(plainDebug.prefix(600))")
        #expect(plainDebug.contains("read-only overlay view"))
        // create and exec always run from the view: the init of a created container waits as
        // swrun's image until `start`, and exec enters a container whose processes run.
        s.config["hooks"] = nil
        let c = s.id("sv")
        s.freshCgroup(c)
        try s.writeConfig()
        let clog = s.dir + "/debug3.log"
        #expect(Harness.run([bin, "--debug", "--log", clog, "--root", root, "create", "-b", bundle, c]).code == 0)
        #expect(((try? String(contentsOfFile: clog, encoding: .utf8)) ?? "").contains("read-only overlay view"))
        let e = Harness.run([
            "/bin/sh", "-c", "\(bin) --root \(root) exec \(c) /bin/sleep 1 & sleep 0.5; readlink /proc/$!/exe; wait",
        ])
        #expect(e.stdout.hasPrefix("/swrun"), "exec executes from the overlay view: \(e.stdout) \(e.stderr)")
        _ = s.swrun(["delete", "-f", c])
    }

    /// `run` re-executes only where a process other than its init can be in the container's
    /// PID namespace before the init's execve (Launcher.exposure): not for a new PID
    /// namespace without hooks inside it, but for a shared or joined one. Until the execve
    /// the state says "creating", which exec refuses.
    @Test func cve_2019_5736_runProtectsWhereExposed() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "1"])
        let bin = Harness.binary, root = s.root, bundle = s.bundle
        let real = URL(fileURLWithPath: bin).resolvingSymlinksInPath().path
        let a = s.id("rx")
        s.freshCgroup(a)
        try s.writeConfig()
        let log = s.dir + "/run.log"
        let r1 = Harness.run([
            "/bin/sh", "-c",
            "\(bin) --debug --log \(log) --root \(root) run -b \(bundle) \(a) & sleep 0.5; readlink /proc/$!/exe; wait",
        ])
        #expect(
            r1.stdout.hasPrefix(real), "a new PID namespace without hooks: no re-execution: \(r1.stdout) \(r1.stderr)")
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("run needs no protected view"))
        // The host's PID namespace (no pid entry): every host process sees the init.
        let b = s.id("rx")
        s.freshCgroup(b)
        s.linux["namespaces"] = [["type": "mount"], ["type": "uts"], ["type": "ipc"]]
        try s.writeConfig()
        let r2 = Harness.run([
            "/bin/sh", "-c", "\(bin) --root \(root) run -b \(bundle) \(b) & sleep 0.5; readlink /proc/$!/exe; wait",
        ])
        #expect(r2.stdout.hasPrefix("/swrun"), "a shared PID namespace: the overlay view: \(r2.stdout) \(r2.stderr)")
        // "creating" is refused by exec: a createRuntime hook holds a create in that state.
        let c = s.id("rx")
        s.freshCgroup(c)
        s.linux["namespaces"] = [["type": "pid"], ["type": "mount"], ["type": "uts"], ["type": "ipc"]]
        s.config["hooks"] = ["createRuntime": [["path": "/bin/sh", "args": ["sh", "-c", "sleep 1"]]]]
        try s.writeConfig()
        let r3 = Harness.run([
            "/bin/sh", "-c",
            "\(bin) --root \(root) create -b \(bundle) \(c) & sleep 0.5; \(bin) --root \(root) state \(c) | grep -o creating; \(bin) --root \(root) exec \(c) /bin/true; echo exec=$?; wait",
        ])
        #expect(r3.stdout.contains("creating\nexec=255"), "\(r3.stdout) \(r3.stderr)")
        _ = s.swrun(["delete", "-f", c])
    }

    @Test func cve_2016_9962_initNotDumpableBeforeExec() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "60"])
        let id = s.id("dmp")
        s.freshCgroup(id)
        try s.writeConfig()
        let binaryHash = Harness.run(["/usr/bin/sha256sum", Harness.binary]).stdout
        #expect(s.swrun(["create", "--bundle", s.bundle, id]).code == 0)
        let r = s.swrun([
            "exec", id, "/bin/sh", "-c",
            "cat /proc/1/environ >/dev/null 2>&1 && echo environ-readable; readlink /proc/1/exe >/dev/null 2>&1 && echo exe-readable; echo x > /proc/1/exe 2>/dev/null && echo exe-writable; echo done",
        ])
        #expect(r.stdout == "done\n", "\(r.stdout) \(r.stderr)")
        #expect(s.swrun(["start", id]).code == 0)
        Harness.waitUntil { s.swrun(["exec", id, "/bin/sh", "-c", "readlink /proc/1/exe"]).stdout == "/bin/busybox\n" }
        let after = s.swrun(["exec", id, "/bin/sh", "-c", "readlink /proc/1/exe"])
        #expect(after.stdout == "/bin/busybox\n", "after exec the init is the container's program: \(after.stdout)")
        #expect(
            Harness.run(["/usr/bin/sha256sum", Harness.binary]).stdout == binaryHash, "swrun's binary is unchanged")
    }

    /// CVE-2022-29162 / CVE-2022-27650 / CVE-2025-27612: exec --cap never adds inheritable or
    /// ambient capabilities; exec without --cap has an empty inheritable set even when the
    /// container's own process has one.
    @Test func cve_2022_29162_execCapNotInheritable() throws {
        let s = try Sandbox()
        s.process["capabilities"] = [
            "bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
            "inheritable": ["CAP_KILL"],
        ]
        let id = try s.startDetached("cap", args: ["/bin/sleep", "60"])
        let withCap = Sandbox.parse(
            s.swrun(
                ["exec", "--cap", "CAP_AUDIT_WRITE", "--process", "/dev/stdin", id],
                stdin:
                    #"{"args":["/bin/swrun-probe","report"],"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}}"#
            ).stdout)
        #expect(withCap["CapInh"] == "0000000000000000" && withCap["CapAmb"] == "0000000000000000")
        let plain = Sandbox.parse(
            s.swrun(["exec", "--cap", "CAP_AUDIT_WRITE", id, "/bin/swrun-probe", "report"]).stdout)
        #expect(plain["CapAmb"] == "0000000000000000")
        #expect(plain["CapEff"] == "0000000020000020", "CAP_KILL + CAP_AUDIT_WRITE: \(plain["CapEff"] ?? "")")
    }
}
