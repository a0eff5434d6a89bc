import OCISpec
import SwrunSys

/// What swrun persists about a container: facts only (ids, paths, pid + start time, the
/// cgroups it made), never a status; status is derived from the kernel (Status.swift).
///
/// Written before each thing it names is created, so that `delete --force` after a SIGKILLed
/// create finds and removes everything (crash safety, docs/architecture.md).
public struct ContainerRecord: Sendable {
    public var id: String
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var ociVersion: String
    public var annotations: [String: String]
    public var owner: String
    /// The `swrun create`/`run` process, while setup is under way.
    public var creatorPid: Int32
    public var creatorStartTime: UInt64
    /// The container's init process (0 until cloned).
    public var initPid: Int32 = 0
    public var initStartTime: UInt64 = 0
    /// True once create finished: the init waits on exec.fifo or runs.
    public var setupComplete: Bool = false
    /// The container's cgroups: the driver, one leaf per hierarchy, every directory swrun
    /// made (outermost first), the systemd unit.
    public var cgroup = CgroupHandle(driver: .cgroupfsV1)
    public var poststart: [Hook] = []
    public var poststop: [Hook] = []
    /// The creator's effective uid (the state directory's owner, shown by `list`).
    public var ownerUid: UInt32?
    /// Created by anyone but the host's root (Identity): an unprivileged user, or root in
    /// a user namespace. runc keeps the same in its state (rootless_euid).
    public var rootless = false
}

/// `<root>/<id>/state.json` (atomic rename) plus `exec.fifo`; a flock on the directory
/// serializes commands that change one container.
public struct StateStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func directory(_ id: String) -> String { root + "/" + id }
    public func fifoPath(_ id: String) -> String { directory(id) + "/exec.fifo" }

    /// A locked container directory; the lock lasts as long as the value.
    public final class Lock {
        let fd: OwnedFD
        init(_ fd: OwnedFD) { self.fd = fd }
        public func unlock() { fd.close() }
    }

    public func ensureRoot() throws(SwrunError) {
        try sys("create state root") { _ = try Files.mkdirAll(root, mode: 0o711) }
    }

    /// Creates `<root>/<id>` exclusively (a duplicate id fails here) and locks it.
    public func createDirectory(_ id: String) throws(SwrunError) -> Lock {
        try ensureRoot()
        do {
            try Files.mkdir(directory(id), mode: 0o711)
        } catch  where error.errno == Errno.EEXIST {
            throw SwrunError(.exists, "container with given ID already exists")
        } catch {
            throw SwrunError.system(error)
        }
        return try lock(id)
    }

    public func lock(_ id: String) throws(SwrunError) -> Lock {
        let fd: OwnedFD
        do {
            fd = try Files.open(directory(id), OpenFlags.readOnly | OpenFlags.directory)
        } catch  where error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR {
            throw SwrunError.notExist
        } catch {
            throw SwrunError.system(error)
        }
        try sys { try Files.flock(fd.raw, exclusive: true, display: directory(id)) }
        // The lock is on the directory we opened. If, while we waited for it, that container
        // was deleted and the id created again, the path names another directory now:
        // acting on it would act on the new container (delete would remove it).
        guard let held = try? Files.fstat(fd.raw), let now = try? Files.lstat(directory(id)), held.dev == now.dev,
            held.ino == now.ino
        else {
            throw SwrunError.notExist
        }
        return Lock(fd)
    }

    public func save(_ record: ContainerRecord) throws(SwrunError) {
        let bytes = record.json.encodedBytes()
        try sys("save state") { try Files.writeAtomic(directory(record.id) + "/state.json", bytes) }
    }

    public func load(_ id: String) throws(SwrunError) -> ContainerRecord {
        let bytes: [UInt8]
        do {
            bytes = try Files.readSmall(directory(id) + "/state.json", max: 16384)
        } catch  where error.errno == Errno.ENOENT || error.errno == Errno.ENOTDIR {
            throw SwrunError.notExist
        } catch {
            throw SwrunError.system(error)
        }
        return try decode(id, bytes)
    }

    func decode(_ id: String, _ bytes: [UInt8], listing: Bool = false) throws(SwrunError) -> ContainerRecord {
        do {
            return try ContainerRecord(state: bytes, listing: listing)
        } catch {
            throw SwrunError(.system, "read state of \(id): \(error)")
        }
    }

    public func ids() throws(SwrunError) -> [String] {
        guard Files.exists(root) else { return [] }
        return try sys("list \(root)") { try Files.listDirectory(root) }.filter { !$0.startsWithBytes(".") }.sorted()
    }

    public func remove(_ id: String) throws(SwrunError) {
        try sys("remove state") { try Files.removeAll(directory(id)) }
    }
}

