import Foundation
import OCISpec
import SwrunCLI
import SwrunCore
import SwrunSys
import Testing

// Checkpoint and restore (Sources/SwrunCore/Checkpoint): the protobuf wire format, how a
// container is described to CRIU (external mounts and namespaces, stdio, cgroup roots), and
// the verbs' flags. The RPC encodings against recorded bytes are in CriuRPCTests.swift; the
// real checkpoints and restores run in the VM (tests/vm/criu.sh).

@Suite("protobuf wire format (CRIU's RPC)")
struct ProtobufTests {
    @Test func scalars() {
        var w = ProtoWriter()
        w.int32(1, 10)
        w.bool(3, false)
        w.bool(4, true)
        w.uint32(38, 0x4000_0000)
        w.int32(9, nil) // unset: absent
        w.string(10, "dump.log")
        #expect(
            w.bytes == [
                0x08, 0x0a, 0x18, 0x00, 0x20, 0x01, 0xb0, 0x02, 0x80, 0x80, 0x80, 0x80, 0x04,
                0x52, 0x08,
            ] + Array("dump.log".utf8))
    }

    @Test func negativeInt32IsTenBytes() throws {
        var w = ProtoWriter()
        w.int32(1, -1)
        #expect(w.bytes == [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        var r = ProtoReader(w.bytes)
        let f = try #require(try r.next())
        #expect(f.field == 1 && f.value.int32 == -1)
        #expect(try r.next() == nil)
    }

    @Test func embeddedAndRepeated() throws {
        var o = CriuOpts()
        o.imagesDirFd = 5
        o.extMnt = [CriuExtMountMap(key: "/a", val: "/b"), CriuExtMountMap(key: "/c", val: "/d")]
        let bytes = CriuReq(type: .dump, opts: o).encoded()
        // criu_req{type 1, opts{images_dir_fd 5, ext_mnt (23) twice, each {key 1, val 2}}}
        #expect(
            bytes == [
                0x08, 0x01, 0x12, 0x18, 0x08, 0x05,
                0xba, 0x01, 0x08, 0x0a, 0x02, 0x2f, 0x61, 0x12, 0x02, 0x2f, 0x62,
                0xba, 0x01, 0x08, 0x0a, 0x02, 0x2f, 0x63, 0x12, 0x02, 0x2f, 0x64,
            ])
        #expect(try CriuReq.decodeType(bytes) == .dump)
    }

    @Test func readerSkipsFixedFieldsAndRefusesMalformedInput() throws {
        // field 1 fixed64, field 2 fixed32, field 3 varint 7
        var r = ProtoReader([0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4, 0x18, 0x07])
        #expect(try r.next()?.value == .fixed(0x0807060504030201))
        #expect(try r.next()?.value == .fixed(0x04030201))
        #expect(try r.next()?.value == .varint(7))
        #expect(try r.next() == nil)
        for bad: [UInt8] in [
            [0x08], // a key, no value
            [0x08, 0x80], // truncated varint
            [0x12, 0x05, 0x01], // length past the end
            [0x0b], // wire type 3 (group)
            [0x00, 0x00], // field 0
            [0x08] + [UInt8](repeating: 0xff, count: 10) + [0x01], // eleven-byte varint
            [0x09, 1, 2, 3], // truncated fixed64
        ] {
            var r = ProtoReader(bad)
            #expect(throws: ProtoError.self, "\(bad)") { while try r.next() != nil {} }
        }
    }

    @Test func responseNeedsTypeAndSuccess() throws {
        #expect(throws: ProtoError.self) { try CriuResp.decode([0x08, 0x0a]) }
        #expect(throws: ProtoError.self) { try CriuResp.decode([0x10, 0x01]) }
        #expect(throws: ProtoError.self) { try CriuResp.decode([0x08, 0x0a, 0x12, 0x00]) } // success not a varint
        let r = try CriuResp.decode([0x08, 0x0a, 0x10, 0x01, 0xf8, 0x07, 0x01]) // unknown field 127 skipped
        #expect(r.type == .version && r.success)
    }

    @Test func versionNumber() {
        var v = CriuVersion()
        v.major = 3
        v.minor = 17
        v.sublevel = 1
        #expect(v.number == 31701 && v.text == "3.17.1")
        v.sublevel = nil
        #expect(v.number == 31700 && v.text == "3.17")
    }
}

