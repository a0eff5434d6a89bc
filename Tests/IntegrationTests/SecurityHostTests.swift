import Foundation
import Testing

/// More of SECURITY.md's table: the LSM and /proc-write CVEs, the crafted-image path
/// classes, parsers, the bounded race of CVE-2021-30465, and the kernel CVEs whose
/// mitigation is the runtime's defaults. Each asserts that the host is unchanged.
extension SecurityTests {
    /// Replaces the rootfs's `path` with a symlink to a new, empty host directory (returned),
    /// which must stay empty.
    static func symlinkOut(_ s: Sandbox, _ path: String, canary name: String) throws -> String {
        let canary = s.dir + "/" + name
        try FileManager.default.createDirectory(atPath: canary, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: s.rootfs + path)
        try FileManager.default.createSymbolicLink(atPath: s.rootfs + path, withDestinationPath: canary)
        return canary
    }

    static var hasAppArmor: Bool { FileManager.default.fileExists(atPath: "/sys/kernel/security/apparmor") }

    /// CVE-2019-16884, CVE-2023-28642: a volume over /proc (or /proc a symlink) must not
    /// make the AppArmor label land in a fake file: the label goes through the verified
    /// host procfs handle, and a label that cannot be applied fails create (never
    /// "unconfined"). Without AppArmor on the host, create must fail.
    @Test func cve_2019_16884_apparmorUnderFakeProc() throws {
        let s = try Sandbox()
        s.process["apparmorProfile"] = "swrun-test-profile"
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/proc", "type": "tmpfs", "source": "tmpfs", "options": []])
        s.config["mounts"] = mounts
        s.args(["/bin/cat", "/proc/self/attr/current"])
        let r = try s.runContainer()
        if Self.hasAppArmor {
            #expect(r.code != 0 || r.stdout.contains("swrun-test-profile"), "\(r.stdout) \(r.stderr)")
        } else {
            #expect(r.code == 1 && r.stderr.contains("AppArmor"), "fails closed without AppArmor: \(r.stderr)")
        }
        #expect(!r.stdout.contains("unconfined"))
    }

    /// CVE-2023-28642: the same with /proc a symlink in the image.
    @Test func cve_2023_28642_apparmorWithSymlinkedProc() throws {
        let s = try Sandbox()
        let canary = try Self.symlinkOut(s, "/proc", canary: "host-proc")
        s.process["apparmorProfile"] = "swrun-test-profile"
        s.args(["/bin/cat", "/proc/self/attr/current"])
        let r = try s.runContainer()
        if !Self.hasAppArmor { #expect(r.code == 1, "fails closed: \(r.stdout) \(r.stderr)") }
        #expect(!r.stdout.contains("unconfined"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: canary).isEmpty, "nothing written through the symlink")
    }

    /// `exec` cannot be sent into the host through its working directory: a symlink in the
    /// container pointing at "/" or out of the rootfs resolves inside the container.
    @Test func execCwdSymlinkStaysInside() throws {
        let s = try Sandbox()
        try FileManager.default.createSymbolicLink(
            atPath: s.rootfs + "/up", withDestinationPath: "../../../../../../..")
        let id = try s.startDetached("cw", args: ["/bin/sleep", "60"])
        let r = s.swrun(["exec", "--cwd", "/up", id, "/bin/sh", "-c", "pwd; ls"])
        #expect(r.code == 0 && r.stdout.hasPrefix("/"), "\(r.stdout) \(r.stderr)")
        let seen = Set(r.stdout.split(separator: "\n").map(String.init))
        #expect(
            seen.contains("bin") && !seen.contains("usr") && !seen.contains("work"),
            "the container's root, not the host's: \(r.stdout)")
    }

