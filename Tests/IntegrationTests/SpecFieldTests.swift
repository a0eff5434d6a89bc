import Foundation
import Testing

/// Each spec field, checked from inside the container by the probe.
@Suite("spec fields take effect", .enabled(if: Harness.enabled))
struct SpecFieldTests {
    @Test func pidHostnameDomainnameCwdEnv() throws {
        let s = try Sandbox()
        s.config["hostname"] = "swrun-host"
        s.config["domainname"] = "example.test"
        s.process["cwd"] = "/tmp"
        s.process["env"] = ["PATH=/bin", "FOO=bar baz"]
        let r = try s.report()
        #expect(r["pid"] == "1")
        #expect(r["hostname"] == "swrun-host")
        #expect(r["domainname"] == "example.test")
        #expect(r["cwd"] == "/tmp")
        s.args(["/bin/swrun-probe", "env"])
        let env = try s.runContainer().stdout.split(separator: "\n").map(String.init)
        #expect(env.contains("FOO=bar baz") && env.contains("PATH=/bin"))
        #expect(env.contains("HOME=/root"), "HOME comes from the container's /etc/passwd")
    }

    @Test func userGroupsUmask() throws {
        let s = try Sandbox()
        s.process["user"] = ["uid": 1000, "gid": 1000, "additionalGids": [5, 27], "umask": 0o077]
        let r = try s.report()
        #expect(r["uid"] == "1000" && r["euid"] == "1000")
        #expect(r["gid"] == "1000")
        #expect(r["groups"] == "5,27")
        #expect(r["umask"] == "0077")
        #expect(r["CapEff"] == "0000000000000000", "a non-root user without ambient caps has no effective caps")
        s.args(["/bin/swrun-probe", "env"])
        #expect(try s.runContainer().stdout.contains("HOME=/home/alice"))
    }

