/// CRIU's RPC messages (criu/images/rpc.proto, CRIU 3.17), the fields swrun uses, with their
/// field numbers. Requests are encoded, responses decoded; optional fields are Swift
/// optionals, and a set one goes on the wire even when it holds the default (proto2).
public enum CriuReqType: Int32, Sendable {
    case empty = 0, dump = 1, restore = 2, check = 3, preDump = 4, pageServer = 5, notify = 6
    case cpuinfoDump = 7, cpuinfoCheck = 8, featureCheck = 9, version = 10, waitPid = 11
    case pageServerChld = 12, singlePreDump = 13

    public var name: String {
        switch self {
        case .empty: return "EMPTY"
        case .dump: return "DUMP"
        case .restore: return "RESTORE"
        case .check: return "CHECK"
        case .preDump: return "PRE_DUMP"
        case .pageServer: return "PAGE_SERVER"
        case .notify: return "NOTIFY"
        case .cpuinfoDump: return "CPUINFO_DUMP"
        case .cpuinfoCheck: return "CPUINFO_CHECK"
        case .featureCheck: return "FEATURE_CHECK"
        case .version: return "VERSION"
        case .waitPid: return "WAIT_PID"
        case .pageServerChld: return "PAGE_SERVER_CHLD"
        case .singlePreDump: return "SINGLE_PRE_DUMP"
        }
    }
}

/// criu_cg_mode.
public enum CriuCgMode: Int32, Sendable {
    case ignore = 0, none = 1, props = 2, soft = 3, full = 4, strict = 5, `default` = 6

    /// runc's --manage-cgroups-mode values ("" is CRIU's default, which is soft).
    public init?(flag: String) {
        switch flag {
        case "": self = .default
        case "soft": self = .soft
        case "full": self = .full
        case "strict": self = .strict
        case "ignore": self = .ignore
        default: return nil
        }
    }
}

public struct CriuExtMountMap: ProtoEncodable, Equatable, Sendable {
    public var key: String
    public var val: String
    public init(key: String, val: String) {
        self.key = key
        self.val = val
    }
    public func encode(_ w: inout ProtoWriter) {
        w.string(1, key)
        w.string(2, val)
    }
}

public struct CriuJoinNamespace: ProtoEncodable, Equatable, Sendable {
    public var ns: String
    public var nsFile: String
    public init(ns: String, nsFile: String) {
        self.ns = ns
        self.nsFile = nsFile
    }
    public func encode(_ w: inout ProtoWriter) {
        w.string(1, ns)
        w.string(2, nsFile)
    }
}

public struct CriuInheritFd: ProtoEncodable, Equatable, Sendable {
    public var key: String
    public var fd: Int32
    public init(key: String, fd: Int32) {
        self.key = key
        self.fd = fd
    }
    public func encode(_ w: inout ProtoWriter) {
        w.string(1, key)
        w.int32(2, fd)
    }
}

public struct CriuCgroupRoot: ProtoEncodable, Equatable, Sendable {
    public var ctrl: String?
    public var path: String
    public init(ctrl: String?, path: String) {
        self.ctrl = ctrl
        self.path = path
    }
    public func encode(_ w: inout ProtoWriter) {
        w.string(1, ctrl)
        w.string(2, path)
    }
}

public struct CriuPageServerInfo: ProtoEncodable, Equatable, Sendable {
    public var address: String?
    public var port: Int32?
    public var pid: Int32?
    public var fd: Int32?
    public init(address: String? = nil, port: Int32? = nil, pid: Int32? = nil, fd: Int32? = nil) {
        self.address = address
        self.port = port
        self.pid = pid
        self.fd = fd
    }
    public func encode(_ w: inout ProtoWriter) {
        w.string(1, address)
        w.int32(2, port)
        w.int32(3, pid)
        w.int32(4, fd)
    }
    static func decode(_ b: ArraySlice<UInt8>) throws(ProtoError) -> CriuPageServerInfo {
        var m = CriuPageServerInfo()
        try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in
            switch f {
            case 1: m.address = v.string
            case 2: m.port = v.int32
            case 3: m.pid = v.int32
            case 4: m.fd = v.int32
            default: break
            }
        }
        return m
    }
}

