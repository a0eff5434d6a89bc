import SwrunCore
import Testing

// CRIU's RPC against real exchanges (CriuFixtures.swift, recorded in the VM): runc's
// requests re-encoded by swrun's encoder byte for byte, every criu answer decoded, and
// swrun's requests held to runc's (the same options and external mounts, but for the
// documented differences).

/// A criu_opts as the recorded bytes hold it, field by field, into swrun's CriuOpts; a
/// field CriuOpts does not model fails the test (the encoder could not reproduce it).
func decodeOpts(_ b: ArraySlice<UInt8>) throws -> CriuOpts {
    var o = CriuOpts()
    var unknown: [Int] = []
    func pair(_ b: ArraySlice<UInt8>) throws -> (String?, String?, Int32?) {
        var a: String?, c: String?, n: Int32?
        try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in
            switch f {
            case 1: a = v.string
            case 2: if case .varint = v { n = v.int32 } else { c = v.string }
            default: break
            }
        }
        return (a, c, n)
    }
    var r = ProtoReader(b)
    while let (f, v) = try r.next() {
        switch f {
        case 1: o.imagesDirFd = try #require(v.int32)
        case 2: o.pid = v.int32
        case 3: o.leaveRunning = v.bool
        case 4: o.extUnixSk = v.bool
        case 5: o.tcpEstablished = v.bool
        case 6: o.evasiveDevices = v.bool
        case 7: o.shellJob = v.bool
        case 8: o.fileLocks = v.bool
        case 9: o.logLevel = v.int32
        case 10: o.logFile = v.string
        case 12: o.notifyScripts = v.bool
        case 13: o.root = v.string
        case 14: o.parentImg = v.string
        case 15: o.trackMem = v.bool
        case 16: o.autoDedup = v.bool
        case 17: o.workDirFd = v.int32
        case 18: o.linkRemap = v.bool
        case 23:
            let (k, val, _) = try pair(try #require(v.slice))
            o.extMnt.append(CriuExtMountMap(key: try #require(k), val: try #require(val)))
        case 24: o.manageCgroups = v.bool
        case 25:
            let (ctrl, path, _) = try pair(try #require(v.slice))
            o.cgRoot.append(CriuCgroupRoot(ctrl: ctrl, path: try #require(path)))
        case 26: o.rstSibling = v.bool
        case 27:
            let (k, _, fd) = try pair(try #require(v.slice))
            o.inheritFd.append(CriuInheritFd(key: try #require(k), fd: try #require(fd)))
        case 34: o.manageCgroupsMode = CriuCgMode(rawValue: try #require(v.int32))
        case 37: o.external.append(try #require(v.string))
        case 38: o.emptyNs = v.uint32
        case 44: o.freezeCgroup = v.string
        case 46: o.tcpSkipInFlight = v.bool
        case 48: o.lazyPages = v.bool
        case 49: o.statusFd = v.int32
        case 50: o.orphanPtsMaster = v.bool
        case 51: o.configFile = v.string
        case 53: o.lsmProfile = v.string
        case 63: o.lsmMountContext = v.string
        default: unknown.append(f)
        }
    }
    #expect(unknown.isEmpty, "criu_opts fields swrun does not model: \(unknown)")
    return o
}

/// A request as recorded: its type, its criu_opts, and the rest.
func decodeReq(_ bytes: [UInt8]) throws -> CriuReq {
    var type: CriuReqType?
    var req = CriuReq(type: .empty)
    var r = ProtoReader(bytes)
    while let (f, v) = try r.next() {
        switch f {
        case 1: type = CriuReqType(rawValue: try #require(v.int32))
        case 2: req.opts = try decodeOpts(try #require(v.slice))
        case 3: req.notifySuccess = v.bool
        case 5:
            var feat = CriuFeatures()
            try ProtoReader.forEach(try #require(v.slice)) { (f, v) throws(ProtoError) in
                if f == 1 { feat.memTrack = v.bool } else if f == 2 { feat.lazyPages = v.bool }
            }
            req.features = feat
        default: Issue.record("criu_req field \(f) not modelled")
        }
    }
    req.type = try #require(type)
    return req
}

/// The set fields of a recorded criu_opts, by number.
func optFields(_ bytes: [UInt8]) throws -> Set<Int> {
    var out: Set<Int> = []
    var r = ProtoReader(bytes)
    while let (f, v) = try r.next() {
        guard f == 2 else { continue }
        var o = ProtoReader(try #require(v.slice))
        while let (g, _) = try o.next() { out.insert(g) }
    }
    return out
}

@Suite("CRIU RPC against recorded exchanges")
struct CriuRPCTests {
    static func session(_ name: String) throws -> [(sent: Bool, bytes: [UInt8])] {
        let s = try #require(CriuFixtures.sessions[name], "no recorded session \(name)")
        return s.map { ($0.sent, hexBytes($0.hex)) }
    }

    static func requests(_ name: String) throws -> [[UInt8]] { try session(name).filter(\.sent).map(\.bytes) }
    static func answers(_ name: String) throws -> [CriuResp] {
        try session(name).filter { !$0.sent }.map { try CriuResp.decode($0.bytes) }
    }

    /// runc's requests, decoded into swrun's types and encoded again: the same bytes.
    @Test(arguments: [
        "runc/VERSION", "runc/DUMP", "runc/RESTORE", "swrun/DUMP", "swrun/RESTORE", "swrun-tty/DUMP",
        "swrun-tty/RESTORE",
        "swrun-predump/FEATURE_CHECK", "swrun-predump/PRE_DUMP",
    ])
    func requestsEncodeToTheRecordedBytes(_ name: String) throws {
        for bytes in try Self.requests(name) {
            let req = try decodeReq(bytes)
            #expect(req.encoded() == bytes, "\(name) \(req.type.name)")
        }
    }

    @Test func encoderBuildsRuncsDumpFromScratch() throws {
        let recorded = try Self.requests("runc/DUMP")[0]
        let got = try decodeReq(recorded).opts ?? CriuOpts()
        // Written out the way runc 1.1.5 fills it (the fd, pid and paths as recorded).
        var o = CriuOpts()
        o.imagesDirFd = got.imagesDirFd
        o.pid = got.pid
        o.leaveRunning = false
        o.extUnixSk = false
        o.tcpEstablished = false
        o.shellJob = false
        o.fileLocks = false
        o.logLevel = 4
        o.logFile = "dump.log"
        o.notifyScripts = true
        o.root = got.root
        o.autoDedup = false
        o.extMnt = got.extMnt
        o.manageCgroups = true
        o.emptyNs = 0x4000_0000
        o.freezeCgroup = got.freezeCgroup
        o.lazyPages = false
        o.orphanPtsMaster = true
        o.configFile = "/etc/criu/runc.conf"
        #expect(CriuReq(type: .dump, opts: o).encoded() == recorded)
        #expect(got.extMnt.contains(CriuExtMountMap(key: "/proc/kcore", val: "/dev/null")))
        #expect(got.extMnt.contains(CriuExtMountMap(key: "/dev/null", val: "/dev/null")))
        let replies = try Self.requests("runc/DUMP").dropFirst()
        #expect(!replies.isEmpty && replies.allSatisfy { $0 == [0x08, 0x06, 0x18, 0x01] }, "notify_success answers")
    }

    @Test func versionAnswer() throws {
        for name in ["runc/VERSION", "swrun/VERSION"] {
            #expect(try Self.requests(name) == [[0x08, 0x0a]])
            let v = try #require(try Self.answers(name).first?.version)
            #expect(v.number == 31701 && v.text == "3.17.1")
        }
    }

    /// --pre-dump: the kernel's memory tracking asked for first (FEATURE_CHECK), then a
    /// PRE_DUMP answered without notifications.
    @Test func preDump() throws {
        #expect(
            try Self.requests("swrun-predump/FEATURE_CHECK") == [
                CriuReq(type: .featureCheck, features: CriuFeatures(memTrack: true)).encoded()
            ])
        let f = try #require(try Self.answers("swrun-predump/FEATURE_CHECK").first)
        #expect(f.type == .featureCheck && f.success && f.features?.memTrack == true && f.features?.lazyPages == false)
        let p = try Self.answers("swrun-predump/PRE_DUMP")
        #expect(p.count == 1 && p[0].type == .preDump && p[0].success)
        let opts = try #require(try decodeReq(try Self.requests("swrun-predump/PRE_DUMP")[0]).opts)
        #expect(opts.extMnt.isEmpty, "no mounts described for a pre-dump (runc's)")
    }

    @Test(arguments: ["runc/DUMP", "swrun/DUMP", "swrun-tty/DUMP"])
    func dumpAnswers(_ name: String) throws {
        let a = try Self.answers(name)
        #expect(a.allSatisfy { $0.success })
        #expect(a.dropLast().map { $0.notify?.script ?? "-" } == ["pre-dump", "network-lock", "post-dump"])
        #expect(a.last?.type == .dump && a.last?.dumpRestored == false)
    }

    @Test(arguments: ["swrun/RESTORE", "swrun-tty/RESTORE"])
    func restoreAnswers(_ name: String) throws {
        let a = try Self.answers(name)
        #expect(a.allSatisfy { $0.success })
        let scripts = a.compactMap { $0.notify?.script }
        #expect(
            scripts.first == "pre-restore" && scripts.contains("setup-namespaces") && scripts.contains("post-restore")
                && scripts.last == "post-resume")
        #expect(
            scripts.contains("orphan-pts-master") == (name == "swrun-tty/RESTORE"),
            "a terminal comes back as an orphaned pty master")
        let pid = try #require(a.first { $0.notify?.script == "post-restore" }?.notify?.pid)
        #expect(a.first { $0.notify?.script == "setup-namespaces" }?.notify?.pid == pid)
        #expect(a.last?.type == .restore && a.last?.restorePid == pid, "the restored init's pid, once more")
    }

    /// swrun asks what runc asks, plus: the cgroup mode always (runc 1.2), link_remap and
    /// tcp_skip_in_flight (runc 1.2's flags), cg_root on cgroup v2 (runc 1.2 sets it there
    /// too); and its v2 cgroup mount (a bind of the container's cgroup, where runc 1.1
    /// mounts a cgroup2 file system) is external.
    @Test func swrunAsksWhatRuncAsks() throws {
        for (verb, extra) in [("DUMP", Set([18, 34, 46])), ("RESTORE", Set([25, 34]))] {
            let runc = try optFields(try Self.requests("runc/\(verb)")[0])
            let swrun = try optFields(try Self.requests("swrun/\(verb)")[0])
            #expect(
                runc.isSubset(of: swrun), "\(verb): runc sets \(runc.subtracting(swrun).sorted()) and swrun does not")
            #expect(
                swrun.subtracting(runc).isSubset(of: extra),
                "\(verb): swrun sets \(swrun.subtracting(runc).subtracting(extra).sorted()) beyond runc")
        }
        let runcDump = try #require(try decodeReq(try Self.requests("runc/DUMP")[0]).opts)
        let swrunDump = try #require(try decodeReq(try Self.requests("swrun/DUMP")[0]).opts)
        #expect(Set(swrunDump.extMnt.map(\.key)) == Set(runcDump.extMnt.map(\.key)).union(["/sys/fs/cgroup"]))
        for (a, b) in [(runcDump, swrunDump)] {
            #expect(
                a.logFile == b.logFile && a.configFile == b.configFile && a.emptyNs == b.emptyNs
                    && a.orphanPtsMaster == b.orphanPtsMaster)
            #expect(
                a.freezeCgroup?.hasPrefix("/sys/fs/cgroup/") == true
                    && b.freezeCgroup?.hasPrefix("/sys/fs/cgroup/") == true)
        }
        let runcRestore = try #require(try decodeReq(try Self.requests("runc/RESTORE")[0]).opts)
        let swrunRestore = try #require(try decodeReq(try Self.requests("swrun/RESTORE")[0]).opts)
        #expect(
            runcRestore.inheritFd.map(\.fd) == swrunRestore.inheritFd.map(\.fd), "stdio pipes inherited the same way")
        #expect(
            swrunRestore.rstSibling == true && swrunRestore.evasiveDevices == true
                && swrunRestore.root?.hasSuffix("/criu-root") == true)
        #expect(swrunRestore.cgRoot.count == 1 && swrunRestore.cgRoot[0].ctrl == "")
        #expect(Set(swrunRestore.extMnt.map(\.key)) == Set(runcRestore.extMnt.map(\.key)).union(["/sys/fs/cgroup"]))
    }
}