@Suite("how a container is described to CRIU (runc's way)")
struct CriuDescriptionTests {
    /// A bundle with `swrun spec`'s config (every namespace of its own, the masked and
    /// read-only paths, /dev, cgroup mounts) and a rootfs holding a symlink, /conf -> /real/conf.
    func plan(_ edit: (inout String) -> Void = { _ in }, layout: CgroupLayout? = nil) throws -> LaunchPlan {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swrun-criu-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/rootfs/real/conf", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/rootfs/conf", withDestinationPath: "/real/conf")
        var json = DefaultSpec.json
        edit(&json)
        let spec = try SpecLoader.decodeSpecFast(Array(json.utf8))
        let l =
            layout
            ?? CgroupLayout.parse(
                mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate",
                selfCgroup: "0::/user.slice\n")
        return try Validation.plan(spec, bundle: dir, id: "c1", layout: l, options: CreateOptions())
    }

    static let devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]

    /// runc 1.1's default has no cgroup namespace: on cgroup v2 the container's own cgroup
    /// is bound at /sys/fs/cgroup, an external mount of the host's.
    @Test func specDefaultPureV2() throws {
        let p = try plan()
        #expect(!p.newCgroupNamespace)
        #expect(CriuDescription.cgroupBinds(p).map(\.destination) == ["/sys/fs/cgroup"])
        let dump = CriuDescription.dumpMounts(p, maskedFiles: ["/proc/kcore", "/proc/keys"])
        #expect(dump.map(\.key) == ["/sys/fs/cgroup", "/proc/kcore", "/proc/keys"] + Self.devices)
        #expect(dump.map(\.val) == ["/sys/fs/cgroup", "/dev/null", "/dev/null"] + Self.devices)
        let restore = CriuDescription.restoreMounts(p)
        #expect(restore.map(\.key) == ["/sys/fs/cgroup", "/dev/null"] + Self.devices)
        // The cgroup beside swrun's own (runc's fs2 takes the parent of /proc/self/cgroup's
        // path, which already holds processes): /user.slice's parent, then c1.
        #expect(restore.map(\.val) == ["/sys/fs/cgroup/c1", "/dev/null"] + Self.devices)
        #expect(CriuDescription.joinedNamespaces(p).isEmpty)
        #expect(try CriuDescription.dumpExternal(p) { _ in 1 } == [])
    }

    @Test func bindMountsAndSymlinkedDestination() throws {
        let p = try plan { j in
            j = j.replacingOccurrences(
                of: "\"mounts\": [",
                with: """
                    "mounts": [{"destination": "/conf", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]},
                               {"destination": "/data", "type": "bind", "source": "/var/tmp", "options": ["bind"]},
                    """)
        }
        let dump = CriuDescription.dumpMounts(p, maskedFiles: [])
        // /conf is a symlink to /real/conf in the rootfs: the mount is there (securejoin).
        #expect(
            Array(dump.prefix(2)) == [
                CriuExtMountMap(key: "/real/conf", val: "/real/conf"), CriuExtMountMap(key: "/data", val: "/data"),
            ])
        let restore = CriuDescription.restoreMounts(p)
        #expect(
            Array(restore.prefix(2)) == [
                CriuExtMountMap(key: "/real/conf", val: "/etc"), CriuExtMountMap(key: "/data", val: "/var/tmp"),
            ])
    }

    @Test func cgroupNamespaceAndHybridHierarchies() throws {
        let cgroupNS: (inout String) -> Void = { j in
            j = j.replacingOccurrences(
                of: "\"type\": \"mount\"\n\t\t\t}", with: "\"type\": \"mount\"\n\t\t\t},\n\t\t\t{\"type\": \"cgroup\"}")
        }
        // With a cgroup namespace every hierarchy is mounted anew: nothing external.
        let v2 = try plan(cgroupNS)
        #expect(v2.newCgroupNamespace)
        #expect(CriuDescription.cgroupBinds(v2).isEmpty)
        #expect(CriuDescription.restoreMounts(v2).map(\.key) == ["/dev/null"] + Self.devices)
        let hybrid = CgroupLayout.parse(
            mountinfo: """
                31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
                32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
                34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
                35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
                """, selfCgroup: "4:memory:/\n3:cpu,cpuacct:/\n0::/\n")
        let v1 = try plan(layout: hybrid)
        #expect(
            CriuDescription.dumpMounts(v1, maskedFiles: []).prefix(3).map(\.key) == [
                "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory",
            ])
        #expect(
            CriuDescription.restoreMounts(v1).prefix(3).map(\.val) == [
                "/sys/fs/cgroup/unified/c1", "/sys/fs/cgroup/cpu,cpuacct/c1", "/sys/fs/cgroup/memory/c1",
            ])
        #expect(CriuDescription.cgroupBinds(try plan(cgroupNS, layout: hybrid)).isEmpty)
    }

    @Test func externalNamespaces() throws {
        let p = try plan { j in
            j = j.replacingOccurrences(
                of: "\"type\": \"network\"", with: "\"type\": \"network\", \"path\": \"/proc/self/ns/net\""
            )
            .replacingOccurrences(of: "\"type\": \"ipc\"", with: "\"type\": \"ipc\", \"path\": \"/proc/self/ns/ipc\"")
        }
        #expect(
            try CriuDescription.dumpExternal(p) { path in path == "/proc/self/ns/net" ? 4026531992 : 0 } == [
                "net[4026531992]:extRootNetNS"
            ])
        let (inherit, join) = try CriuDescription.restoreNamespaces(p, firstFd: 4)
        #expect(
            inherit.map(\.key) == ["extRootNetNS"] && inherit.map(\.fd) == [4]
                && inherit.map(\.path) == ["/proc/self/ns/net"])
        #expect(join == [CriuJoinNamespace(ns: "ipc", nsFile: "/proc/self/ns/ipc")])
        #expect(
            CriuDescription.externalKey("pid") == "extRootPidNS"
                && CriuDescription.externalKey("network") == "extRootNetNS")
    }

    @Test func resolveInRootStaysInside() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("swrun-resolve-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../../../etc")
        try FileManager.default.createSymbolicLink(atPath: root + "/rel", withDestinationPath: "a/b")
        try FileManager.default.createSymbolicLink(atPath: root + "/loop", withDestinationPath: "/loop")
        #expect(CriuDescription.resolveInRoot(root, "/up/passwd") == "/etc/passwd")
        #expect(CriuDescription.resolveInRoot(root, "/rel/c/../d") == "/a/b/d")
        #expect(CriuDescription.resolveInRoot(root, "/missing/x") == "/missing/x")
        #expect(
            CriuDescription.resolveInRoot(root, "/loop/x").hasSuffix("/x"), "a loop ends (40 links) rather than spins")
    }

    @Test func stdioDescriptors() throws {
        let json = CriuDescription.descriptorsJSON(["/dev/null", "pipe:[12352]", "pipe:[12353]"])
        #expect(String(decoding: json, as: UTF8.self) == #"["/dev/null","pipe:[12352]","pipe:[12353]"]"#)
        #expect(
            try CriuDescription.inheritedStdio(json) == [
                CriuInheritFd(key: "pipe:[12352]", fd: 1), CriuInheritFd(key: "pipe:[12353]", fd: 2),
            ])
        #expect(throws: SwrunError.self) { try CriuDescription.inheritedStdio(Array("{}".utf8)) }
        #expect(throws: SwrunError.self) { try CriuDescription.inheritedStdio(Array("[1]".utf8)) }
    }

    @Test func cgroupRoots() {
        #expect(
            CriuCgroups.roots(procCgroup: "0::/system.slice/x/c1\n") == [
                CriuCgroupRoot(ctrl: "", path: "/system.slice/x/c1")
            ])
        #expect(
            CriuCgroups.roots(procCgroup: "4:cpu,cpuacct:/c\n1:name=systemd:/s\n0::/u\n").map { $0.ctrl ?? "-" } == [
                "cpu", "cpuacct", "name=systemd", "",
            ])
    }

    @Test func logQuote() {
        let log = "(00.1) one\n(00.2) Error (criu/mount.c:1): a\n(00.3) ok\n(00.4) Error (criu/x.c:2): b\n"
        #expect(CriuDiagnosis.errorLines(log) == ["(00.2) Error (criu/mount.c:1): a", "(00.4) Error (criu/x.c:2): b"])
        #expect(CriuDiagnosis.errorLines(log, max: 1).count == 1)
    }
}