/// state.json by hand: Codable's first use costs more than the rest of `state`.
extension ContainerRecord {
    var json: JSON {
        let strings: ([String]) -> JSON = { .array($0.map { .string($0) }) }
        var members: [(String, JSON)] = [
            ("id", .string(id)), ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
            ("created", .string(created)),
            ("ociVersion", .string(ociVersion)),
            ("annotations", .object(annotations.keys.sorted().map { ($0, .string(annotations[$0] ?? "")) })),
            ("owner", .string(owner)),
            ("creatorPid", .int(Int64(creatorPid))), ("creatorStartTime", .uint(creatorStartTime)),
            ("initPid", .int(Int64(initPid))), ("initStartTime", .uint(initStartTime)),
            ("setupComplete", .bool(setupComplete)),
            // The driver and the leaves status reads come before the full lists: `list`
            // steps over the lists (ContainerRecord(state:listing:)).
            ("cgroupDriver", .string(cgroup.driver.rawValue)),
        ]
        if let f = cgroup.freezer { members.append(("cgroupFreezer", .string(f))) }
        if let u = cgroup.unified { members.append(("cgroupUnified", .string(u))) }
        if let u = cgroup.unit { members.append(("systemdUnit", .string(u))) }
        members.append(("cgroupLeaves", strings(cgroup.leaves)))
        if !cgroup.skipped.isEmpty { members.append(("cgroupSkipped", strings(cgroup.skipped))) }
        if cgroup.rootless { members.append(("cgroupRootless", .bool(true))) }
        if cgroup.joinedUnit { members.append(("systemdJoined", .bool(true))) }
        members.append(("cgroupCreated", strings(cgroup.created)))
        members.append(("poststart", .array(poststart.map { $0.json })))
        members.append(("poststop", .array(poststop.map { $0.json })))
        if let uid = ownerUid { members.append(("ownerUid", .uint(UInt64(uid)))) }
        if rootless { members.append(("rootless", .bool(true))) }
        return .object(members)
    }