    @Test func usernameFromTheContainersPasswd() throws {
        let s = try Sandbox()
        s.process["user"] = ["uid": 0, "gid": 0, "username": "alice"]
        let r = try s.report()
        #expect(r["uid"] == "1000" && r["gid"] == "1000")
        s.process["user"] = ["uid": 0, "gid": 0, "username": "mallory"]
        let bad = try s.runContainer()
        #expect(
            bad.code == 1 && bad.stderr.contains("process.user.username: no user") && bad.stderr.contains("mallory"))
    }

    @Test func rootfsPropagationShared() throws {
        let s = try Sandbox()
        var linux = s.linux
        linux["rootfsPropagation"] = "rshared"
        s.linux = linux
        s.args(["/bin/cat", "/proc/self/mountinfo"])
        let r = try s.runContainer()
        #expect(r.code == 0, "\(r.stderr)")
        let root = r.stdout.split(separator: "\n").first { $0.split(separator: " ").dropFirst(4).first == "/" } ?? ""
        #expect(root.contains("shared:"), "the container's / is shared: \(root)")
    }

    @Test func capabilitySets() throws {
        let s = try Sandbox()
        s.process["capabilities"] = [
            "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
            "effective": ["CAP_KILL", "CAP_CHOWN"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"],
        ]
        let r = try s.report()
        #expect(r["CapBnd"] == "0000000000002021")
        #expect(r["CapEff"] == "0000000000000021")
        #expect(r["CapPrm"] == "0000000000000021")
        #expect(r["CapInh"] == "0000000000000020")
        #expect(r["CapAmb"] == "0000000000000020")
    }

    @Test func containerGetsDefaultSignalDispositions() throws {
        // swrun ignores SIGPIPE itself; the container must not inherit that.
        let s = try Sandbox()
        s.args(["/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"])
        let r = try s.runContainer()
        #expect(r.stdout.contains("SigBlk:\t0000000000000000"), "\(r.stdout)")
        #expect(!r.stdout.contains("SigIgn:\t0000000000001000"), "SIGPIPE must not be ignored: \(r.stdout)")
        // Nor what swrun's caller ignores (the init resets exactly the signals /proc says are
        // ignored or caught, 32 and 33 included): HUP, INT, USR1 and TERM ignored by the shell
        // that runs swrun, with whatever this test runner ignores.
        let id = s.id("sig")
        s.freshCgroup(id)
        s.args(["/bin/grep", "SigIgn", "/proc/self/status"])
        try s.writeConfig()
        let shell = Harness.run([
            "/bin/sh", "-c",
            "trap '' HUP INT USR1 TERM; grep SigIgn /proc/self/status; exec \(Harness.binary) --root \(s.root) run -b \(s.bundle) \(id)",
        ])
        let lines = shell.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(shell.stdout) \(shell.stderr)")
        let caller = UInt64(lines.first?.split(separator: "\t").last ?? "", radix: 16) ?? 0
        #expect(caller & 0x4203 == 0x4203, "the caller ignores them: \(shell.stdout)")
        #expect(lines.last == "SigIgn:\t0000000000000000", "the container does not: \(shell.stdout) \(shell.stderr)")
    }

    @Test func defaultSpecHasEmptyInheritableAndNoNewPrivs() throws {
        let s = try Sandbox()
        let r = try s.report()
        #expect(r["CapInh"] == "0000000000000000")
        #expect(r["CapBnd"] == "0000000020000420")
        #expect(r["nnp"] == "1")
        #expect(r["dumpable"] == "1", "exec makes the process dumpable again")
    }

    @Test func rlimitsAndOomScore() throws {
        let s = try Sandbox()
        s.process["rlimits"] = [
            ["type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024], ["type": "RLIMIT_CORE", "soft": 0, "hard": 0],
        ]
        s.process["oomScoreAdj"] = 123
        let r = try s.report()
        #expect(r["rlimit.nofile"] == "512:1024")
        #expect(r["rlimit.core"] == "0:0")
        #expect(r["oom_score_adj"] == "123")
    }

    @Test func onlyStdioReachesTheContainer() throws {
        let s = try Sandbox()
        // fd 3 open in the runtime (as containerd's shim passes its socket) must not leak.
        let id = s.id("fd")
        s.freshCgroup(id)
        try s.writeConfig()
        let r = Harness.run([
            "/bin/sh", "-c", "exec 3</etc/hostname 4</etc/hostname; exec \"$@\"", "sh", Harness.binary, "--root",
            s.root, "run", "--bundle", s.bundle, id,
        ])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(Sandbox.parse(r.stdout)["fds"] == "0,1,2")
        let id2 = s.id("fdp")
        s.freshCgroup(id2)
        try s.writeConfig()
        let p = Harness.run([
            "/bin/sh", "-c", "exec 3</etc/hostname 4</etc/hostname; exec \"$@\"", "sh", Harness.binary, "--root",
            s.root, "run", "--preserve-fds", "1", "--bundle", s.bundle, id2,
        ])
        #expect(Sandbox.parse(p.stdout)["fds"] == "0,1,2,3")
    }

    @Test func mountsAndTheirOptions() throws {
        let s = try Sandbox()
        let hostDir = s.dir + "/shared"
        try FileManager.default.createDirectory(atPath: hostDir + "/sub", withIntermediateDirectories: true)
        try "hello".write(toFile: hostDir + "/file", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: s.rootfs + "/seed", withIntermediateDirectories: true)
        try "seeded".write(toFile: s.rootfs + "/seed/a", atomically: true, encoding: .utf8)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts += [
            ["destination": "/data/ro", "type": "bind", "source": hostDir, "options": ["rbind", "ro", "nosuid"]],
            ["destination": "/data/rw", "type": "bind", "source": hostDir, "options": ["bind", "rw"]],
            ["destination": "/data/file", "type": "bind", "source": hostDir + "/file", "options": ["bind", "ro"]],
            [
                "destination": "/data/tmp", "type": "tmpfs", "source": "tmpfs",
                "options": ["noexec", "nodev", "mode=700", "size=1m"],
            ],
            ["destination": "/seed", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]],
            ["destination": "/deep/new/dir", "type": "tmpfs", "source": "tmpfs", "options": []],
        ]
        s.config["mounts"] = mounts
        s.config["root"] = ["path": "rootfs", "readonly": true]
        s.args([
            "/bin/sh", "-c",
            """
            swrun-probe mountopts /data/ro; swrun-probe write /data/ro/x
            swrun-probe write /data/rw/y; cat /data/file; echo; swrun-probe write /data/file
            swrun-probe mountopts /data/tmp; swrun-probe stat /data/tmp
            cat /seed/a; echo; swrun-probe mountopts /deep/new/dir; swrun-probe write /rootfile
            """,
        ])
        let r = try s.runContainer()
        #expect(r.code == 1, "the last command (a write to the read-only root) fails: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count >= 14, "\(r.stdout) \(r.stderr)")
        guard lines.count >= 14 else { return }
        #expect(lines[0].hasPrefix("opts=ro,nosuid"))
        #expect(lines[2] == "EROFS")
        #expect(lines[3] == "ok" && FileManager.default.fileExists(atPath: hostDir + "/y"))
        #expect(lines[4] == "hello" && lines[5] == "EROFS")
        #expect(lines[6].contains("nodev") && lines[6].contains("noexec") && lines[7] == "fstype=tmpfs")
        #expect(lines[8] == "type=dir" && lines[9] == "mode=0700")
        #expect(lines.contains("seeded"), "tmpcopyup copies the directory's content")
        #expect(lines.contains("fstype=tmpfs"))
        #expect(lines.last == "EROFS", "root.readonly")
    }

    @Test func maskedAndReadonlyPaths() throws {
        let s = try Sandbox()
        s.args([
            "/bin/sh", "-c",
            "cat /proc/kcore | head -c 10 | wc -c; swrun-probe mountopts /proc/sys; swrun-probe write /proc/sys/kernel/hostname; ls /sys/firmware | wc -l",
        ])
        let r = try s.runContainer()
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "0", "/proc/kcore is masked with /dev/null")
        #expect(lines.contains { $0.hasPrefix("opts=ro") })
        #expect(lines.contains("EROFS"))
        #expect(lines.last == "0", "/sys/firmware is masked with an empty tmpfs")
    }

    @Test func devicesAndDevSymlinks() throws {
        let s = try Sandbox()
        var linux = s.linux
        linux["devices"] = [
            [
                "path": "/dev/swrun-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000,
                "gid": 1000,
            ]
        ]
        s.linux = linux
        s.args([
            "/bin/sh", "-c",
            "swrun-probe stat /dev/swrun-null; swrun-probe stat /dev/null; swrun-probe stat /dev/ptmx; swrun-probe stat /dev/fd",
        ])
        let out = try s.runContainer().stdout
        let blocks = out.components(separatedBy: "type=").dropFirst().map { Sandbox.parse("type=" + $0) }
        #expect(blocks.count == 4)
        guard blocks.count == 4 else { return }
        #expect(
            blocks[0]["type"] == "char" && blocks[0]["mode"] == "0640" && blocks[0]["uid"] == "1000"
                && blocks[0]["major"] == "1" && blocks[0]["minor"] == "3")
        #expect(blocks[1]["type"] == "char" && blocks[1]["mode"] == "0666")
        #expect(blocks[2]["type"] == "symlink" && blocks[2]["target"] == "pts/ptmx")
        #expect(blocks[3]["target"] == "/proc/self/fd")
    }

    @Test func sysctlsAreWrittenInTheContainersNamespaces() throws {
        let s = try Sandbox()
        var linux = s.linux
        linux["sysctl"] = ["net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"]
        s.linux = linux
        s.args(["/bin/sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"])
        let before = try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8)
        let r = try s.runContainer()
        #expect(r.stdout == "1\n1234\n", "\(r.stderr)")
        #expect(
            try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8) == before,
            "the host's value is untouched")
    }

    @Test func cgroupPlacementAndNamespace() throws {
        let s = try Sandbox()
        let id = s.id("cg")
        s.args(["/bin/swrun-probe", "report"])
        s.freshCgroup(id)
        try s.writeConfig()
        let r = s.swrun(["run", "--bundle", s.bundle, id])
        let cgroups = Sandbox.parse(r.stdout)["cgroup"] ?? ""
        #expect(cgroups.contains("pids:") && cgroups.contains(id), "placed in the container's cgroup: \(cgroups)")
        var linux = s.linux
        var ns = linux["namespaces"] as? [[String: Any]] ?? []
        ns.append(["type": "cgroup"])
        linux["namespaces"] = ns
        s.linux = linux
        let inNs = Sandbox.parse(try s.runContainer().stdout)["cgroup"] ?? ""
        #expect(
            inNs.split(separator: "\n").allSatisfy { $0.hasSuffix(":/") },
            "a new cgroup namespace is rooted at the container's cgroup: \(inNs)")
    }

    @Test func timeNamespaceOffsets() throws {
        let s = try Sandbox()
        var linux = s.linux
        var ns = linux["namespaces"] as? [[String: Any]] ?? []
        ns.append(["type": "time"])
        linux["namespaces"] = ns
        linux["timeOffsets"] = ["boottime": ["secs": 86400 * 400, "nanosecs": 0]]
        s.linux = linux
        s.args(["/bin/cat", "/proc/uptime"])
        let r = try s.runContainer()
        let up = Double(r.stdout.split(separator: " ").first ?? "") ?? 0
        #expect(up > 86400 * 400, "boottime offset applied: \(r.stdout) \(r.stderr)")
    }

    @Test func joinNetworkNamespaceByPath() throws {
        let s = try Sandbox()
        let nsFile = s.dir + "/netns"
        FileManager.default.createFile(atPath: nsFile, contents: nil)
        // A persistent network namespace, bound on a file; the container must be in it.
        let mk = Harness.run(["/usr/bin/unshare", "--net=\(nsFile)", "/bin/true"])
        #expect(mk.code == 0, "\(mk.stderr)")
        defer { _ = Harness.run(["/bin/umount", nsFile]) }
        let ino = try #require(try FileManager.default.attributesOfItem(atPath: nsFile)[.systemFileNumber] as? UInt64)
        var linux = s.linux
        linux["namespaces"] = (linux["namespaces"] as? [[String: Any]] ?? []).map {
            $0["type"] as? String == "network" ? ["type": "network", "path": nsFile] : $0
        }
        s.linux = linux
        s.args(["/bin/swrun-probe", "stat", "/proc/self/ns/net"])
        let r = try s.runContainer()
        #expect(Sandbox.parse(r.stdout)["target"] == "net:[\(ino)]", "\(r.stdout) \(r.stderr)")
    }

    @Test func newNetworkNamespaceHasLoopbackUp() throws {
        let s = try Sandbox()
        s.args(["/bin/cat", "/sys/class/net/lo/operstate", "/proc/net/dev"])
        let r = try s.runContainer()
        #expect(!r.stdout.contains("eth0"))
        #expect(r.stdout.hasPrefix("unknown") || r.stdout.hasPrefix("up"), "\(r.stdout)")
    }

    @Test func seccompFilterIsCachedAndVerified() throws {
        let s = try Sandbox()
        var linux = s.linux
        linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38]],
        ]
        s.linux = linux
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/sh", "-c", "mkdir /tmp/y 2>&1"])
        let first = try s.runContainer()
        #expect(first.stdout.contains("not implemented"), "\(first.stdout)")
        let cache = s.root + "/.cache/seccomp"
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(files.count == 1 && files[0].hasSuffix(".bpf"))
        let id = s.id("sc")
        s.freshCgroup(id)
        try s.writeConfig()
        let second = s.swrun(["--debug", "run", "--bundle", s.bundle, id])
        #expect(
            second.stdout.contains("not implemented") && second.stderr.contains("seccomp: filter from cache"),
            "\(second.stderr)")
        // A cache file whose recorded input does not match is ignored, never installed.
        let path = cache + "/" + files[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[10] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let id3 = s.id("sc")
        s.freshCgroup(id3)
        try s.writeConfig()
        let third = s.swrun(["--debug", "run", "--bundle", s.bundle, id3])
        #expect(
            third.stdout.contains("not implemented") && !third.stderr.contains("filter from cache"), "\(third.stderr)")
        #expect(s.swrun(["list", "-q"]).stdout.isEmpty, "the cache directory is not a container")
    }

    @Test func syscallsNewerThanTheProfileGetENOSYS() throws {
        // A profile that names the x86_64 syscalls up to 400 (as one written years ago would),
        // denying by default with EPERM: a newer syscall must see ENOSYS, a named-but-denied
        // older one EPERM.
        let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", encoding: .utf8)
        var names: [String] = []
        for line in header.split(separator: "\n") where line.hasPrefix("#define __NR_") {
            let f = line.split(separator: " ")
            if f.count == 3, let nr = Int(f[2]), nr <= 400, f[1] != "__NR_acct" {
                names.append(String(f[1].dropFirst(5)))
            }
        }
        #expect(names.count > 300)
        let s = try Sandbox()
        var linux = s.linux
        linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [["names": names, "action": "SCMP_ACT_ALLOW"]],
        ]
        s.linux = linux
        s.args(["/bin/sh", "-c", "swrun-probe syscall 440; swrun-probe syscall 163"])
        let r = try s.runContainer()
        #expect(r.stdout == "ENOSYS\nEPERM\n", "\(r.stdout) \(r.stderr)")
        // The same on the i386 ABI (int 0x80), when the profile admits it: above the highest
        // i386 number the profile names, ENOSYS; acct (51 on i386), denied, EPERM.
        linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [["names": names, "action": "SCMP_ACT_ALLOW"]],
        ]
        s.linux = linux
        s.args(["/bin/sh", "-c", "swrun-probe int80 450; swrun-probe int80 51; swrun-probe syscall 440"])
        let r32 = try s.runContainer()
        #expect(r32.stdout == "ENOSYS\nEPERM\nENOSYS\n", "\(r32.stdout) \(r32.stderr)")
    }

    @Test func seccompNotifySendsTheListenerToTheAgent() throws {
        let s = try Sandbox()
        let (agent, sock, out) = try s.probeServer("seccomp-agent", "agent")
        var linux = s.linux
        linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta-1",
            "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"]],
        ]
        s.linux = linux
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/sh", "-c", "mkdir /tmp/notified 2>&1; echo rc=$?"])
        let id = s.id("ntf")
        let r = try s.runContainer(id)
        agent.waitUntilExit()
        let got = try String(contentsOfFile: out, encoding: .utf8)
        #expect(
            r.stdout.contains("Invalid cross-device link"),
            "the agent's answer (EXDEV) reached the container: \(r.stdout) \(r.stderr)")
        #expect(
            got.contains("\"fds\":[\"seccompFd\"]") && got.contains("\"metadata\":\"meta-1\"")
                && got.contains("\"id\":\"\(id)\""), "\(got)")
        #expect(got.contains("notified=83\n") || got.contains("notified=258\n"), "mkdir or mkdirat: \(got)")
    }

    @Test func seccompErrnoRule() throws {
        let s = try Sandbox()
        var linux = s.linux
        linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38]],
        ]
        s.linux = linux
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; echo rc=$?"])
        let r = try s.runContainer()
        #expect(r.stdout.contains("Seccomp:\t2"))
        #expect(r.stdout.contains("not implemented"), "ENOSYS (38) from the filter: \(r.stdout)")
    }
}