@Suite("checkpoint and restore flags (runc's)")
struct CriuCLITests {
    func parse(_ verb: String, _ argv: [String]) throws -> ParsedArgs {
        let v = try #require(Verbs.find(verb))
        return try ArgParser.parse(argv[...], flags: v.flags, stopAtPositional: false, verb: verb)
    }

    @Test func everyRuncFlag() throws {
        let checkpoint = try #require(Verbs.find("checkpoint")).flags.map { $0.names[0] }
        for f in [
            "image-path", "work-path", "parent-path", "leave-running", "tcp-established", "ext-unix-sk", "shell-job",
            "file-locks", "pre-dump", "manage-cgroups-mode", "empty-ns", "auto-dedup", "lsm-profile",
            "lsm-mount-context",
        ] {
            #expect(checkpoint.contains(f), "checkpoint --\(f)")
        }
        let restore = try #require(Verbs.find("restore")).flags.map { $0.names[0] }
        for f in [
            "image-path", "work-path", "bundle", "detach", "pid-file", "console-socket", "no-subreaper", "no-pivot",
            "tcp-established", "ext-unix-sk", "shell-job", "file-locks", "manage-cgroups-mode", "empty-ns",
            "auto-dedup",
            "lsm-profile", "lsm-mount-context",
        ] {
            #expect(restore.contains(f), "restore --\(f)")
        }
    }