    /// state.json read in place (JSONReader's streaming half): `list` decodes one per
    /// container, and a tree per file was most of its user-space time.
    /// `listing`: what `list` shows and needs for the status only; the cgroups swrun made and
    /// the hooks are stepped over (left empty).
    init(state bytes: [UInt8], listing: Bool = false) throws(SpecError) {
        var r = JSONReader(bytes)
        var id, bundle, rootfs, created, ociVersion, owner: String?
        var creatorPid, initPid: Int32?
        var creatorStartTime, initStartTime: UInt64?
        var annotations: [String: String] = [:]
        var setupComplete = false, ownerUid: UInt32?
        var leaves: [String] = [], made: [String] = [], skipped: [String] = []
        var cgroupRootless = false, rootless = false, joinedUnit = false
        var driver: CgroupDriverKind?, freezer: String?, unified: String?, unit: String?
        var poststart: JValue?, poststop: JValue?
        try r.readMembers { (r, key) throws(SpecError) in
            switch key {
            case "id": id = try r.readString()
            case "bundle": bundle = try r.readString()
            case "rootfs": rootfs = try r.readString()
            case "created": created = try r.readString()
            case "ociVersion": ociVersion = try r.readString()
            case "owner": owner = try r.readString()
            case "creatorPid": creatorPid = try r.readInteger(Int32.self)
            case "initPid": initPid = try r.readInteger(Int32.self)
            case "creatorStartTime": creatorStartTime = try r.readInteger(UInt64.self)
            case "initStartTime": initStartTime = try r.readInteger(UInt64.self)
            case "setupComplete": setupComplete = try r.readBool()
            case "ownerUid": ownerUid = try r.readInteger(UInt32.self)
            case "annotations":
                try r.readObject { (r, k) throws(SpecError) in annotations[k] = try r.readStringIfAny() ?? "" }
            case "cgroupDriver":
                let name = try r.readString()
                guard let d = CgroupDriverKind(rawValue: name) else {
                    throw SpecError("state.json: cgroupDriver \(Quote.short(name)) is unknown")
                }
                driver = d
            case "cgroupFreezer": freezer = try r.readString()
            case "cgroupUnified": unified = try r.readString()
            case "systemdUnit": unit = try r.readString()
            case "cgroupLeaves" where listing && driver == .cgroupfsV1 && freezer != nil:
                // Status needs the v1 freezer's leaf only: the others are not made into
                // Strings for each listed container.
                try r.skipValue()
            case "cgroupLeaves":
                try r.readArray { r throws(SpecError) in if let s = try r.readStringIfAny() { leaves.append(s) } }
            case "cgroupSkipped":
                try r.readArray { r throws(SpecError) in if let s = try r.readStringIfAny() { skipped.append(s) } }
            case "cgroupRootless": cgroupRootless = try r.readBool()
            case "systemdJoined": joinedUnit = try r.readBool()
            case "rootless": rootless = try r.readBool()
            // (A `where` clause would bind to the last pattern of a list only: one per case.)
            case "cgroupCreated" where listing, "poststart" where listing, "poststop" where listing: try r.skipValue()
            case "cgroupCreated":
                try r.readArray { r throws(SpecError) in if let s = try r.readStringIfAny() { made.append(s) } }
            case "poststart": poststart = try r.readValue()
            case "poststop": poststop = try r.readValue()
            default: try r.skipValue()
            }
        }
        try r.finish()
        if driver == nil {
            // A record from before drivers were recorded: cgroupfs, v1 where a leaf is in
            // the freezer hierarchy.
            freezer = leaves.first { $0.containsText("/freezer/") }
            driver = freezer != nil || leaves.count > 1 ? .cgroupfsV1 : .cgroupfsV2
            unified =
                driver == .cgroupfsV2 ? leaves.first : leaves.first { $0.startsWithBytes("/sys/fs/cgroup/unified/") }
        }
        func req<T>(_ v: T?, _ k: String) throws(SpecError) -> T {
            guard let v else { throw SpecError("state.json: \(k) missing") }
            return v
        }
        self.init(
            id: try req(id, "id"), bundle: try req(bundle, "bundle"), rootfs: try req(rootfs, "rootfs"),
            created: try req(created, "created"),
            ociVersion: try req(ociVersion, "ociVersion"), annotations: annotations, owner: try req(owner, "owner"),
            creatorPid: try req(creatorPid, "creatorPid"),
            creatorStartTime: try req(creatorStartTime, "creatorStartTime"))
        self.initPid = try req(initPid, "initPid")
        self.initStartTime = try req(initStartTime, "initStartTime")
        self.setupComplete = setupComplete
        cgroup = CgroupHandle(
            driver: driver ?? .cgroupfsV1, leaves: leaves, created: made, freezer: freezer, unified: unified,
            unit: unit,
            skipped: skipped, rootless: cgroupRootless)
        cgroup.joinedUnit = joinedUnit
        self.rootless = rootless
        self.poststart =
            try poststart.map { x throws(SpecError) in try SpecLoader.hooks(x, path: "state.json poststart") } ?? []
        self.poststop =
            try poststop.map { x throws(SpecError) in try SpecLoader.hooks(x, path: "state.json poststop") } ?? []
        self.ownerUid = ownerUid
    }
}
