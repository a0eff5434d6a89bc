import OCISpec
import OCISpecCodable
import SwrunCore
import SwrunSys
import Testing

@Suite("plan building and tables (no root)")
struct CoreTests {
    @Test(arguments: ["abc", "a.b-c_d+e", "ABC123"])
    func validIDs(id: String) throws { try ContainerID.validate(id) }

    @Test(arguments: ["", ".", "..", "a/b", "a b", "ä", "x:y"])
    func invalidIDs(id: String) {
        #expect(throws: SwrunError.self) { try ContainerID.validate(id) }
    }

    /// Digits.decimal: the start path's integer printing, against the standard library's.
    @Test func decimalDigits() {
        for v in [0, 7, 10, 99, 100, 4096, 1_000_000_007, Int.max, Int.min, -1, -10] {
            #expect(Digits.decimal(v) == String(v))
        }
        for v: UInt64 in [0, 1, UInt64.max] { #expect(Digits.decimal(v) == String(v)) }
        #expect(Digits.decimal(Int32.min) == "-2147483648" && Digits.decimal(UInt32.max) == "4294967295")
        #expect(
            Digits.decimal(7, width: 4) == "0007" && Digits.decimal(2026, width: 4) == "2026"
                && Digits.decimal(12345, width: 2) == "12345")
        #expect(Digits.decimal(5, width: 9) == "000000005" && Digits.decimal(-5, width: 3) == "-005")
        #expect(Digits.decimal(1, width: 99).utf8.count == 20)
    }

    /// RFC 3339 as runc writes it: Go's RFC3339Nano drops the fraction's trailing zeros.
    @Test func rfc3339() {
        let t = Clock.UTC(year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, nanosecond: 60_000_000)
        #expect(Timestamp.rfc3339(t, nanoseconds: false) == "2026-01-02T03:04:05Z")
        #expect(Timestamp.rfc3339(t, nanoseconds: true) == "2026-01-02T03:04:05.06Z")
        var u = t
        u.nanosecond = 0
        #expect(Timestamp.rfc3339(u, nanoseconds: true) == "2026-01-02T03:04:05Z")
        u.nanosecond = 123_456_789
        #expect(Timestamp.rfc3339(u, nanoseconds: true) == "2026-01-02T03:04:05.123456789Z")
        u.nanosecond = 1
        #expect(Timestamp.rfc3339(u, nanoseconds: true) == "2026-01-02T03:04:05.000000001Z")
        let now = Timestamp.rfc3339(nanoseconds: true)
        #expect(now.utf8.count >= 20 && now.utf8.count <= 30 && now.utf8.last == UInt8(ascii: "Z"))
    }

    /// trimWhitespace trims ASCII space, tab, CR and LF by bytes, and nothing else.
    @Test func trimsByBytes() {
        #expect(trimWhitespace(" \t 0::/a b \r\n") == "0::/a b")
        #expect(trimWhitespace("\n\n") == "" && trimWhitespace("") == "" && trimWhitespace("x") == "x")
        #expect(trimWhitespace("\u{00A0}ä\u{00A0}") == "\u{00A0}ä\u{00A0}") // non-ASCII space stays
        #expect(trimWhitespace("a b\nc"[...].dropFirst()) == "b\nc")
    }

    /// startsWithBytes is Go's strings.HasPrefix: bytes, no Character boundary.
    @Test func prefixByBytes() {
        #expect("/proc/1".startsWithBytes("/proc/") && "x".startsWithBytes("") && !"".startsWithBytes("x"))
        #expect(!"/pro".startsWithBytes("/proc"))
        // "e" + combining acute: a prefix by bytes, not by Characters (String.hasPrefix says no).
        #expect("e\u{0301}x".startsWithBytes("e") && !"e\u{0301}x".hasPrefix("e"))
        #expect("ab"[...].startsWithBytes("a"))
    }

