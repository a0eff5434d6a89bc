import SwrunSys

/// `checkpoint` and `restore`: runc's flags, as runc's criuOptions reads them.
public struct CriuOptions: Sendable {
    /// --image-path (default: ./checkpoint, made if missing), --work-path (CRIU's log and
    /// work files; default: the image directory), --parent-path (pre-dump images, relative
    /// to the image directory).
    public var imagePath: String?
    public var workPath: String?
    public var parentPath: String?
    public var leaveRunning = false
    public var tcpEstablished = false
    /// --tcp-skip-in-flight, --link-remap (checkpoint): runc's, passed on to CRIU.
    public var tcpSkipInFlight = false
    public var linkRemap = false
    public var extUnixSk = false
    public var shellJob = false
    public var fileLocks = false
    public var preDump = false
    /// --manage-cgroups-mode: "" (CRIU's default, soft), soft, full, strict, ignore.
    public var manageCgroupsMode = ""
    /// --empty-ns: namespaces CRIU makes empty rather than restoring their properties
    /// ("network" only, as runc). The network namespace is always among them: runc does not
    /// manage network devices, and neither does swrun (a container's own loopback is brought
    /// up again on restore, as create brings it up).
    public var emptyNs: [String] = []
    public var autoDedup = false
    /// --lsm-profile TYPE:NAME and --lsm-mount-context: restore-time options (accepted by
    /// checkpoint too, where CRIU has no use for them).
    public var lsmProfile: String?
    public var lsmMountContext: String?
    /// The global --criu: the criu binary.
    public var criuPath: String?

    public init() {}

    /// The --manage-cgroups-mode value, checked.
    public func cgroupMode() throws(SwrunError) -> CriuCgMode {
        guard let m = CriuCgMode(flag: manageCgroupsMode) else {
            throw SwrunError(
                .usage,
                "invalid manage-cgroups-mode value \(Quote.short(manageCgroupsMode)) (soft, full, strict or ignore)")
        }
        return m
    }

    /// The empty_ns mask: CLONE_NEWNET always, and what --empty-ns adds.
    public func emptyNamespaceMask() throws(SwrunError) -> UInt32 {
        var mask = UInt32(bitPattern: NamespaceFlag.network)
        for ns in emptyNs {
            guard ns == "network" else {
                throw SwrunError(.usage, "--empty-ns: namespace \(Quote.short(ns)) is not supported (only network)")
            }
            mask |= UInt32(bitPattern: NamespaceFlag.network)
        }
        return mask
    }
}

public struct RestoreOptions: Sendable {
    public var criu = CriuOptions()
    public var bundle: String?
    public var detach = false
    public var pidFile: String?
    public var consoleSocket: String?
    /// --no-subreaper: swrun does not become the subreaper of what it restores (a foreground
    /// restore's processes are its children either way: CRIU restores them as siblings of
    /// itself, rst_sibling).
    public var noSubreaper = false
    /// --no-pivot: accepted; CRIU restores the mounts itself, pivot_root included.
    public var noPivot = false
    /// --systemd-cgroup: the restored container's cgroup is a transient systemd scope, made
    /// with criu's process in it (runc's criuApplyCgroups on the systemd manager).
    public var systemdCgroup = false

    public init() {}
}