    /// CVE-2025-52881 (non-race form): a tmpfs over /proc/sys cannot redirect the sysctl
    /// write; the value lands in the container's IPC namespace, read back from the host
    /// side through that namespace; the host's value and core_pattern are unchanged.
    @Test func cve_2025_52881_sysctlUnderFakeProcSys() throws {
        let s = try Sandbox()
        let hostBefore = try String(contentsOfFile: "/proc/sys/kernel/shm_rmid_forced", encoding: .utf8)
        let corePattern = try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)
        var l = s.linux
        l["sysctl"] = ["kernel.shm_rmid_forced": hostBefore.hasPrefix("1") ? "0" : "1"]
        s.linux = l
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs", "options": []])
        s.config["mounts"] = mounts
        let id = try s.startDetached("sy", args: ["/bin/sleep", "60"])
        let pid = s.state(id)["pid"] as? Int ?? 0
        #expect(pid > 0)
        let inNS = Harness.run([
            "/usr/bin/nsenter", "-t", "\(pid)", "-i", "/bin/cat", "/proc/sys/kernel/shm_rmid_forced",
        ]).stdout
        #expect(
            inNS == (hostBefore.hasPrefix("1") ? "0\n" : "1\n"), "the container's IPC namespace has the value: \(inNS)")
        #expect(try String(contentsOfFile: "/proc/sys/kernel/shm_rmid_forced", encoding: .utf8) == hostBefore)
        #expect(try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8) == corePattern)
    }

    /// CVE-2024-3154 (CRI-O): systemd unit properties from annotations. swrun's systemd
    /// driver takes no unit property from annotations (tests/vm/cgroup2.sh checks a scope's
    /// ExecStopPost stays empty); on this hybrid host the driver itself is refused (it needs
    /// pure cgroup v2) and the property is never applied.
    @Test func cve_2024_3154_systemdPropertyAnnotation() throws {
        let s = try Sandbox()
        let pwn = s.dir + "/pwn"
        s.config["annotations"] = ["org.systemd.property.ExecStopPost": "/bin/touch \(pwn)"]
        s.args(["/bin/true"])
        let id = s.id("sd")
        s.freshCgroup(id)
        try s.writeConfig()
        let r = Harness.run([Harness.binary, "--root", s.root, "--systemd-cgroup", "run", "-b", s.bundle, id])
        #expect(
            r.code == 1 && r.stderr.contains("--systemd-cgroup") && r.stderr.contains("pure cgroup v2"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/" + id), "no state left")
        _ = s.swrun(["delete", "--force", id])
        #expect(!FileManager.default.fileExists(atPath: pwn))
        let features = s.swrun(["features"]).stdout
        #expect(!features.contains("org.systemd.property"), "no systemd property support is advertised")
    }

    /// CVE-2025-24965 (and the crafted-image classes after it): every path swrun writes into
    /// the rootfs, made a symlink to a host directory in turn; nothing appears on the host,
    /// and create either fails or writes inside.
    @Test(arguments: ["dev", "dev/pts", "dev/shm", "dev/mqueue", "sys", "tmp", "data", "etc", "dev/console"])
    func cve_2025_24965_writtenPathIsASymlinkOut(_ path: String) throws {
        let s = try Sandbox("cve24965-\(path)")
        let host = s.dir + "/host-\(path.replacingOccurrences(of: "/", with: "-"))"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "marker".write(toFile: host + "/marker", atomically: true, encoding: .utf8)
        let target = s.rootfs + "/" + path
        if path.hasPrefix("dev/") {
            try FileManager.default.createDirectory(atPath: s.rootfs + "/dev", withIntermediateDirectories: true)
        }
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.createSymbolicLink(
            atPath: target, withDestinationPath: "../../../../../../../.." + host)
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []])
        mounts.append(["destination": "/data/vol", "type": "tmpfs", "source": "tmpfs", "options": []])
        mounts.append([
            "destination": "/etc/hostname", "type": "bind", "source": s.bundle + "/config.json",
            "options": ["bind", "ro"],
        ])
        s.config["mounts"] = mounts
        s.config["hostname"] = "h"
        s.process["terminal"] = false
        s.args(["/bin/true"])
        let before = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        _ = try s.runContainer()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: host) == ["marker"],
            "nothing created on the host through /\(path)")
        #expect(try String(contentsOfFile: host + "/marker", encoding: .utf8) == "marker")
        let after = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!after.contains(host) && !before.contains(host))
    }

    /// CVE-2025-54867 (youki): a /sys that is a symlink out of the rootfs.
    @Test func cve_2025_54867_sysSymlinkOutOfRoot() throws {
        let s = try Sandbox()
        let canary = try Self.symlinkOut(s, "/sys", canary: "host-sys")
        s.args(["/bin/true"])
        _ = try s.runContainer()
        #expect(try FileManager.default.contentsOfDirectory(atPath: canary).isEmpty)
        #expect(!(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)).contains(canary))
    }

    /// CVE-2026-30892 (crun): `exec -u 1` must be uid 1, gid 0; malformed users are usage
    /// errors, and never uid 0 unless 0 was given.
    @Test func cve_2026_30892_execUserParsing() throws {
        let s = try Sandbox()
        let id = try s.startDetached("us", args: ["/bin/sleep", "60"])
        let one = s.swrun(["exec", "--user", "1", id, "/bin/sh", "-c", "echo $(id -u) $(id -g)"])
        #expect(one.stdout == "1 0\n", "\(one.stdout) \(one.stderr)")
        let pair = s.swrun(["exec", "--user", "1:2", id, "/bin/sh", "-c", "echo $(id -u) $(id -g)"])
        #expect(pair.stdout == "1 2\n", "\(pair.stdout) \(pair.stderr)")
        for bad in ["", ":1", "1:", "-1", "+1", "4294967295", "1:4294967295", "1:2:3", "0x10", " 1", "1 "] {
            let r = s.swrun(["exec", "--user", bad, id, "/bin/id", "-u"])
            #expect(r.code != 0 && r.stdout.isEmpty, "--user '\(bad)' must be refused: \(r.stdout) \(r.stderr)")
        }
    }

    /// CVE-2022-0492 (kernel; the defaults are the mitigation): with `swrun spec`'s config a
    /// process cannot mount a writable cgroup v1 hierarchy to reach release_agent.
    @Test func cve_2022_0492_noWritableCgroupV1Mount() throws {
        let s = try Sandbox()
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args([
            "/bin/sh", "-c",
            "mkdir -p /tmp/m; unshare -Urm sh -c 'mount -t cgroup -o rdma cgroup /tmp/m && echo 1 > /tmp/m/notify_on_release && echo MOUNTED'; echo done",
        ])
        let r = try s.runContainer()
        #expect(r.stdout.contains("done") && !r.stdout.contains("MOUNTED"), "\(r.stdout) \(r.stderr)")
    }

    /// runc's no_pivot.bats: with --no-pivot, a user namespace inside must not be able to
    /// mount a full procfs and reach /proc/sysrq-trigger.
    @Test func noPivotDoesNotExposeBareProc() throws {
        let s = try Sandbox()
        s.args([
            "/bin/sh", "-c",
            "unshare -mrpf sh -c 'mount -t proc none /proc && echo h > /proc/sysrq-trigger && echo WROTE'; echo done",
        ])
        let r = try s.runContainer(extra: ["--no-pivot"])
        #expect(r.stdout.contains("done") && !r.stdout.contains("WROTE"), "\(r.stdout) \(r.stderr)")
    }

    /// CVE-2021-30465 (the race, bounded): a second container swaps a directory and a
    /// symlink to a host directory on a shared volume with renameat2(RENAME_EXCHANGE) for 4 s while
    /// the victim is created 40 times with a bind mount below that directory. Resolution by
    /// fd inside the root means the host directory never gets the mount point.
    @Test func cve_2021_30465_symlinkExchangeRace() throws {
        let s = try Sandbox()
        let volume = s.dir + "/volume", host = s.dir + "/host-target", source = s.dir + "/source"
        for d in [volume + "/a", host, source] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        try "marker".write(toFile: host + "/marker", atomically: true, encoding: .utf8)
        try "from-source".write(toFile: source + "/s-marker", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: volume + "/b", withDestinationPath: host)
        try FileManager.default.createDirectory(atPath: s.rootfs + "/V", withIntermediateDirectories: true)
        let base = s.config
        var mounts = base["mounts"] as? [[String: Any]] ?? []
        mounts.append(["destination": "/V", "type": "bind", "source": volume, "options": ["rbind", "rw"]])
        s.config["mounts"] = mounts
        let attacker = try s.startDetached(
            "att",
            args: ["/bin/sh", "-c", "/bin/swrun-probe exchange /V/a /V/b 4 > /V/count.tmp; mv /V/count.tmp /V/count"])
        mounts.append(["destination": "/V/a/x", "type": "bind", "source": source, "options": ["bind", "ro"]])
        s.config["mounts"] = mounts
        s.args(["/bin/true"])
        var outcomes: [Int32: Int] = [:]
        for _ in 0..<40 {
            let r = try s.runContainer()
            outcomes[r.code, default: 0] += 1
        }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: volume + "/count") { usleep(100_000) }
        let count = (try? String(contentsOfFile: volume + "/count", encoding: .utf8)) ?? ""
        let exchanges = Int(count.split(separator: "=").last.map { String($0).filter(\.isNumber) } ?? "") ?? 0
        #expect(exchanges > 10_000, "the attacker raced: \(count)")
        #expect((outcomes[0] ?? 0) > 0, "some creates won the race cleanly: \(outcomes)")
        _ = s.swrun(["delete", "--force", attacker])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: host) == ["marker"],
            "no mount point created in the host directory: \(outcomes)")
        #expect(
            !(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)).contains(source),
            "no mount of the source in the host's table")
    }
}