    @Test func mountOptionTable() throws {
        let m = try MountPlan.op(
            Mount(
                destination: "/data//x/", type: "bind", source: "rel",
                options: ["rbind", "ro", "nosuid", "rnodev", "rslave", "noatime"]), index: 0, bundle: "/b")
        #expect(m.destination == "/data/x")
        #expect(m.kind == .bind(source: "/b/rel", recursive: true))
        #expect(m.attrSet == MountAttr.rdonly | MountAttr.nosuid | MountAttr.noatime)
        #expect(m.recursiveAttrSet == MountAttr.nodev)
        #expect(m.propagation == UInt64(MountFlags.slave) && m.propagationRecursive)
        // A relative destination is refused (it was taken relative to the rootfs).
        #expect(throws: SwrunError.self) {
            try MountPlan.op(
                Mount(destination: "dev", type: "tmpfs", source: "tmpfs", options: []), index: 0, bundle: "/b")
        }
        let t = try MountPlan.op(
            Mount(
                destination: "/dev", type: "tmpfs", source: "tmpfs",
                options: ["nosuid", "strictatime", "mode=755", "size=65536k", "rw", "tmpcopyup"]), index: 0,
            bundle: "/b")
        #expect(t.destination == "/dev")
        #expect(t.kind == .filesystem(type: "tmpfs", source: "tmpfs"))
        #expect(t.data == [KeyValue("mode", "755"), KeyValue("size", "65536k")])
        #expect(t.attrSet == MountAttr.nosuid | MountAttr.strictatime)
        #expect(t.attrClear & MountAttr.rdonly != 0 && t.tmpcopyup)
    }

    @Test func mountErrorsNameTheField() {
        #expect(throws: SwrunError.self) {
            try MountPlan.op(
                Mount(destination: "/x", type: "bind", source: nil, options: ["bind"]), index: 3, bundle: "/b")
        }
        // (#expect(throws:) with a check of the error: a call that does not throw fails.)
        #expect {
            _ = try MountPlan.op(Mount(destination: "/x", type: nil, source: nil, options: []), index: 3, bundle: "/b")
        } throws: { error in
            (error as? SwrunError)?.message == "mounts[3].type: required for a non-bind mount"
        }
        #expect {
            _ = try MountPlan.op(
                Mount(destination: "/x", type: "proc", source: "proc", options: ["tmpcopyup"]), index: 1, bundle: "/b")
        } throws: { error in
            (error as? SwrunError)?.message.hasPrefix("mounts[1].options: tmpcopyup") == true
        }
    }

    @Test func everyRuncMountOptionIsKnown() {
        let runc = [
            "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime",
            "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand",
            "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime",
            "relatime", "remount", "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime",
            "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared",
            "rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
            "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable",
        ]
        for o in runc { #expect(MountOptions.effect(o) != nil, "\(o)") }
        // runc 1.1's list, and idmap/ridmap, which runc 1.2 lists too.
        #expect(MountOptions.names == (runc + ["idmap", "ridmap"]).sorted(), "features lists what runc lists")
        #expect(MountOptions.effect("ridmap") == .idmap(recursive: true))
        for o in MountOptions.names { #expect(MountOptions.effect(o) != nil, "\(o)") }
        #expect(MountOptions.effect("rro") == .recursiveAttr(set: MountAttr.rdonly, clear: 0))
        #expect(MountOptions.effect("rw") == .attr(set: 0, clear: MountAttr.rdonly))
        #expect(MountOptions.effect("relatime") == .attr(set: MountAttr.relatime, clear: MountAttr.atimeMask))
        #expect(MountOptions.effect("rrelatime") == .recursiveAttr(set: MountAttr.relatime, clear: MountAttr.atimeMask))
        #expect(MountOptions.effect("ratime") == .recursiveAttr(set: 0, clear: MountAttr.noatime))
        #expect(MountOptions.effect("acl") == .superblockFlag("posixacl"))
        for bad in ["r", "rbogus", "bogus", "rrro", "Ro", ""] { #expect(MountOptions.effect(bad) == nil, "\(bad)") }
    }

    @Test func cgroupLayoutHybrid() throws {
        let mountinfo = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
            33 31 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
            34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            """
        let selfCg = "4:memory:/svc/x\n3:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n"
        let l = CgroupLayout.parse(mountinfo: mountinfo, selfCgroup: selfCg)
        #expect(l.hierarchies.map(\.name) == ["unified", "cpu,cpuacct", "memory"])
        #expect(!l.isPureV2)
        #expect(
            try l.directories(cgroupsPath: "a/b", id: "c") == [
                "/sys/fs/cgroup/unified/a/b", "/sys/fs/cgroup/cpu,cpuacct/a/b", "/sys/fs/cgroup/memory/svc/x/a/b",
            ])
        #expect(
            try l.directories(cgroupsPath: "/abs/c", id: "c") == [
                "/sys/fs/cgroup/unified/abs/c", "/sys/fs/cgroup/cpu,cpuacct/abs/c", "/sys/fs/cgroup/memory/abs/c",
            ])
        #expect(try l.directories(cgroupsPath: nil, id: "c1")[2] == "/sys/fs/cgroup/memory/svc/x/c1")
        #expect(throws: SwrunError.self) { try l.directories(cgroupsPath: "../escape", id: "c") }
        #expect(throws: SwrunError.self) { try l.directories(cgroupsPath: "system.slice:docker:abc", id: "c") }
    }

    @Test func cgroupLayoutPureV2() throws {
        let l = CgroupLayout.parse(
            mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate",
            selfCgroup: "0::/user.slice/x.scope\n")
        #expect(l.isPureV2 && l.hierarchies[0].ownPath == "/user.slice/x.scope")
        // runc's fs2: a relative cgroupsPath is below the parent of our own cgroup.
        #expect(try l.directories(cgroupsPath: nil, id: "c1") == ["/sys/fs/cgroup/user.slice/c1"])
        #expect(try l.directories(cgroupsPath: "a/b", id: "c1") == ["/sys/fs/cgroup/user.slice/a/b"])
        #expect(try l.directories(cgroupsPath: "/abs", id: "c1") == ["/sys/fs/cgroup/abs"])
        let top = CgroupLayout.parse(
            mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", selfCgroup: "0::/init.scope\n")
        #expect(try top.directories(cgroupsPath: nil, id: "c1") == ["/sys/fs/cgroup/c1"])
    }

    @Test func syncMessagesRoundTrip() {
        let all: [SyncMessage] = [
            .cgroupsReady(pid: 4_194_304), .runHooks, .hooksDone, .ready, .proceed, .handedOver, .made,
            .error(errno: 19, message: "mount proc: no such device"),
        ]
        for m in all { #expect(SyncMessage.decode(m.encode()) == m) }
        #expect(
            SyncMessage.decode([]) == nil && SyncMessage.decode([9]) == nil && SyncMessage.decode([0xFF, 1]) == nil)
        #expect(SyncMessage.decode([1, 2, 3]) == nil, "cgroupsReady carries exactly a 32-bit pid")
    }

    /// An init error always fits one packet: a 10 MB value in it is cut in the middle, the
    /// field's name (start) and the kernel's reason (end) kept, on UTF-8 boundaries.
    @Test func longErrorsAreCutToFit() {
        let huge =
            "mounts[3] (bind on \"/" + String(repeating: "é", count: 5_000_000)
            + "\"): mount: no such file or directory"
        let bytes = SyncMessage.error(errno: 2, message: huge).encode()
        #expect(bytes.count < 5000)
        guard case .error(let e, let m)? = SyncMessage.decode(bytes) else {
            Issue.record("not an error message"); return
        }
        #expect(
            e == 2 && m.hasPrefix("mounts[3] (bind on") && m.hasSuffix("no such file or directory")
                && m.contains("bytes cut"))
        #expect(String(validating: Array(m.utf8), as: UTF8.self) != nil)
    }

    /// The state hooks get: built by the runtime with the status and pid left open, the same
    /// bytes as the whole state's hookJSON once completed.
    @Test func hookStateTemplateMatchesHookJSON() {
        for annotations in [[:], ["a": "x", "b": "-999"]] as [[String: String]] {
            let s = ContainerState(
                ociVersion: "1.0.2", id: "c-1", status: "created", pid: 42, bundle: "/b", rootfs: "/b/r", created: "t",
                annotations: annotations, owner: "")
            let t = HookStateTemplate(s)
            #expect(t.json(status: "created", pid: 42) == s.hookJSON.encoded())
            var running = s
            running.status = "running"
            #expect(t.json(status: "running", pid: 42) == running.hookJSON.encoded())
        }
    }

    @Test func logLinesHaveRuncsShape() {
        let json = Log.line(.error, "container \"x\" not running", format: .json)
        #expect(
            json.hasPrefix(#"{"level":"error","msg":"container \"x\" not running","time":""#)
                && json.hasSuffix("Z\"}\n"))
        let text = Log.line(.error, "boom", format: .text)
        #expect(text.hasPrefix("time=\"") && text.hasSuffix(" level=error msg=\"boom\"\n"))
    }

    @Test func errorWordingClientsMatch() {
        #expect(SwrunError.notExist.message == "container does not exist")
        #expect(SwrunError.notRunning.message == "container not running")
        #expect(SwrunError.notExist.wrapped("state x").message == "state x: container does not exist")
        #expect(SyscallError("stat", "/x", errno: Errno.ENOENT).description == "stat /x: no such file or directory")
    }

    @Test func capabilitiesAndRlimits() throws {
        #expect(CapabilityNames.number("CAP_KILL") == 5 && CapabilityNames.number("net_raw") == 13)
        #expect(try CapabilityNames.mask(["CAP_CHOWN", "CAP_KILL"], field: "f") == 0x21)
        #expect { _ = try CapabilityNames.mask(["CAP_BOGUS"], field: "process.capabilities.bounding") } throws: {
            error in
            (error as? SwrunError)?.message == "process.capabilities.bounding: unknown capability \"CAP_BOGUS\""
        }
        #expect(RlimitNames.all["RLIMIT_NOFILE"] == 7 && RlimitNames.all.count == 16)
        for (name, n) in RlimitNames.all { #expect(RlimitNames.number(name) == n, "\(name)") }
        #expect(RlimitNames.number("RLIMIT_nofile") == nil && RlimitNames.number("NOFILE") == nil)
    }

    @Test func pathNormalization() {
        let cases: [(String, String)] = [
            ("//a/./b/", "/a/b"), ("/", "/"), ("", "/"), ("a/b", "/a/b"), ("/a/../..", "/"),
            ("/a/b/../c", "/a/c"), ("/../x", "/x"), ("/a/..b/c.", "/a/..b/c."), ("/a//b///", "/a/b"),
            ("/é/ü/./", "/é/ü"), ("...", "/..."), ("/a/b/c/../../d", "/a/d"), ("/.", "/"),
        ]
        for (input, want) in cases { #expect(MountPlan.normalize(input) == want, "\(input)") }
    }

    @Test func passwdAndGroupParsing() {
        let p = UserDB.parsePasswd("root:x:0:0:root:/root:/bin/sh\n# comment\nbad\nalice:x:1000:100::/home/a:/bin/sh\n")
        #expect(
            p == [
                PasswdEntry(name: "root", uid: 0, gid: 0, home: "/root"),
                PasswdEntry(name: "alice", uid: 1000, gid: 100, home: "/home/a"),
            ])
        let g = UserDB.parseGroup("wheel:x:10:alice,bob\nstaff:x:50:\n")
        #expect(g[0].members == ["alice", "bob"] && g[1].members.isEmpty)
        // Ids: decimal digits within UInt32 only; empty lines and comments skipped.
        let q = UserDB.parsePasswd(
            "\n\nmax:x:4294967295:0::/:/bin/sh\nover:x:4294967296:0::/:/x\nneg:x:-1:0::/:/x\nsp:x: 1:0::/:/x\nnone:x::0::/:/x\n#c:x:5:5::/:/x\n"
        )
        #expect(q == [PasswdEntry(name: "max", uid: UInt32.max, gid: 0, home: "/")])
        #expect(UserDB.parseGroup("g:x:7\nh:x:8:a,,b").map { $0.members } == [["a", "b"]])
    }

    @Test func sysctlValidation() throws {
        var plan = LaunchPlan(id: "x", bundle: "/b", rootfs: "/r")
        plan.cloneFlags = NamespaceFlag.ipc | NamespaceFlag.mount
        try Sysctl.validate("kernel.shmmax", plan: plan)
        try Sysctl.validate("fs.mqueue.queues_max", plan: plan)
        #expect(throws: SwrunError.self) { try Sysctl.validate("net.ipv4.ip_forward", plan: plan) }
        #expect(throws: SwrunError.self) { try Sysctl.validate("kernel.panic", plan: plan) }
        #expect(throws: SwrunError.self) { try Sysctl.validate("../../x", plan: plan) }
    }

    @Test func seccompProfilesCompile() throws {
        let docker = try SpecLoader.decode(
            LinuxSeccomp.self,
            Array(
                #"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["read","write","no_such_syscall"],"action":"SCMP_ACT_ALLOW"},{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#
                    .utf8))
        let c = try SeccompCompiler.compile(docker)
        #expect(c.bpf.count > 0 && c.bpf.count % 8 == 0)
        #expect(c.flags == 2)
        var bad = docker
        bad.defaultAction = "SCMP_ACT_NOPE"
        #expect(throws: SwrunError.self) { try SeccompCompiler.compile(bad) }
        bad = docker
        bad.architectures = ["SCMP_ARCH_VAX"]
        #expect(throws: SwrunError.self) { try SeccompCompiler.compile(bad) }
    }
}

/// CVE-2026-30892: `exec --user` ids are decimal digits only, at most 2147483647 (as runc;
/// 4294967295 is -1 to setresuid(2)).
@Suite("strict user ids")
struct StrictIDTests {
    @Test func acceptsPlainDecimal() {
        #expect(Runtime.strictID("0") == 0)
        #expect(Runtime.strictID("1") == 1)
        #expect(Runtime.strictID("2147483647") == 2_147_483_647)
    }

    @Test func refusesEverythingElse() {
        for s in [
            "", "-1", "+1", " 1", "1 ", "0x10", "4294967295", "4294967294", "2147483648", "99999999999", "1a", "１",
        ] {
            #expect(Runtime.strictID(Substring(s)) == nil, "\(s)")
        }
    }
}

@Suite("uid_map and gid_map text")
struct IDMapTextTests {
    /// The kernel's format: right-aligned columns, one range per line.
    @Test func parsesTheKernelsColumns() {
        let text = "         0          0 4294967295\n"
        #expect(IDMapText.parse(text) == [IDRange(containerID: 0, hostID: 0, size: 4_294_967_295)])
        let two = "         0       1000          1\n         1     100000      65536\n"
        #expect(
            IDMapText.parse(two) == [
                IDRange(containerID: 0, hostID: 1000, size: 1), IDRange(containerID: 1, hostID: 100_000, size: 65536),
            ])
        #expect(
            IDMapText.outside(two, 0) == 1000 && IDMapText.outside(two, 5) == 100_004
                && IDMapText.outside(two, 70000) == nil)
    }

    /// Lines that are not three decimal UInt32s are left out (an overflow, a sign, a fourth field).
    @Test func leavesOutWhatIsNotARange() {
        let text = "0 0 4294967296\n-1 0 1\n0 0 1 2\n0 x 1\n\n7 8 9"
        #expect(IDMapText.parse(text) == [IDRange(containerID: 7, hostID: 8, size: 9)])
        #expect(IDMapText.parse("") == [])
    }
}

@Suite("ociVersion")
struct OCIVersionTests {
    @Test func acceptsWhatThisBuildImplements() throws {
        for v in ["1.0.0", "1.0.2", "1.1.0", "1.2.1", "1.1.0-rc.1", "1.0.2-dev", "1.2.0+build.7", "1.0.0-rc+x-y"] {
            try OCIVersion.check(v)
        }
    }

    @Test func refusesNewerOlderAndMalformed() {
        for v in ["1.3.0", "2.0.0", "0.9.9"] {
            #expect(throws: SwrunError.self, "\(v)") { try OCIVersion.check(v) }
        }
        for v in [
            "", "1", "1.0", "1.0.0.0", "v1.0.0", "1..0", "1.0.", ".1.0", "1.0.0000000001", "1.0.x", " 1.0.0", "-1.0.0",
        ] {
            do {
                try OCIVersion.check(v)
                Issue.record("\(Quote.short(v)) was accepted")
            } catch {
                #expect(error.message.contains("is not a version"), "\(v): \(error.message)")
            }
        }
    }
}