/// criu_features: what FEATURE_CHECK asks about, and what it answers.
public struct CriuFeatures: ProtoEncodable, Equatable, Sendable {
    public var memTrack: Bool?
    public var lazyPages: Bool?
    public var pidfdStore: Bool?
    public init(memTrack: Bool? = nil, lazyPages: Bool? = nil, pidfdStore: Bool? = nil) {
        self.memTrack = memTrack
        self.lazyPages = lazyPages
        self.pidfdStore = pidfdStore
    }
    public func encode(_ w: inout ProtoWriter) {
        w.bool(1, memTrack)
        w.bool(2, lazyPages)
        w.bool(3, pidfdStore)
    }
    static func decode(_ b: ArraySlice<UInt8>) throws(ProtoError) -> CriuFeatures {
        var m = CriuFeatures()
        try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in
            switch f {
            case 1: m.memTrack = v.bool
            case 2: m.lazyPages = v.bool
            case 3: m.pidfdStore = v.bool
            default: break
            }
        }
        return m
    }
}

/// criu_opts: the fields runc sets, in field-number order.
public struct CriuOpts: ProtoEncodable, Equatable, Sendable {
    public var imagesDirFd: Int32 = -1 // 1 (required)
    public var pid: Int32? // 2
    public var leaveRunning: Bool? // 3
    public var extUnixSk: Bool? // 4
    public var tcpEstablished: Bool? // 5
    public var evasiveDevices: Bool? // 6
    public var shellJob: Bool? // 7
    public var fileLocks: Bool? // 8
    public var logLevel: Int32? // 9
    public var logFile: String? // 10
    public var ps: CriuPageServerInfo? // 11
    public var notifyScripts: Bool? // 12
    public var root: String? // 13
    public var parentImg: String? // 14
    public var trackMem: Bool? // 15
    public var autoDedup: Bool? // 16
    public var workDirFd: Int32? // 17
    public var linkRemap: Bool? // 18
    public var extMnt: [CriuExtMountMap] = [] // 23
    public var manageCgroups: Bool? // 24
    public var cgRoot: [CriuCgroupRoot] = [] // 25
    public var rstSibling: Bool? // 26
    public var inheritFd: [CriuInheritFd] = [] // 27
    public var manageCgroupsMode: CriuCgMode? // 34
    public var external: [String] = [] // 37
    public var emptyNs: UInt32? // 38
    public var joinNs: [CriuJoinNamespace] = [] // 39
    public var freezeCgroup: String? // 44
    public var tcpSkipInFlight: Bool? // 46
    public var lazyPages: Bool? // 48
    public var statusFd: Int32? // 49
    public var orphanPtsMaster: Bool? // 50
    public var configFile: String? // 51
    public var lsmProfile: String? // 53
    public var lsmMountContext: String? // 63

    public init() {}

    public func encode(_ w: inout ProtoWriter) {
        w.int32(1, imagesDirFd)
        w.int32(2, pid)
        w.bool(3, leaveRunning)
        w.bool(4, extUnixSk)
        w.bool(5, tcpEstablished)
        w.bool(6, evasiveDevices)
        w.bool(7, shellJob)
        w.bool(8, fileLocks)
        w.int32(9, logLevel)
        w.string(10, logFile)
        w.message(11, ps)
        w.bool(12, notifyScripts)
        w.string(13, root)
        w.string(14, parentImg)
        w.bool(15, trackMem)
        w.bool(16, autoDedup)
        w.int32(17, workDirFd)
        w.bool(18, linkRemap)
        w.messages(23, extMnt)
        w.bool(24, manageCgroups)
        w.messages(25, cgRoot)
        w.bool(26, rstSibling)
        w.messages(27, inheritFd)
        w.int32(34, manageCgroupsMode?.rawValue)
        w.strings(37, external)
        w.uint32(38, emptyNs)
        w.messages(39, joinNs)
        w.string(44, freezeCgroup)
        w.bool(46, tcpSkipInFlight)
        w.bool(48, lazyPages)
        w.int32(49, statusFd)
        w.bool(50, orphanPtsMaster)
        w.string(51, configFile)
        w.string(53, lsmProfile)
        w.string(63, lsmMountContext)
    }
}

public struct CriuReq: ProtoEncodable, Equatable, Sendable {
    public var type: CriuReqType
    public var opts: CriuOpts?
    public var notifySuccess: Bool?
    public var keepOpen: Bool?
    public var features: CriuFeatures?
    public var pid: UInt32?

    public init(type: CriuReqType, opts: CriuOpts? = nil, notifySuccess: Bool? = nil, features: CriuFeatures? = nil) {
        self.type = type
        self.opts = opts
        self.notifySuccess = notifySuccess
        self.features = features
    }

