import OCISpec
import SwrunSys

// KeyValue (mount data options and sysctls) lives in SwrunSys, beside Mount.newFilesystem.

/// One mount, decided: what to mount, which attributes to set, what propagation.
public struct MountOp: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case bind(source: String, recursive: Bool)
        case filesystem(type: String, source: String)
        case cgroup
    }

    public var destination: String
    public var kind: Kind
    public var attrSet: UInt64 = 0
    public var attrClear: UInt64 = 0
    public var recursiveAttrSet: UInt64 = 0
    public var recursiveAttrClear: UInt64 = 0
    public var propagation: UInt64 = 0
    public var propagationRecursive = false
    public var data: [KeyValue] = []
    public var tmpcopyup = false
    /// An id-mapped bind mount (options idmap/ridmap, mounts[].uidMappings/gidMappings).
    public var idmap: MountIDMap?

    public init(destination: String, kind: Kind) {
        self.destination = destination
        self.kind = kind
    }
}

/// How a bind mount is id-mapped (mount_setattr MOUNT_ATTR_IDMAP), as runc 1.2 and crun do
/// it: with a user namespace whose maps are the mount's own uidMappings/gidMappings (an id
/// on disk, containerID, is seen as hostID), or, without them, with the container's user
/// namespace. `recursive` (ridmap): every mount of an rbind tree, not only its top.
public struct MountIDMap: Equatable, Sendable {
    public var recursive: Bool
    public var uids: [IDRange]
    public var gids: [IDRange]
    /// No maps of its own: the container's user namespace.
    public var usesContainerNamespace: Bool { uids.isEmpty && gids.isEmpty }

    public init(recursive: Bool, uids: [IDRange] = [], gids: [IDRange] = []) {
        self.recursive = recursive
        self.uids = uids
        self.gids = gids
    }
}

public struct DeviceNode: Equatable, Sendable {
    public var path: String
    public var fileType: UInt32 // S_IFCHR, S_IFBLK, S_IFIFO
    public var major: UInt32
    public var minor: UInt32
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32

    public init(path: String, fileType: UInt32, major: UInt32, minor: UInt32, mode: UInt32, uid: UInt32, gid: UInt32) {
        self.path = path
        self.fileType = fileType
        self.major = major
        self.minor = minor
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }
}

public struct RlimitOp: Equatable, Sendable {
    public var name: String
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64
    /// Its place in the config, for errors: `process.rlimits[0]`.
    public var field: String = ""

    /// runc's words (podman users search for them) after the field and the values asked.
    func failure(_ errno: Int32) -> SwrunError {
        SwrunError(
            .system,
            "\(field) (\(name), soft \(soft), hard \(hard)): error setting rlimit type \(resource): \(Errno.text(errno))",
            errno: errno)
    }
}

/// process.scheduler, as sched_setattr(2) takes it.
public struct SchedulerOp: Equatable, Sendable {
    public var policy: UInt32
    public var flags: UInt64 = 0
    public var nice: Int32 = 0
    public var priority: UInt32 = 0
    public var runtime: UInt64 = 0
    public var deadline: UInt64 = 0
    public var period: UInt64 = 0
}

/// One line of a user namespace's uid_map or gid_map.
public struct IDRange: Equatable, Sendable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32

    public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
        self.containerID = containerID
        self.hostID = hostID
        self.size = size
    }

    /// The map file's text: "container host size" lines.
    public static func mapText(_ ranges: [IDRange]) -> String {
        ranges.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joinedText()
    }

    /// "container:host:size" per range, comma separated (for messages).
    public static func describe(_ ranges: [IDRange]) -> String {
        ranges.isEmpty ? "nothing" : ranges.map { "\($0.containerID):\($0.hostID):\($0.size)" }.joinedText(",")
    }

    /// Whether `id` (in the container) is mapped by one of `ranges`.
    public static func maps(_ ranges: [IDRange], _ id: UInt32) -> Bool {
        ranges.contains {
            UInt64(id) >= UInt64($0.containerID) && UInt64(id) < UInt64($0.containerID) + UInt64($0.size)
        }
    }
}

/// A namespace to join by path: the fd is opened and type-checked by the parent.
public struct NamespaceJoin: Equatable, Sendable {
    public var type: String
    public var flag: Int32
    public var path: String
}

/// Everything the container's init does between clone and execve, decided before the fork
/// by PlanBuilder from the spec and the command line. Flat values only: no Spec types are
/// consulted in the child.
public struct LaunchPlan: Sendable {
    public var id: String
    public var bundle: String
    public var rootfs: String

