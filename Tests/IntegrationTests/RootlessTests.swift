import Foundation
import Testing

/// An unprivileged user for the rootless tests, made with useradd (which also gives it
/// ranges in /etc/subuid and /etc/subgid, for newuidmap and newgidmap) when the suite
/// starts and removed with userdel when it ends.
enum RootlessUser {
    static let name = "swrl\(getpid() % 1_000_000)"
    nonisolated(unsafe) static var uid: UInt32 = 0
    nonisolated(unsafe) static var gid: UInt32 = 0
    /// The first id of its /etc/subuid and /etc/subgid ranges (65536 ids each).
    nonisolated(unsafe) static var subuid: UInt32 = 0
    nonisolated(unsafe) static var subgid: UInt32 = 0
    /// Why the user could not be made (the tests then fail with it).
    nonisolated(unsafe) static var problem: String?

    static func setUp() {
        let r = Harness.run(["/usr/sbin/useradd", "-M", "-s", "/usr/sbin/nologin", "-U", name])
        guard r.code == 0 else { problem = "useradd \(name): \(r.stderr)"; return }
        uid =
            UInt32(Harness.run(["/usr/bin/id", "-u", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        gid =
            UInt32(Harness.run(["/usr/bin/id", "-g", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        func sub(_ file: String) -> UInt32 {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return line.flatMap { UInt32($0.split(separator: ":")[1]) } ?? 0
        }
        subuid = sub("/etc/subuid")
        subgid = sub("/etc/subgid")
        if uid == 0 || subuid == 0 || subgid == 0 {
            problem = "user \(name): uid \(uid), no /etc/subuid or /etc/subgid range"
        }
    }

    static func tearDown() {
        _ = Harness.run(["/usr/sbin/userdel", name])
    }

    /// newuidmap and newgidmap (Debian's uidmap package, which make deps installs).
    static var mappingTools: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/newuidmap")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/newgidmap")
    }
}

/// Makes the rootless user around the suite.
struct RootlessUserScope: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void)
        async throws
    {
        RootlessUser.setUp()
        defer { RootlessUser.tearDown() }
        try await function()
    }
}

/// One rootless test's world: a Sandbox whose bundle directory belongs to the rootless user,
/// its $XDG_RUNTIME_DIR (0700, its own), and swrun run as that user (setpriv), with the
/// state root swrun picks itself: $XDG_RUNTIME_DIR/swrun.
final class RootlessBox {
    let s: Sandbox
    let xdg: String
    var root: String { xdg + "/swrun" }
    private var ids: [String] = []

    init(_ name: String = #function) throws {
        s = try Sandbox(name)
        xdg = s.dir + "/xdg"
        try FileManager.default.createDirectory(atPath: xdg, withIntermediateDirectories: true)
        chmod(xdg, 0o700)
        chown(xdg, RootlessUser.uid, RootlessUser.gid)
        chown(s.bundle, RootlessUser.uid, RootlessUser.gid)
    }

    deinit {
        // What a test left running is removed by the host's root (it can read the state).
        for id in ids { _ = Harness.run([Harness.binary, "--root", root, "delete", "--force", id]) }
    }

    func id(_ prefix: String) -> String {
        let i = s.id(prefix)
        ids.append(i)
        return i
    }

    /// argv run as the rootless user, with a clean environment.
    func asUser(_ argv: [String], path: String = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin") -> [String] {
        [
            "/usr/bin/setpriv", "--reuid=\(RootlessUser.uid)", "--regid=\(RootlessUser.gid)", "--init-groups", "--",
            "/usr/bin/env", "-i", "PATH=\(path)", "XDG_RUNTIME_DIR=\(xdg)", "USER=\(RootlessUser.name)", "HOME=/",
        ] + argv
    }

    @discardableResult
    func swrun(_ args: [String], stdin: String? = nil, path: String? = nil) -> Harness.Result {
        Harness.run(
            path.map { asUser([Harness.binary] + args, path: $0) } ?? asUser([Harness.binary] + args), stdin: stdin)
    }

    /// `swrun spec --rootless` as the user, into the bundle; the config is then the sandbox's,
    /// with the probe as the process and without a cgroupsPath (runc's rootless rules apply
    /// only then).
    func specRootless() throws {
        try? FileManager.default.removeItem(atPath: s.bundle + "/config.json")
        let r = swrun(["spec", "--rootless", "--bundle", s.bundle])
        #expect(r.code == 0, "spec --rootless: \(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: s.bundle + "/config.json"))
        s.config = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        s.process["terminal"] = false
        var l = s.linux
        l["cgroupsPath"] = nil
        s.linux = l
    }

    /// Maps the user's own id to 0 and its subordinate range from 1, for uids and gids.
    func mapSubordinateIds() {
        var l = s.linux
        l["uidMappings"] = [
            ["containerID": 0, "hostID": RootlessUser.uid, "size": 1],
            ["containerID": 1, "hostID": RootlessUser.subuid, "size": 65536],
        ]
        l["gidMappings"] = [
            ["containerID": 0, "hostID": RootlessUser.gid, "size": 1],
            ["containerID": 1, "hostID": RootlessUser.subgid, "size": 65536],
        ]
        s.linux = l
    }

    func run(_ args: [String], extra: [String] = []) throws -> (String, Harness.Result) {
        s.args(args)
        try s.writeConfig()
        let cid = id("r")
        return (cid, swrun(["run", "--bundle", s.bundle] + extra + [cid]))
    }

    func state(_ id: String) -> [String: Any] {
        let r = swrun(["state", id])
        return ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]) ?? [:]
    }