    public func encode(_ w: inout ProtoWriter) {
        w.int32(1, type.rawValue)
        w.message(2, opts)
        w.bool(3, notifySuccess)
        w.bool(4, keepOpen)
        w.message(5, features)
        w.uint32(6, pid)
    }
}

public struct CriuNotify: Equatable, Sendable {
    public var script: String?
    public var pid: Int32?
    public init(script: String? = nil, pid: Int32? = nil) {
        self.script = script
        self.pid = pid
    }
}

public struct CriuVersion: Equatable, Sendable {
    public var major: Int32 = 0
    public var minor: Int32 = 0
    public var gitid: String?
    public var sublevel: Int32?
    public var extra: Int32?
    public var name: String?

    public init() {}

    /// As go-criu computes it: 3.17.1 is 31701.
    public var number: Int { Int(major) * 10000 + Int(minor) * 100 + Int(sublevel ?? 0) }
    public var text: String { "\(major).\(minor)" + (sublevel.map { ".\($0)" } ?? "") }
}

public struct CriuResp: Equatable, Sendable {
    public var type: CriuReqType = .empty
    public var rawType: Int32 = 0
    public var success = false
    public var dumpRestored: Bool? // dump (3): criu_dump_resp.restored
    public var restorePid: Int32? // restore (4): criu_restore_resp.pid
    public var notify: CriuNotify? // 5
    public var ps: CriuPageServerInfo? // 6
    public var crErrno: Int32? // 7
    public var features: CriuFeatures? // 8
    public var crErrmsg: String? // 9
    public var version: CriuVersion? // 10
    public var status: Int32? // 11

    public init() {}

    public static func decode(_ bytes: [UInt8]) throws(ProtoError) -> CriuResp {
        var r = CriuResp()
        var sawType = false, sawSuccess = false
        try ProtoReader.forEach(bytes[...]) { (f, v) throws(ProtoError) in
            switch f {
            case 1:
                guard let t = v.int32 else { throw ProtoError("criu_resp.type: not a varint") }
                r.rawType = t
                r.type = CriuReqType(rawValue: t) ?? .empty
                sawType = true
            case 2:
                guard let s = v.bool else { throw ProtoError("criu_resp.success: not a varint") }
                r.success = s
                sawSuccess = true
            case 3:
                guard let b = v.slice else { throw ProtoError("criu_resp.dump: not a message") }
                try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in if f == 1 { r.dumpRestored = v.bool } }
            case 4:
                guard let b = v.slice else { throw ProtoError("criu_resp.restore: not a message") }
                try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in if f == 1 { r.restorePid = v.int32 } }
            case 5:
                guard let b = v.slice else { throw ProtoError("criu_resp.notify: not a message") }
                var n = CriuNotify()
                try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in
                    if f == 1 { n.script = v.string } else if f == 2 { n.pid = v.int32 }
                }
                r.notify = n
            case 6:
                guard let b = v.slice else { throw ProtoError("criu_resp.ps: not a message") }
                r.ps = try CriuPageServerInfo.decode(b)
            case 7: r.crErrno = v.int32
            case 8:
                guard let b = v.slice else { throw ProtoError("criu_resp.features: not a message") }
                r.features = try CriuFeatures.decode(b)
            case 9: r.crErrmsg = v.string
            case 10:
                guard let b = v.slice else { throw ProtoError("criu_resp.version: not a message") }
                var ver = CriuVersion()
                try ProtoReader.forEach(b) { (f, v) throws(ProtoError) in
                    switch f {
                    case 1: ver.major = v.int32 ?? 0
                    case 2: ver.minor = v.int32 ?? 0
                    case 3: ver.gitid = v.string
                    case 4: ver.sublevel = v.int32
                    case 5: ver.extra = v.int32
                    case 6: ver.name = v.string
                    default: break
                    }
                }
                r.version = ver
            case 11: r.status = v.int32
            default: break // a newer CRIU's field: skipped, as protobuf skips unknown fields
            }
        }
        guard sawType, sawSuccess else {
            throw ProtoError("criu_resp: the required type and success fields are missing")
        }
        return r
    }
}

/// The request decoder, for tests and the recording tool: what swrun sends, read back.
extension CriuReq {
    public static func decodeType(_ bytes: [UInt8]) throws(ProtoError) -> CriuReqType? {
        var t: CriuReqType?
        try ProtoReader.forEach(bytes[...]) { (f, v) throws(ProtoError) in
            if f == 1, let raw = v.int32 { t = CriuReqType(rawValue: raw) }
        }
        return t
    }
}
