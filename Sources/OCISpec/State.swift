/// The OCI state of a container, as `state` prints it and as hooks receive it on stdin.
public struct ContainerState: Equatable, Sendable {
    public var ociVersion: String
    public var id: String
    public var status: String
    public var pid: Int32
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var annotations: [String: String]
    public var owner: String

    public init(
        ociVersion: String, id: String, status: String, pid: Int32, bundle: String, rootfs: String, created: String,
        annotations: [String: String], owner: String
    ) {
        self.ociVersion = ociVersion
        self.id = id
        self.status = status
        self.pid = pid
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.annotations = annotations
        self.owner = owner
    }

    /// runc's `state` / `list --format json` shape: ociVersion, id, pid, status, bundle,
    /// rootfs, created, annotations (omitted when empty), owner.
    public var runtimeJSON: JSON {
        var members: [(String, JSON)] = [
            ("ociVersion", .string(ociVersion)), ("id", .string(id)), ("pid", .int(Int64(pid))),
            ("status", .string(status)), ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
            ("created", .string(created)),
        ]
        if !annotations.isEmpty { members.append(("annotations", Self.annotationsJSON(annotations))) }
        members.append(("owner", .string(owner)))
        return .object(members)
    }

    /// The runtime-spec state given to hooks: ociVersion, id, status, pid, bundle, annotations.
    public var hookJSON: JSON {
        var members: [(String, JSON)] = [
            ("ociVersion", .string(ociVersion)), ("id", .string(id)), ("status", .string(status)),
        ]
        if pid > 0 { members.append(("pid", .int(Int64(pid)))) }
        members.append(("bundle", .string(bundle)))
        if !annotations.isEmpty { members.append(("annotations", Self.annotationsJSON(annotations))) }
        return .object(members)
    }

    static func annotationsJSON(_ a: [String: String]) -> JSON {
        .object(a.keys.sorted().map { ($0, .string(a[$0] ?? "")) })
    }
}

/// The hook state (ContainerState.hookJSON) with its status and pid left open: the runtime
/// makes it before the container's init exists, and the init (which learns its pid from
/// the runtime) completes it for its own hooks and a seccomp agent. Same bytes as hookJSON.
public struct HookStateTemplate: Equatable, Sendable {
    public var head: String
    public var tail: String

    public init(_ s: ContainerState) {
        let front = JSON.object([("ociVersion", .string(s.ociVersion)), ("id", .string(s.id))]).encoded()
        head = String(front.dropLast()) + ",\"status\":"
        var rest: [(String, JSON)] = [("bundle", .string(s.bundle))]
        if !s.annotations.isEmpty { rest.append(("annotations", ContainerState.annotationsJSON(s.annotations))) }
        tail = "," + String(JSON.object(rest).encoded().dropFirst())
    }

    public init() {
        head = ""
        tail = ""
    }

    public func json(status: String, pid: Int32) -> String {
        guard !head.isEmpty else { return "{}" }
        return head + JSON.quoted(status) + (pid > 0 ? ",\"pid\":" + Node.digits(Int(pid)) : "") + tail
    }
}
