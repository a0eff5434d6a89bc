// The OCI runtime-spec configuration (config.json), as plain Codable values.
// Optionals mirror the schema so that encode(decode(x)) keeps exactly the fields x had;
// unknown fields (solaris, windows, vm, future keys) are ignored as the spec requires.

public struct Spec: Codable, Equatable, Sendable {
    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]?
    public var hooks: Hooks?
    public var annotations: [String: String]?
    public var linux: Linux?

    public init(ociVersion: String) { self.ociVersion = ociVersion }
}

public struct Root: Codable, Equatable, Sendable {
    public var path: String
    public var readonly: Bool?
}

public struct Box: Codable, Equatable, Sendable {
    public var height: UInt32
    public var width: UInt32
}

public struct User: Codable, Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?
    public var username: String?

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

public struct LinuxCapabilities: Codable, Equatable, Sendable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?

    public init() {}
}

public struct POSIXRlimit: Codable, Equatable, Sendable {
    public var type: String
    public var hard: UInt64
    public var soft: UInt64
}

public struct Scheduler: Codable, Equatable, Sendable {
    public var policy: String
    public var nice: Int32?
    public var priority: Int32?
    public var flags: [String]?
    public var runtime: UInt64?
    public var deadline: UInt64?
    public var period: UInt64?
}

public struct IOPriority: Codable, Equatable, Sendable {
    public var `class`: String
    public var priority: Int32?
}

public struct CPUAffinity: Codable, Equatable, Sendable {
    public var initial: String?
    public var final: String?
}

public struct Process: Codable, Equatable, Sendable {
    public var terminal: Bool?
    public var consoleSize: Box?
    public var user: User
    public var args: [String]?
    public var commandLine: String?
    public var env: [String]?
    public var cwd: String
    public var capabilities: LinuxCapabilities?
    public var rlimits: [POSIXRlimit]?
    public var noNewPrivileges: Bool?
    public var apparmorProfile: String?
    public var oomScoreAdj: Int?
    public var selinuxLabel: String?
    public var scheduler: Scheduler?
    public var ioPriority: IOPriority?
    public var execCPUAffinity: CPUAffinity?

    public init(user: User, cwd: String) {
        self.user = user
        self.cwd = cwd
    }
}

public struct Mount: Codable, Equatable, Sendable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?

    public init(destination: String, type: String?, source: String?, options: [String]?) {
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options
    }
}

public struct Hook: Codable, Equatable, Sendable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    public var timeout: Int?

    public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
        self.path = path
        self.args = args
        self.env = env
        self.timeout = timeout
    }
}

public struct Hooks: Codable, Equatable, Sendable {
    public var prestart: [Hook]?
    public var createRuntime: [Hook]?
    public var createContainer: [Hook]?
    public var startContainer: [Hook]?
    public var poststart: [Hook]?
    public var poststop: [Hook]?

    public init() {}
}

public struct IDMapping: Codable, Equatable, Sendable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32
}

public struct LinuxNamespace: Codable, Equatable, Sendable {
    public var type: String
    public var path: String?

    public init(type: String, path: String? = nil) {
        self.type = type
        self.path = path
    }
}

public struct LinuxTimeOffset: Codable, Equatable, Sendable {
    public var secs: Int64?
    public var nanosecs: UInt32?
}

public struct LinuxDevice: Codable, Equatable, Sendable {
    public var type: String
    public var path: String
    public var major: Int64?
    public var minor: Int64?
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
}

public struct LinuxPersonality: Codable, Equatable, Sendable {
    public var domain: String
    public var flags: [String]?
}

public struct LinuxIntelRdt: Codable, Equatable, Sendable {
    public var closID: String?
    public var l3CacheSchema: String?
    public var memBwSchema: String?
    public var enableCMT: Bool?
    public var enableMBM: Bool?
}

public struct Linux: Codable, Equatable, Sendable {
    public var namespaces: [LinuxNamespace]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public var timeOffsets: [String: LinuxTimeOffset]?
    public var devices: [LinuxDevice]?
    public var cgroupsPath: String?
    public var resources: LinuxResources?
    public var rootfsPropagation: String?
    public var seccomp: LinuxSeccomp?
    public var sysctl: [String: String]?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var mountLabel: String?
    public var intelRdt: LinuxIntelRdt?
    public var personality: LinuxPersonality?

    public init() {}
}
