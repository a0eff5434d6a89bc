import Foundation
import Testing

@Suite("exec and terminals", .enabled(if: Harness.enabled))
struct ExecTerminalTests {
    @Test func execJoinsNamespacesAndCgroup() throws {
        let s = try Sandbox()
        s.config["hostname"] = "exec-host"
        let id = try s.startDetached("ex")
        let r = s.swrun(["exec", id, "/bin/swrun-probe", "report"])
        #expect(r.code == 0, "\(r.stderr)")
        let rep = Sandbox.parse(r.stdout)
        #expect(rep["hostname"] == "exec-host")
        #expect(
            rep["pid"] != "1" && Int(rep["pid"] ?? "") ?? 0 < 100,
            "in the container's pid namespace: \(rep["pid"] ?? "")")
        #expect((rep["cgroup"] ?? "").contains(id), "in the container's cgroup")
        #expect(rep["fds"] == "0,1,2")
        #expect(rep["CapInh"] == "0000000000000000" && rep["nnp"] == "1")
        #expect(s.swrun(["exec", id, "/bin/swrun-probe", "exit", "42"]).code == 42)
    }

    @Test func execFlags() throws {
        let s = try Sandbox()
        let id = try s.startDetached("exf")
        let r = s.swrun([
            "exec", "--user", "1000:1000", "--additional-gids", "7", "--cwd", "/tmp", "--env", "A=b", id,
            "/bin/swrun-probe", "report",
        ])
        let rep = Sandbox.parse(r.stdout)
        #expect(
            rep["uid"] == "1000" && rep["gid"] == "1000" && rep["groups"] == "7" && rep["cwd"] == "/tmp", "\(r.stderr)")
        let named = Sandbox.parse(s.swrun(["exec", "--user", "alice", id, "/bin/swrun-probe", "report"]).stdout)
        #expect(named["uid"] == "1000" && named["gid"] == "1000")
        #expect(s.swrun(["exec", "--user", "1000x", id, "/bin/true"]).code != 0, "user specs are parsed strictly")
        // CVE-2022-29162: --cap never reaches the inheritable set.
        let caps = Sandbox.parse(s.swrun(["exec", "--cap", "CAP_SYS_ADMIN", id, "/bin/swrun-probe", "report"]).stdout)
        #expect(
            caps["CapEff"] == "0000000020200420" && caps["CapInh"] == "0000000000000000"
                && caps["CapAmb"] == "0000000000000000")
        let env = s.swrun(["exec", "--env", "A=b", id, "/bin/swrun-probe", "env"]).stdout
        #expect(env.contains("A=b\n") && env.contains("HOME=/root"))
        let missing = s.swrun(["exec", id, "nonexistent"])
        #expect(missing.code != 0 && missing.stderr.contains("executable file not found in $PATH"))
    }

    /// process.execCPUAffinity (exec only): the program runs on the final CPUs; a bad CPU
    /// list names the field.
    @Test(.enabled(if: sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2))
    func execCPUAffinity() throws {
        let s = try Sandbox()
        let id = try s.startDetached("aff")
        var proc: [String: Any] = [
            "args": ["/bin/grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/", "user": ["uid": 0, "gid": 0],
            "env": ["PATH=/bin"], "execCPUAffinity": ["initial": "0", "final": "1"],
        ]
        let file = s.dir + "/process.json"
        try JSONSerialization.data(withJSONObject: proc).write(to: URL(fileURLWithPath: file))
        let r = s.swrun(["exec", "--process", file, id])
        #expect(r.code == 0 && r.stdout.hasSuffix("\t1\n"), "\(r.stdout) \(r.stderr)")
        proc["execCPUAffinity"] = ["final": "1-x"]
        try JSONSerialization.data(withJSONObject: proc).write(to: URL(fileURLWithPath: file))
        let bad = s.swrun(["exec", "--process", file, id])
        #expect(
            bad.code == 255 && bad.stderr.contains("exec failed: process.execCPUAffinity.final: invalid CPU list")
                && bad.stderr.contains("1-x"), "\(bad.stderr)")
    }

    @Test func execProcessFileDetachedAndPidFile() throws {
        let s = try Sandbox()
        let id = try s.startDetached("exp")
        let proc: [String: Any] = [
            "args": ["/bin/sleep", "30"], "cwd": "/", "user": ["uid": 0, "gid": 0], "env": ["PATH=/bin"],
        ]
        let file = s.dir + "/process.json"
        try JSONSerialization.data(withJSONObject: proc).write(to: URL(fileURLWithPath: file))
        let pidFile = s.dir + "/exec.pid"
        let r = s.swrun(["exec", "--process", file, "--detach", "--pid-file", pidFile, id])
        #expect(r.code == 0, "\(r.stderr)")
        let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try #require(Int32(pidText))
        #expect(kill(pid, 0) == 0, "a detached exec keeps running after swrun exits")
        let pids = s.swrun(["ps", "--format", "json", id]).stdout
        #expect(pids.contains(String(pid)))
        #expect(s.swrun(["delete", "--force", id]).code == 0)
    }

    @Test func execRejectsLSMLabelsTheHostCannotApply() throws {
        let s = try Sandbox()
        let id = try s.startDetached("lsm")
        if !FileManager.default.fileExists(atPath: "/sys/kernel/security/apparmor") {
            let r = s.swrun(["exec", "--apparmor", "docker-default", id, "/bin/true"])
            #expect(r.code != 0 && r.stderr.contains("AppArmor is not enabled"), "\(r.stderr)")
        }
        if !FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce") {
            let r = s.swrun(["exec", "--process-label", "system_u:system_r:container_t:s0", id, "/bin/true"])
            #expect(r.code != 0 && r.stderr.contains("SELinux is not enabled"), "\(r.stderr)")
        }
    }

    @Test func execInStoppedContainerFails() throws {
        let s = try Sandbox()
        let id = try s.startDetached("exs")
        _ = s.swrun(["kill", id, "KILL"])
        #expect(Harness.waitUntil { s.state(id)["status"] as? String == "stopped" })
        let r = s.swrun(["exec", id, "/bin/true"])
        #expect(r.code != 0 && r.stderr.contains("stopped"))
    }

    @Test func consoleSocketReceivesThePty() throws {
        let s = try Sandbox()
        s.process["terminal"] = true
        s.process["consoleSize"] = ["height": 31, "width": 97]
        s.args(["/bin/sh", "-c", "tty; stty size; ls -l /dev/console"])
        let (recv, sock, outPath) = try s.probeServer("recvtty", "tty")
        let id = s.id("tty")
        s.freshCgroup(id)
        try s.writeConfig()
        let r = s.swrun(["run", "-d", "--console-socket", sock, "--bundle", s.bundle, id])
        #expect(r.code == 0, "\(r.stderr)")
        recv.waitUntilExit()
        let out = try String(contentsOfFile: outPath, encoding: .utf8)
        #expect(out.hasPrefix("name=/dev/pts/0"))
        // ONLCR is off, as runc sets the pty up: "\n" stays "\n" (it was "\r\n").
        #expect(out.contains("/dev/pts/0\n31 97\n") && !out.contains("\r"), "\(out)")
        #expect(out.contains("136,   0 "), "/dev/console is the pty")
        let noSock = s.swrun(["create", "--bundle", s.bundle, s.id("tty")])
        #expect(noSock.code != 0 && noSock.stderr.contains("console socket"))
    }

    @Test func pidfdSocketForCreateAndExec() throws {
        let s = try Sandbox()
        s.args(["/bin/sleep", "60"])
        let id = s.id("pfd")
        s.freshCgroup(id)
        try s.writeConfig()
        let (p, sock, out) = try s.probeServer("recvtty", "pidfd")
        let r = s.swrun(["create", "--pidfd-socket", sock, "--bundle", s.bundle, id])
        #expect(r.code == 0, "\(r.stderr)")
        p.waitUntilExit()
        let pid = s.state(id)["pid"] as? Int ?? -1
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "name=pidfd\npidfd.pid=\(pid)\n")
        #expect(s.swrun(["start", id]).code == 0)
        let (p2, sock2, out2) = try s.probeServer("recvtty", "pidfd2")
        let pidFile = s.dir + "/e.pid"
        #expect(
            s.swrun(["exec", "-d", "--pid-file", pidFile, "--pidfd-socket", sock2, id, "/bin/sleep", "30"]).code == 0)
        p2.waitUntilExit()
        let epid = try String(contentsOfFile: pidFile, encoding: .utf8)
        #expect(try String(contentsOfFile: out2, encoding: .utf8) == "name=pidfd\npidfd.pid=\(epid)\n")
    }

    @Test func notifySocketIsRelayed() throws {
        let s = try Sandbox()
        s.args(["/bin/sh", "-c", "swrun-probe notify STATUS=starting; sleep 0.2; swrun-probe notify READY=1; sleep 30"])
        let id = s.id("ntf")
        s.freshCgroup(id)
        try s.writeConfig()
        let (listener, host, out) = try s.probeServer("notify-listen", "host-notify")
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = host
        #expect(
            Harness.run([Harness.binary, "--root", s.root, "create", "--bundle", s.bundle, id], env: env).code == 0)
        let start = Harness.run([Harness.binary, "--root", s.root, "start", id], env: env, timeout: 20)
        #expect(start.code == 0, "\(start.stderr)")
        listener.waitUntilExit()
        let pid = s.state(id)["pid"] as? Int ?? -1
        let got = try String(contentsOfFile: out, encoding: .utf8)
        #expect(got == "msg=STATUS=starting\nmsg=READY=1\nmsg=MAINPID=\(pid)\n\n", "\(got)")
    }

    @Test func listenFdsArePassedOn() throws {
        let s = try Sandbox()
        let id = s.id("lfd")
        s.freshCgroup(id)
        try s.writeConfig()
        var env = ProcessInfo.processInfo.environment
        env["LISTEN_FDS"] = "2"
        let r = Harness.run(
            [
                "/bin/sh", "-c", "exec 3</etc/hostname 4</etc/hostname 5</etc/hostname; exec \"$@\"", "sh",
                Harness.binary, "--root", s.root, "run", "--bundle", s.bundle, id,
            ], env: env)
        let rep = Sandbox.parse(r.stdout)
        #expect(rep["fds"] == "0,1,2,3,4", "LISTEN_FDS fds pass, others do not: \(r.stdout) \(r.stderr)")
        s.args(["/bin/swrun-probe", "env"])
        let id2 = s.id("lfd")
        s.freshCgroup(id2)
        try s.writeConfig()
        let e = Harness.run(
            [
                "/bin/sh", "-c", "exec 3</etc/hostname 4</etc/hostname; exec \"$@\"", "sh", Harness.binary, "--root",
                s.root, "run", "--bundle", s.bundle, id2,
            ], env: env)
        #expect(e.stdout.contains("LISTEN_FDS=2\n") && e.stdout.contains("LISTEN_PID=1\n"))
    }

    @Test func foregroundRunRelaysATerminal() throws {
        let s = try Sandbox()
        s.process["terminal"] = true
        s.args(["/bin/sh", "-c", "stty size; tty; exit 4"])
        let id = s.id("rel")
        s.freshCgroup(id)
        try s.writeConfig()
        // script(1) gives swrun a real terminal of a known size.
        let cmd = "stty rows 40 cols 120; \(Harness.binary) --root \(s.root) run --bundle \(s.bundle) \(id)"
        let r = Sandbox.underTerminal(cmd)
        #expect(r.code == 4, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("40 120") && r.stdout.contains("/dev/pts/0"), "\(r.stdout)")
    }
}
