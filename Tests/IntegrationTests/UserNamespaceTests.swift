import Foundation
import Testing

/// A new user namespace (linux.namespaces "user" with uidMappings/gidMappings): the init is
/// its root, mapped to an unprivileged host id; devices are bound from the host; limits and
/// oom_score_adj are set by the parent.
@Suite("user namespaces", .enabled(if: Harness.enabled))
struct UserNamespaceTests {
    static func userns(_ s: Sandbox, host: Int = 100_000) {
        var l = s.linux
        var ns = l["namespaces"] as? [[String: Any]] ?? []
        ns.append(["type": "user"])
        l["namespaces"] = ns
        l["uidMappings"] = [["containerID": 0, "hostID": host, "size": 65536]]
        l["gidMappings"] = [["containerID": 0, "hostID": host, "size": 65536]]
        s.linux = l
    }

    @Test func rootInsideUnprivilegedOutside() throws {
        let s = try Sandbox()
        Self.userns(s)
        s.config["root"] = ["path": "rootfs", "readonly": false]
        chmod(s.rootfs + "/tmp", 0o1777) // as images have it: the container's root is not the host's
        s.process["rlimits"] = [["type": "RLIMIT_NOFILE", "soft": 4096, "hard": 4096]]
        s.process["oomScoreAdj"] = 321
        let id = try s.startDetached(
            "u",
            args: [
                "/bin/sh", "-c",
                "cat /proc/self/uid_map /proc/self/gid_map > /tmp/maps; id -u > /tmp/uid; echo hi > /dev/null && echo devnull-ok > /tmp/dev; sleep 60",
            ])
        let pid = s.state(id)["pid"] as? Int ?? 0
        #expect(pid > 0)
        #expect(
            Harness.waitUntil { FileManager.default.fileExists(atPath: s.rootfs + "/tmp/dev") },
            "the container's program ran")
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let uidLine = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        #expect(
            uidLine.split(separator: "\t").dropFirst().allSatisfy { $0 == "100000" },
            "host sees the mapped id: \(uidLine)")
        let inside = s.swrun([
            "exec", id, "/bin/sh", "-c",
            "cat /tmp/maps /tmp/uid /tmp/dev; id -u; grep CapEff /proc/self/status; ulimit -n; cat /proc/1/oom_score_adj",
        ])
        #expect(inside.code == 0, "\(inside.stderr)")
        let lines = inside.stdout.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        #expect(lines.prefix(4) == ["0 100000 65536", "0 100000 65536", "0", "devnull-ok"], "\(inside.stdout)")
        #expect(
            lines.count >= 8 && lines[4] == "0" && lines[6] == "4096" && lines[7] == "321",
            "exec joins the user namespace first; the parent set the limits: \(inside.stdout)")
        // The exec'd process is in the same user namespace as the init.
        let execNs = s.swrun(["exec", id, "/bin/readlink", "/proc/self/ns/user"]).stdout
        let initNs = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/user")) ?? "?"
        #expect(execNs == initNs + "\n", "\(execNs) vs \(initNs)")
        #expect(s.swrun(["delete", "--force", id]).code == 0)
    }

    @Test func mappingErrorsNameTheField() throws {
        let s = try Sandbox()
        var l = s.linux
        var ns = l["namespaces"] as? [[String: Any]] ?? []
        ns.append(["type": "user"])
        l["namespaces"] = ns
        s.linux = l
        let log = s.dir + "/log.json"
        try s.writeConfig()
        let r1 = s.swrun(["run", "-b", s.bundle, s.id("e")], log: log, format: "json")
        #expect(
            r1.code == 1 && r1.stderr.contains("linux.uidMappings: user namespaces enabled, but no uid mappings found"),
            "\(r1.stderr)")
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(
            lines.count == 1 && lines[0].contains("\"level\":\"error\"") && lines[0].contains("uidMappings"),
            "one JSON error line: \(lines)")
        l = s.linux
        l["uidMappings"] = [["containerID": 0, "hostID": 100_000, "size": 65536]]
        l["gidMappings"] = [["containerID": 0, "hostID": 100_000, "size": 65536]]
        s.linux = l
        s.process["user"] = ["uid": 70000, "gid": 0]
        try s.writeConfig()
        let r2 = s.swrun(["run", "-b", s.bundle, s.id("e")])
        #expect(
            r2.code == 1 && r2.stderr.contains("process.user.uid: 70000 is not mapped by linux.uidMappings"),
            "\(r2.stderr)")
        l = s.linux
        l["namespaces"] = (l["namespaces"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "user" }
        s.linux = l
        s.process["user"] = ["uid": 0, "gid": 0]
        try s.writeConfig()
        let r3 = s.swrun(["run", "-b", s.bundle, s.id("e")])
        #expect(r3.code == 1 && r3.stderr.contains("user namespaces not enabled in config"), "\(r3.stderr)")
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: s.root)) ?? []).filter { !$0.hasPrefix(".") }
                .isEmpty, "no state left behind")
    }

    /// A bind source only the host's root can reach (under a 0700 directory): the parent
    /// opens it for the init, through the init's mount namespace, before the init (whose
    /// root is an unprivileged host id) mounts it. It failed with "permission denied".
    @Test func bindSourceOnlyTheHostsRootCanReach() throws {
        let s = try Sandbox()
        Self.userns(s)
        let privateDir = s.dir + "/private"
        try FileManager.default.createDirectory(atPath: privateDir + "/vol", withIntermediateDirectories: true)
        // The mount points exist in the image (its owner here is the host's root, not the
        // container's).
        try FileManager.default.createDirectory(atPath: s.rootfs + "/vol", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: s.rootfs + "/file", contents: nil)
        try "secret-ok\n".write(toFile: privateDir + "/vol/file", atomically: true, encoding: .utf8)
        chmod(privateDir, 0o700)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append([
            "destination": "/vol", "type": "bind", "source": privateDir + "/vol", "options": ["rbind", "ro"],
        ])
        mounts.append([
            "destination": "/file", "type": "bind", "source": privateDir + "/vol/file", "options": ["bind", "ro"],
        ])
        s.config["mounts"] = mounts
        s.args(["/bin/sh", "-c", "cat /vol/file /file; touch /vol/x 2>/dev/null || echo read-only"])
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout == "secret-ok\nsecret-ok\nread-only\n", "\(r.stdout) \(r.stderr)")
    }

    /// A pod-like pair: container A makes a user namespace (0 -> 100000), with network, IPC
    /// and UTS namespaces it owns; container B joins A's user, network, IPC and UTS
    /// namespaces by path (as a Kubernetes pod's containers join the sandbox's) and makes
    /// its own PID and mount namespaces, which belong to the joined user namespace (only
    /// then may B mount its /proc). Checked from inside B: each namespace's identity, pid 1,
    /// the ids, the hostname; from outside: the host's view of B's root.
    @Test func joinsAUserNamespaceByPath() throws {
        let s = try Sandbox()
        Self.userns(s)
        var l = s.linux
        l["namespaces"] = ["pid", "network", "ipc", "uts", "mount", "user"].map { ["type": $0] }
        s.linux = l
        s.config["hostname"] = "sandbox"
        let a = try s.startDetached("ja", args: ["/bin/sleep", "60"])
        let apid = s.state(a)["pid"] as? Int ?? 0
        #expect(apid > 0)
        func ns(_ pid: Int, _ t: String) -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(t)")) ?? "?"
        }
        // B: A's user, network, IPC and UTS namespaces by path; new PID and mount ones.
        l = s.linux
        l["namespaces"] = [
            ["type": "pid"], ["type": "mount"], ["type": "user", "path": "/proc/\(apid)/ns/user"],
            ["type": "network", "path": "/proc/\(apid)/ns/net"], ["type": "ipc", "path": "/proc/\(apid)/ns/ipc"],
            ["type": "uts", "path": "/proc/\(apid)/ns/uts"],
        ]
        l["uidMappings"] = nil
        l["gidMappings"] = nil
        s.linux = l
        s.config["hostname"] = nil
        let b = try s.startDetached("jb", args: ["/bin/sleep", "60"])
        let bpid = s.state(b)["pid"] as? Int ?? 0
        #expect(bpid > 0)
        let script =
            "for t in user net ipc uts pid mnt; do readlink /proc/1/ns/$t; done; cat /proc/self/uid_map /proc/self/gid_map; "
            + "id -u; hostname; cat /proc/1/comm"
        let r = s.swrun(["exec", b, "/bin/sh", "-c", script])
        #expect(r.code == 0, "\(r.stderr)")
        let out = r.stdout.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        let want = ["user", "net", "ipc", "uts"].map { ns(apid, $0) } + [ns(bpid, "pid"), ns(bpid, "mnt")]
        #expect(
            Array(out.prefix(6)) == want,
            "B is in A's user, network, IPC and UTS namespaces, its own PID and mount ones: \(out) vs \(want)")
        #expect(ns(bpid, "pid") != ns(apid, "pid") && ns(bpid, "mnt") != ns(apid, "mnt"))
        #expect(
            Array(out.dropFirst(6).prefix(5)) == ["0 100000 65536", "0 100000 65536", "0", "sandbox", "sleep"],
            "the joined namespace's ids, A's hostname, pid 1 in B's own PID namespace: \(out)")
        let status = (try? String(contentsOfFile: "/proc/\(bpid)/status", encoding: .utf8)) ?? ""
        #expect(
            status.contains("Uid:\t100000\t100000\t100000\t100000"),
            "the host sees B's root as 100000: \(status.prefix(300))")
        // Ids outside the joined namespace's map, and maps that contradict it, are refused
        // before anything exists; the same maps are accepted (containerd sends both).
        s.process["user"] = ["uid": 70000, "gid": 0]
        try s.writeConfig()
        let bad = s.swrun(["run", "-b", s.bundle, s.id("jx")])
        #expect(
            bad.code != 0
                && bad.stderr.contains(
                    "process.user.uid: 70000 is not mapped by the user namespace /proc/\(apid)/ns/user"),
            "\(bad.stderr)")
        s.process["user"] = ["uid": 0, "gid": 0]
        l = s.linux
        l["uidMappings"] = [["containerID": 0, "hostID": 200_000, "size": 65536]]
        l["gidMappings"] = [["containerID": 0, "hostID": 200_000, "size": 65536]]
        s.linux = l
        try s.writeConfig()
        let mismatch = s.swrun(["run", "-b", s.bundle, s.id("jy")])
        #expect(mismatch.code != 0 && mismatch.stderr.contains("non-matching mapping"), "\(mismatch.stderr)")
        l["uidMappings"] = [["containerID": 0, "hostID": 100_000, "size": 65536]]
        l["gidMappings"] = [["containerID": 0, "hostID": 100_000, "size": 65536]]
        s.linux = l
        s.args(["/bin/cat", "/proc/self/uid_map"])
        let same = try s.runContainer()
        #expect(same.code == 0 && same.stdout.contains("100000"), "matching maps are taken: \(same.stderr)")
        // A path that is not a user namespace.
        l["namespaces"] = [["type": "pid"], ["type": "mount"], ["type": "user", "path": "/proc/\(apid)/ns/net"]]
        l["uidMappings"] = nil
        l["gidMappings"] = nil
        s.linux = l
        let wrong = try s.runContainer()
        #expect(wrong.code != 0 && wrong.stderr.contains("/proc/\(apid)/ns/net"), "\(wrong.stderr)")
        #expect(s.swrun(["delete", "--force", b]).code == 0 && s.swrun(["delete", "--force", a]).code == 0)
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: s.root)) ?? []).filter { !$0.hasPrefix(".") }.isEmpty
        )
    }

    /// A new user namespace together with a network namespace joined by path (runc's order:
    /// the host-owned namespace is joined first, with the host's privileges, then the user
    /// namespace is made). sysfs cannot be mounted for a network namespace the container's
    /// root does not own, as with runc: /sys is left out here.
    @Test func newUserNamespaceWithAJoinedNetworkNamespace() throws {
        let s = try Sandbox()
        let a = try s.startDetached("na", args: ["/bin/sleep", "60"])
        let apid = s.state(a)["pid"] as? Int ?? 0
        Self.userns(s)
        var l = s.linux
        var ns = (l["namespaces"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "network" }
        ns.append(["type": "network", "path": "/proc/\(apid)/ns/net"])
        l["namespaces"] = ns
        s.linux = l
        s.config["mounts"] = (s.config["mounts"] as? [[String: Any]] ?? []).filter {
            $0["destination"] as? String != "/sys" && $0["destination"] as? String != "/sys/fs/cgroup"
        }
        s.args(["/bin/sh", "-c", "readlink /proc/self/ns/net; cat /proc/self/uid_map"])
        let r = try s.runContainer()
        let net = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(apid)/ns/net")) ?? "?"
        let out = r.stdout.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        #expect(r.code == 0 && out == [net, "0 100000 65536"], "\(out) \(r.stderr)")
        #expect(s.swrun(["delete", "--force", a]).code == 0)
    }

    /// Whether this process has CAP_SYS_RESOURCE (bit 24 of CapEff): lowering oom_score_adj
    /// below its minimum needs it, for the runtime's root as for anyone.
    static let capSysResource: Bool = {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let eff =
            status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }.flatMap {
                UInt64($0.split(separator: "\t").last ?? "", radix: 16)
            } ?? 0
        return eff & (1 << 24) != 0
    }()

    /// exec into a container with a user namespace: oom_score_adj and rlimits are set by the
    /// parent, from the host's side. A lower oom_score_adj (Kubernetes gives -997) needs
    /// CAP_SYS_RESOURCE in the host's user namespace, which the process has lost once it has
    /// joined the container's. This machine's root lacks CAP_SYS_RESOURCE altogether (the
    /// test is skipped here); tests/vm/userns.sh runs the same in the test VM.
    @Test(.enabled(if: capSysResource, "lowering oom_score_adj needs CAP_SYS_RESOURCE"))
    func execSetsLimitsFromOutsideTheUserNamespace() throws {
        let s = try Sandbox()
        Self.userns(s)
        let id = try s.startDetached("uoom", args: ["/bin/sleep", "60"])
        let process =
            #"{"args":["/bin/sh","-c","cat /proc/self/oom_score_adj"],"cwd":"/","user":{"uid":0,"gid":0},"oomScoreAdj":-997}"#
        let r = s.swrun(["exec", "--process", "/dev/stdin", id], stdin: process)
        #expect(r.code == 0 && r.stdout == "-997\n", "\(r.stdout) \(r.stderr)")
    }
}