    /// Container directories left in the state root.
    var leftovers: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }
    }
}

/// swrun as an unprivileged user, with runc's rootless rules (docs/rootless.md): a config
/// from `swrun spec --rootless`, the state under $XDG_RUNTIME_DIR, a user namespace mapping
/// the user (newuidmap/newgidmap for more), cgroups left out where the user may not write
/// them (every hierarchy of this hybrid host), limits refused, and the rootless scenarios of
/// shared/docs/SECURITY.md.
@Suite("rootless", .serialized, .enabled(if: Harness.enabled), RootlessUserScope())
struct RootlessTests {
    static func lines(_ s: String) -> [String] {
        s.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
    }

    /// A process that exists and is not a zombie.
    static func alive(_ pid: Int) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let paren = stat.lastIndex(of: ")")
        else { return false }
        return !stat[paren...].hasPrefix(") Z")
    }

    static var hybridOrV1: Bool {
        ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(" - cgroup ")
    }

    @Test func specRootlessRunsAsAnUnprivilegedUser() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        let maps = (b.s.linux["uidMappings"] as? [[String: Any]])?.first
        #expect(
            maps?["hostID"] as? Int == Int(RootlessUser.uid),
            "spec --rootless maps the user: \(String(describing: maps))")
        // CVE-2023-25809: /sys/fs/cgroup stays read-only for a rootless container without a
        // cgroup namespace.
        let script =
            "id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; "
            + "/bin/swrun-probe write /sys/fs/cgroup/cgroup.procs; mkdir /sys/fs/cgroup/x 2>/dev/null || echo mkdir-refused; "
            + "for d in /sys/fs/cgroup/*/; do /bin/swrun-probe write $d/cgroup.procs; done | sort -u"
        let (cid, r) = try b.run(["/bin/sh", "-c", script])
        #expect(r.code == 0, "\(r.stderr)")
        let out = Self.lines(r.stdout)
        #expect(out.prefix(4) == ["0", "0 \(RootlessUser.uid) 1", "0 \(RootlessUser.gid) 1", "deny"], "\(r.stdout)")
        #expect(out.dropFirst(4).prefix(2) == ["EROFS", "mkdir-refused"], "/sys/fs/cgroup is read-only: \(r.stdout)")
        // Each hierarchy's cgroup.procs: EROFS, or EACCES where the file's owner is not mapped
        // (the permission check comes first); never written.
        #expect(
            !out.dropFirst(6).isEmpty && out.dropFirst(6).allSatisfy { $0 == "EROFS" || $0 == "EACCES" },
            "every hierarchy is read-only: \(r.stdout)")
        // The default state root, made as runc makes it.
        let st = try FileManager.default.attributesOfItem(atPath: b.root)
        #expect(
            (st[.posixPermissions] as? Int) == 0o1700 && (st[.ownerAccountID] as? Int) == Int(RootlessUser.uid),
            "\(b.root): \(st)")
        #expect(b.leftovers.isEmpty, "nothing left: \(b.leftovers)")
        #expect(Sandbox.cgroupDirs(named: cid).isEmpty, "no cgroup made")
    }

    /// CVE-2023-25809 with a cgroup namespace: the fresh cgroup mounts are read-only as well
    /// (runc 1.1.5 leaves the tmpfs under them writable on this hybrid host).
    @Test func cgroupMountReadOnlyWithACgroupNamespace() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        var l = b.s.linux
        var ns = l["namespaces"] as? [[String: Any]] ?? []
        ns.append(["type": "cgroup"])
        l["namespaces"] = ns
        b.s.linux = l
        let script =
            "/bin/swrun-probe write /sys/fs/cgroup/cgroup.procs; mkdir /sys/fs/cgroup/x 2>/dev/null || echo mkdir-refused; "
            + "for d in /sys/fs/cgroup/*/; do /bin/swrun-probe write $d/cgroup.procs; mkdir $d/x 2>/dev/null && echo made; done | sort -u"
        let (_, r) = try b.run(["/bin/sh", "-c", script])
        let out = Self.lines(r.stdout)
        #expect(out.prefix(2) == ["EROFS", "mkdir-refused"], "\(r.stdout) \(r.stderr)")
        #expect(
            !out.dropFirst(2).isEmpty && out.dropFirst(2).allSatisfy { $0 == "EROFS" || $0 == "EACCES" },
            "every hierarchy is read-only: \(r.stdout)")
    }

    @Test func lifecycleWithoutCgroups() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        b.s.args(["/bin/sleep", "60"])
        try b.s.writeConfig()
        let cid = b.id("l")
        let r = b.swrun(["run", "-d", "--bundle", b.s.bundle, cid])
        #expect(r.code == 0, "\(r.stderr)")
        let pid = b.state(cid)["pid"] as? Int ?? 0
        #expect(pid > 0 && b.state(cid)["status"] as? String == "running")
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        #expect(status.contains("Uid:\t\(RootlessUser.uid)\t"), "the host sees the user: \(status.prefix(400))")
        // The record says rootless, and names no cgroup swrun made.
        let saved = (try? String(contentsOfFile: b.root + "/\(cid)/state.json", encoding: .utf8)) ?? ""
        #expect(saved.contains("\"rootless\":true") && saved.contains("\"cgroupCreated\":[]"), "\(saved)")
        #expect(b.swrun(["list"]).stdout.contains(RootlessUser.name), "list shows the owner")
        let e = b.swrun(["exec", cid, "/bin/sh", "-c", "id -u; cat /proc/1/cmdline | tr '\\0' ' '"])
        #expect(
            e.code == 0 && Self.lines(e.stdout) == ["0", "/bin/sleep 60"],
            "exec joins the container: \(e.stdout) \(e.stderr)")
        let t = Sandbox.underTerminal(
            b.asUser([Harness.binary, "exec", "-t", cid, "/bin/tty"]).map { "'\($0)'" }.joined(separator: " "))
        #expect(t.code == 0 && t.stdout.contains("/dev/pts/"), "exec -t: \(t.stdout) \(t.stderr)")
        let ps = b.swrun(["ps", "--format", "json", cid])
        #expect(ps.stdout.contains("\(pid)"), "ps finds the processes without a cgroup: \(ps.stdout)")
        let pause = b.swrun(["pause", cid])
        #expect(pause.code != 0 && pause.stderr.contains("rootless"), "pause says why it cannot: \(pause.stderr)")
        let upd = b.swrun(["update", "--memory", "64m", cid])
        #expect(upd.code != 0 && upd.stderr.contains("rootless"), "update says why it cannot: \(upd.stderr)")
        let cp = b.swrun(["checkpoint", "--image-path", b.xdg + "/images", cid])
        #expect(
            cp.code == 1 && cp.stderr.contains("checkpoint needs the host's root"),
            "checkpoint says why it cannot: \(cp.stderr)")
        #expect(b.state(cid)["status"] as? String == "running", "and leaves the container running")
        #expect(b.swrun(["kill", "--all", cid, "KILL"]).code == 0)
        #expect(
            Harness.waitUntil { b.state(cid)["status"] as? String == "stopped" },
            "kill --all reaches the init without a cgroup")
        #expect(b.swrun(["delete", cid]).code == 0)
        #expect(b.leftovers.isEmpty)
        #expect(Harness.waitUntil { !Self.alive(pid) }, "the init is gone")
    }

    /// More than the user's own id: newuidmap and newgidmap map its subordinate ranges, and
    /// setgroups is allowed there (newgidmap's rule), so groups can be set.
    @Test func subordinateIdsThroughNewuidmap() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        guard RootlessUser.mappingTools else {
            Issue.record("newuidmap/newgidmap missing (Debian's uidmap package; make deps installs it)"); return
        }
        let b = try RootlessBox()
        try b.specRootless()
        b.mapSubordinateIds()
        b.s.process["user"] = ["uid": 0, "gid": 0, "additionalGids": [5, 10]]
        b.s.args(["/bin/sleep", "60"])
        try b.s.writeConfig()
        let cid = b.id("m")
        #expect(b.swrun(["run", "-d", "--bundle", b.s.bundle, cid]).code == 0)
        let e = b.swrun([
            "exec", cid, "/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -G",
        ])
        #expect(
            Self.lines(e.stdout) == [
                "0 \(RootlessUser.uid) 1", "1 \(RootlessUser.subuid) 65536", "0 \(RootlessUser.gid) 1",
                "1 \(RootlessUser.subgid) 65536", "allow", "0 5 10",
            ], "\(e.stdout) \(e.stderr)")
        let pidFile = b.xdg + "/exec.pid"
        let d = b.swrun(["exec", "-d", "--pid-file", pidFile, "--user", "1000:1000", cid, "/bin/sleep", "30"])
        #expect(d.code == 0, "\(d.stderr)")
        let xpid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int($0) } ?? 0
        let status = (try? String(contentsOfFile: "/proc/\(xpid)/status", encoding: .utf8)) ?? ""
        #expect(
            status.contains("Uid:\t\(RootlessUser.subuid + 999)\t"),
            "uid 1000 inside is subuid+999 outside: \(status.prefix(300))")
        #expect(b.swrun(["delete", "--force", cid]).code == 0)
        #expect(b.leftovers.isEmpty)
    }

    /// What cannot be had is refused before anything exists, naming the field: ids the
    /// namespace does not map, groups where setgroups is denied, a missing mapping tool,
    /// limits without a cgroup, a cgroup the user cannot make.
    @Test func refusedBeforeCreate() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        func refused(_ what: String, _ expected: String, path: String? = nil, _ change: (RootlessBox) -> Void) throws {
            try b.specRootless()
            change(b)
            b.s.args(["/bin/true"])
            try b.s.writeConfig()
            let cid = b.id("x")
            let r = b.swrun(["run", "--bundle", b.s.bundle, cid], path: path)
            #expect(r.code != 0 && r.stderr.contains(expected), "\(what): \(r.stderr)")
            #expect(b.leftovers.isEmpty, "\(what): nothing left: \(b.leftovers)")
        }
        try refused("an unmapped uid", "process.user.uid: 1000 is not mapped by linux.uidMappings") {
            $0.s.process["user"] = ["uid": 1000, "gid": 0]
        }
        try refused("an unmapped gid", "process.user.gid: 7 is not mapped by linux.gidMappings") {
            $0.s.process["user"] = ["uid": 0, "gid": 7]
        }
        try refused("groups where setgroups is denied", "process.user.additionalGids: a rootless container") {
            $0.s.process["user"] = ["uid": 0, "gid": 0, "additionalGids": [0]]
        }
        try refused("an unmapped mount option", "options: gid=5 is not mapped by linux.gidMappings") {
            var m = $0.s.config["mounts"] as? [[String: Any]] ?? []
            m.append(["destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["gid=5"]])
            $0.s.config["mounts"] = m
        }
        try refused("no user namespace", "a rootless container needs a user namespace") {
            var l = $0.s.linux
            l["namespaces"] = (l["namespaces"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "user" }
            l["uidMappings"] = nil
            l["gidMappings"] = nil
            $0.s.linux = l
        }
        try refused("subordinate ids without newuidmap", "needs newuidmap in PATH", path: "/nonexistent") {
            $0.mapSubordinateIds()
        }
        let limit =
            Self.hybridOrV1
            ? "linux.resources.memory: cannot set memory limit: container could not join or create cgroup"
            : "rootless needs no limits + no cgrouppath when no permission is granted for cgroups"
        try refused("a limit without a cgroup", limit) { $0.s.linux["resources"] = ["memory": ["limit": 67_108_864]] }
        try refused("a cgroupsPath the user cannot make", "permission denied") {
            $0.s.linux["cgroupsPath"] = "swrun-rootless-\(getpid())/c"
        }
        try refused("an id-mapped mount", "id-mapped mounts are not supported for rootless containers") {
            var m = $0.s.config["mounts"] as? [[String: Any]] ?? []
            m.append(["destination": "/tmp", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]])
            $0.s.config["mounts"] = m
        }
        // exec: an id outside the container's namespace.
        try b.specRootless()
        b.s.args(["/bin/sleep", "60"])
        try b.s.writeConfig()
        let cid = b.id("e")
        #expect(b.swrun(["run", "-d", "--bundle", b.s.bundle, cid]).code == 0)
        let e = b.swrun(["exec", "--user", "70000", cid, "/bin/true"])
        #expect(
            e.code != 0 && e.stderr.contains("70000 is not mapped in the container's user namespace"), "\(e.stderr)")
        #expect(b.swrun(["delete", "--force", cid]).code == 0)
    }

    /// The container's root is the user outside: host files its mapping does not own stay
    /// out of reach, whatever the mounts say; its own files are its root's; ids it does not
    /// map cannot be given away; devices cannot be made.
    @Test func hostFilesOutsideTheMappingStayOutOfReach() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        let host = b.s.dir + "/hostdir"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "root-secret\n".write(toFile: host + "/rootonly", atomically: true, encoding: .utf8)
        chmod(host + "/rootonly", 0o600)
        try "mine\n".write(toFile: host + "/mine", atomically: true, encoding: .utf8)
        chmod(host + "/mine", 0o600)
        chown(host + "/mine", RootlessUser.uid, RootlessUser.gid)
        var mounts = b.s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/host", "type": "bind", "source": host, "options": ["rbind", "rw"]])
        b.s.config["mounts"] = mounts
        try FileManager.default.createDirectory(atPath: b.s.rootfs + "/host", withIntermediateDirectories: true)
        let script =
            "cat /host/rootonly 2>/dev/null || echo rootonly-denied; cat /host/mine; "
            + "/bin/swrun-probe write /host/new; chown 0:0 /host/mine && echo chown-own-ok; "
            + "chown 1 /host/mine 2>/dev/null || echo chown-unmapped-refused; "
            + "mknod /tmp/sda b 8 0 2>/dev/null || echo mknod-refused; "
            + "echo x > /proc/sysrq-trigger 2>/dev/null || echo sysrq-refused"
        let (_, r) = try b.run(["/bin/sh", "-c", script])
        #expect(
            Self.lines(r.stdout) == [
                "rootonly-denied", "mine", "EACCES", "chown-own-ok", "chown-unmapped-refused", "mknod-refused",
                "sysrq-refused",
            ],
            "\(r.stdout) \(r.stderr)")
        let st = try FileManager.default.attributesOfItem(atPath: host + "/mine")
        #expect((st[.ownerAccountID] as? Int) == Int(RootlessUser.uid), "the host still sees the user's file")
        #expect(!FileManager.default.fileExists(atPath: host + "/new"))
        // A bind source only the host's root can reach is refused to a rootless container
        // (the host's root opens sources for its own containers, never for a user's).
        let hidden = b.s.dir + "/private"
        try FileManager.default.createDirectory(atPath: hidden + "/vol", withIntermediateDirectories: true)
        chmod(hidden, 0o700)
        mounts.append(["destination": "/vol", "type": "bind", "source": hidden + "/vol", "options": ["rbind", "ro"]])
        b.s.config["mounts"] = mounts
        try FileManager.default.createDirectory(atPath: b.s.rootfs + "/vol", withIntermediateDirectories: true)
        let (_, r2) = try b.run(["/bin/true"])
        #expect(r2.code != 0 && r2.stderr.contains("permission denied") && r2.stderr.contains(hidden), "\(r2.stderr)")
        #expect(b.leftovers.isEmpty)
    }

    /// /proc/self/setgroups as runc leaves it: "deny" where only the user's own gid is
    /// mapped (the kernel needs it for that gid_map); then setgroups(2) fails inside, and
    /// the process keeps the groups it came with (unmapped: the overflow gid).
    @Test func setgroupsDeniedWithOnlyTheUsersGid() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        let (_, r) = try b.run(["/bin/sh", "-c", "cat /proc/self/setgroups; /bin/swrun-probe syscall 116; id -G"])
        #expect(Self.lines(r.stdout) == ["deny", "EPERM", "0"], "\(r.stdout) \(r.stderr)")
    }

    /// An unprivileged user joins a user namespace of its own by path, with the network
    /// namespace that namespace owns (runc's order: the network namespace is refused before
    /// the user namespace is joined, and joined after it), and makes a PID namespace that
    /// belongs to it.
    @Test func joinsItsOwnUserNamespaceByPath() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        var l = b.s.linux
        var ns = l["namespaces"] as? [[String: Any]] ?? []
        ns.append(["type": "network"])
        l["namespaces"] = ns
        b.s.linux = l
        b.s.args(["/bin/sleep", "60"])
        try b.s.writeConfig()
        let a = b.id("ja")
        #expect(b.swrun(["run", "-d", "--bundle", b.s.bundle, a]).code == 0)
        let apid = b.state(a)["pid"] as? Int ?? 0
        l = b.s.linux
        l["namespaces"] = [
            ["type": "pid"], ["type": "mount"], ["type": "uts"], ["type": "ipc"],
            ["type": "user", "path": "/proc/\(apid)/ns/user"], ["type": "network", "path": "/proc/\(apid)/ns/net"],
        ]
        l["uidMappings"] = nil
        l["gidMappings"] = nil
        b.s.linux = l
        let (_, r) = try b.run([
            "/bin/sh", "-c", "readlink /proc/self/ns/user; readlink /proc/self/ns/net; echo $$; id -u",
        ])
        func nsOf(_ t: String) -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(apid)/ns/\(t)")) ?? "?"
        }
        #expect(
            r.code == 0 && Self.lines(r.stdout) == [nsOf("user"), nsOf("net"), "1", "0"], "\(r.stdout) \(r.stderr)")
        #expect(b.swrun(["delete", "--force", a]).code == 0)
    }

    /// CVE-2019-5736 as an unprivileged user: overlayfs is not the user's to mount, so the
    /// init of a created container runs from a sealed memfd copy of swrun.
    @Test func createRunsFromASealedCopy() throws {
        guard RootlessUser.problem == nil else { Issue.record("\(RootlessUser.problem ?? "")"); return }
        let b = try RootlessBox()
        try b.specRootless()
        b.s.args(["/bin/true"])
        try b.s.writeConfig()
        let cid = b.id("c")
        let r = Harness.run([
            "/bin/sh", "-c",
            b.asUser([Harness.binary, "create", "--bundle", b.s.bundle, cid]).joined(separator: " ")
                + " >/dev/null 2>&1 </dev/null; echo $?",
        ])
        #expect(r.stdout == "0\n", "\(r.stdout) \(r.stderr)")
        let pid = b.state(cid)["pid"] as? Int ?? 0
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "?"
        #expect(exe.hasPrefix("/memfd:"), "the waiting init's exe: \(exe)")
        #expect(b.swrun(["delete", "--force", cid]).code == 0)
    }
}