    /// Podman's CRRuntimeSupportsPodCheckpointRestore runs `RUNTIME restore --lsm-mount-context`
    /// and looks for runc's "flag needs an argument".
    @Test func podmanProbesLsmMountContext() {
        #expect(SwrunCLI.dryRun(["restore", "--lsm-mount-context"])?.contains("flag needs an argument") == true)
    }

    @Test func optionValuesChecked() throws {
        #expect(
            SwrunCLI.dryRun([
                "checkpoint", "--manage-cgroups-mode", "soft", "--empty-ns", "network", "--empty-ns", "network", "c1",
            ]) == nil)
        #expect(
            SwrunCLI.dryRun(["checkpoint", "--manage-cgroups-mode", "bogus", "c1"])?.contains("manage-cgroups-mode")
                == true)
        #expect(SwrunCLI.dryRun(["checkpoint", "--empty-ns", "pid", "c1"])?.contains("not supported") == true)
        #expect(
            SwrunCLI.dryRun([
                "restore", "-d", "-b", "/b", "--pid-file", "/p", "--console-socket", "/s", "--no-subreaper",
                "--no-pivot", "c1",
            ]) == nil)
        #expect(SwrunCLI.dryRun(["restore"]) != nil)
        #expect(SwrunCLI.dryRun(["checkpoint", "a", "b"]) != nil)
        let a = try parse("checkpoint", ["--empty-ns", "network", "--empty-ns=network", "--leave-running", "c1"])
        #expect(a.strings("empty-ns") == ["network", "network"] && a.bool("leave-running"))
        for m in ["", "soft", "full", "strict", "ignore"] { #expect(CriuCgMode(flag: m) != nil, "\(m)") }
        #expect(CriuCgMode(flag: "") == .default && CriuCgMode(flag: "ignore") == .ignore)
        var o = CriuOptions()
        #expect(
            try o.emptyNamespaceMask() == UInt32(bitPattern: NamespaceFlag.network),
            "the network namespace is always empty, as runc's")
        o.emptyNs = ["ipc"]
        #expect(throws: SwrunError.self) { try o.emptyNamespaceMask() }
    }
}