    // Namespaces
    public var cloneFlags: Int32 = 0
    public var joins: [NamespaceJoin] = []
    public var pidJoinPath: String?
    public var newCgroupNamespace = false
    public var newTimeNamespace = false
    public var timeOffsets: [String] = []
    public var newNetworkNamespace = false
    public var newKeyring = true
    /// A new user namespace (CLONE_NEWUSER with the other new namespaces, so that it owns
    /// them); the parent writes these maps before the init goes on.
    public var newUserNamespace = false
    /// The process is (or will be) in a user namespace other than the host's: rlimits above
    /// the current ones and a lower oom_score_adj need the host's privileges, so the parent
    /// sets them (prlimit, /proc/<pid>/oom_score_adj) and the child does not. The init in a
    /// new user namespace, and an exec into a container that has one.
    public var limitsByParent = false
    public var uidMappings: [IDRange] = []
    public var gidMappings: [IDRange] = []
    /// linux.namespaces[].path of type user: the init joins that user namespace (with the
    /// namespaces it is to create, made after the join so that they belong to it:
    /// JoinedUserNamespace); uidMappings/gidMappings are then that namespace's own.
    public var userJoinPath: String?
    /// Who creates the container (swrun's identity, Identity): the host's root writes the
    /// id maps itself and sets limits from outside; anyone else writes only its own ids,
    /// through newuidmap/newgidmap for more (IDMaps), and leaves limits to the process.
    public var creator = Identity(euid: 0, egid: 0, inUserNamespace: false)

    // Identity of the container
    public var hostname: String?
    public var domainname: String?

    // Root filesystem
    public var rootPropagation: UInt = 0
    public var rootPropagationExplicit = false
    public var readonlyRoot = false
    public var noPivot = false
    public var mounts: [MountOp] = []
    public var setupDev = true
    public var devices: [DeviceNode] = []
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    public var sysctls: [KeyValue] = []
    public var cgroupLeaves: [String] = []
    /// Leaves a rootless create left out (CgroupHandle.skipped): the cgroup mount shows the
    /// runtime's own cgroup of that hierarchy there instead, read-only as runc shows it.
    public var cgroupSkipped: [String] = []
    public var cgroupLayout = CgroupLayout(hierarchies: [])

    // Process
    public var args: [String] = []
    public var env: [String] = []
    public var cwd = "/"
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var additionalGids: [UInt32] = []
    public var umask: UInt32 = 0o022
    public var rlimits: [RlimitOp] = []
    public var oomScoreAdj: Int?
    /// process.scheduler (sched_setattr), process.ioPriority (ioprio value), linux.personality.
    public var scheduler: SchedulerOp?
    public var ioPriority: Int32?
    /// process.execCPUAffinity (exec only): CPUs before joining the container, and last.
    public var affinityInitial: [Int32]?
    public var affinityFinal: [Int32]?
    public var personality: UInt?
    public var capabilities = CapabilityMasks()
    public var lastCap = 40
    public var noNewPrivileges = false
    public var apparmorProfile: String?
    public var selinuxLabel: String?
    public var seccompFilter: [UInt8]?
    public var seccompFlags: UInt32 = 0
    /// SCMP_ACT_NOTIFY: a socket connected to linux.seccomp.listenerPath by the parent, and
    /// listenerMetadata; the listener fd is sent there with the process state.
    public var seccompListener: Int32 = -1
    public var seccompListenerMetadata = ""
    public var seccompListenerPath: String?
    public var preserveFds = 0
    /// process.terminal: a pty is made and its master sent to the console socket.
    public var terminal = false
    public var consoleSize: [UInt16] = [] // rows, cols
    public var consoleSocket: Int32 = -1 // connected by the parent before clone

    // Hooks run by the init itself (in the container's namespaces), and the state they (and
    // a seccomp agent) are given, completed with the status and pid in the child.
    public var hookState = HookStateTemplate()
    public var createContainerHooks: [Hook] = []
    public var startContainerHooks: [Hook] = []

    public init(id: String, bundle: String, rootfs: String) {
        self.id = id
        self.bundle = bundle
        self.rootfs = rootfs
    }

    /// In a new user namespace the init's ids may not reach a bind mount's source (a volume
    /// under a directory only the host's root can enter): the parent opens each source for
    /// it, through the init's mount namespace, and hands the descriptors over in mount
    /// order (SyncMessage's mount sources). True when that happens.
    public var parentOpensBindSources: Bool {
        let binds = mounts.contains { if case .bind = $0.kind { return true } else { return false } }
        return binds
            && ((newUserNamespace || userJoinPath != nil) && creator.isHostRoot || mounts.contains { $0.idmap != nil })
    }

    /// Device nodes are the host's, bound: mknod is refused in any user namespace but the
    /// host's (a new one, a joined one, or the one swrun itself runs in: rootless Podman).
    public var bindDevices: Bool { newUserNamespace || userJoinPath != nil || creator.inUserNamespace }

    /// The init stays dumpable until the parent has written its id maps (and, where it
    /// applies, run newuidmap/newgidmap): /proc/<pid>/uid_map, setgroups and the process
    /// directory newuidmap checks belong to root while the process is not dumpable, and only
    /// the host's root may write them then. runc's nsexec does the same. The window ends
    /// before the init holds anything of the container (cgroupsReady), and only the
    /// creator's own uid could use it.
    public var dumpableForParent: Bool { newUserNamespace && !creator.isHostRoot }
}
