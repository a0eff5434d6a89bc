import SwrunSys

/// The sync protocol between `swrun create` (parent) and the container's init (child), over a
/// SOCK_SEQPACKET socketpair. One message per packet: a type byte, then the payload.
/// The sequence is drawn in docs/sync-protocol.md; change both together.
///
///     parent                                   child (init)
///     clone ------------------------------->   [pdeathsig, wait]
///     [record pid, v2 cgroup unless clone3 placed the child]
///     cgroupsReady(pid) ------------------->   [join v1 cgroups ("0" to tasks), setns,
///                                              unshare, hostname, mounts, devices]
///                           <-------------    runHooks            (only if any are configured)
///     [prestart + createRuntime hooks]
///     hooksDone --------------------------->   [createContainer hooks, pivot_root, masks,
///                                              sysctl, rlimits, user, caps, look up exe]
///                           <-------------    ready
///     [state.json complete, pid file]
///     proceed ----------------------------->   [clear pdeathsig]
///                           <-------------    handedOver
///                                              [block on exec.fifo until `start`]
///                           <------ EOF ---    [execve closes the socket (CLOEXEC)]
///
///     `create` exits after handedOver; `run` waits for the EOF, which says the init has
///     executed the user's program (or died), before the state says "created"/"running".
///
///     error(errno, message) may come from the child at any step instead; the parent then
///     kills the child and removes everything the create made.
public enum SyncMessage: Equatable, Sendable {
    /// The child's place in the cgroups is ready; `pid` is the pid the container's state
    /// names (the init's, as the host sees it), for the state given to hooks and to a
    /// seccomp agent. The state itself is in the plan (HookStateTemplate): annotations may be
    /// megabytes, and are data, not sync traffic.
    case cgroupsReady(pid: Int32)
    case runHooks
    case hooksDone
    case ready
    case proceed
    case handedOver
    /// From the namespace helper (NamespaceHelper): the process is made, and its pidfd
    /// follows as a descriptor; the helper then exits.
    case made
    case error(errno: Int32, message: String)

    static let tags: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 0xFF]

    public func encode() -> [UInt8] {
        switch self {
        case .cgroupsReady(let pid): return [1] + Self.le32(UInt32(bitPattern: pid))
        case .runHooks: return [2]
        case .hooksDone: return [3]
        case .ready: return [4]
        case .proceed: return [5]
        case .handedOver: return [6]
        case .made: return [7]
        case .error(let e, let m):
            return [0xFF] + Self.le32(UInt32(bitPattern: e)) + Self.bounded(m)
        }
    }

    static func le32(_ u: UInt32) -> [UInt8] {
        [UInt8(u & 0xff), UInt8((u >> 8) & 0xff), UInt8((u >> 16) & 0xff), UInt8(u >> 24)]
    }

    static func readLE32(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// An error message fits one packet whatever values it quotes: past Limits.errorBytes the
    /// middle is cut (the field's name is at the start, the kernel's reason at the end), on a
    /// UTF-8 boundary.
    static func bounded(_ m: String) -> [UInt8] {
        let b = Array(m.utf8)
        guard b.count > Limits.errorBytes else { return b }
        var head = Limits.errorBytes * 2 / 3, tail = b.count - Limits.errorBytes / 3
        while head > 0, b[head] & 0xC0 == 0x80 { head -= 1 }
        while tail < b.count, b[tail] & 0xC0 == 0x80 { tail += 1 }
        return Array(b[..<head]) + Array(" [... \(tail - head) bytes cut ...] ".utf8) + Array(b[tail...])
    }

    public static func decode(_ b: [UInt8]) -> SyncMessage? {
        guard let t = b.first else { return nil }
        switch t {
        case 1: return b.count == 5 ? .cgroupsReady(pid: Int32(bitPattern: readLE32(b, at: 1))) : nil
        case 2: return b.count == 1 ? .runHooks : nil
        case 3: return b.count == 1 ? .hooksDone : nil
        case 4: return b.count == 1 ? .ready : nil
        case 5: return b.count == 1 ? .proceed : nil
        case 6: return b.count == 1 ? .handedOver : nil
        case 7: return b.count == 1 ? .made : nil
        case 0xFF:
            guard b.count >= 5 else { return nil }
            return .error(
                errno: Int32(bitPattern: readLE32(b, at: 1)), message: String(decoding: b.dropFirst(5), as: UTF8.self))
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .cgroupsReady: return "cgroupsReady"
        case .runHooks: return "runHooks"
        case .hooksDone: return "hooksDone"
        case .ready: return "ready"
        case .proceed: return "proceed"
        case .handedOver: return "handedOver"
        case .made: return "made"
        case .error: return "error"
        }
    }
}

/// A role-typed end of the sync socket: sends and receives SyncMessage values.
public struct SyncChannel {
    let socket: PacketSocket
    let role: String

    init(_ socket: PacketSocket, role: String) {
        self.socket = socket
        self.role = role
    }

    public func send(_ m: SyncMessage) throws(SwrunError) {
        Log.debug("\(role): sending sync \(m.name)")
        try sys("\(role): send \(m.name)") { try socket.send(m.encode()) }
    }

    /// nil means the peer closed its end (or died).
    public func receive() throws(SwrunError) -> SyncMessage? {
        guard let bytes = try sys("\(role): receive", { try socket.receive() }) else { return nil }
        guard let m = SyncMessage.decode(bytes) else { throw SwrunError(.system, "\(role): malformed sync message") }
        Log.debug("\(role): received sync \(m.name)")
        return m
    }

    /// One descriptor in a packet of its own (SCM_RIGHTS), outside the message types: both
    /// sides know from the plan how many follow and in which order (the bind sources of a
    /// container in a new user namespace).
    public func sendDescriptor(_ fd: Int32) throws(SwrunError) {
        Log.debug("\(role): sending a descriptor")
        try sys("\(role): send descriptor") { try Terminal.sendFD(socket.fd.raw, fd, payload: "fd") }
    }

    public func receiveDescriptor() throws(SwrunError) -> OwnedFD {
        try sys("\(role): receive descriptor") { try Terminal.receiveFD(socket.fd.raw) }
    }

    /// Receives one message and insists on its kind; an error from the peer becomes ours.
    public func expect(_ wanted: String) throws(SwrunError) -> SyncMessage {
        guard let m = try receive() else {
            throw SwrunError(.peerGone, "\(role): peer exited while waiting for \(wanted)")
        }
        if case .error(let e, let msg) = m { throw SwrunError(.system, msg, errno: e) }
        guard m.name == wanted else { throw SwrunError(.system, "\(role): expected \(wanted), got \(m.name)") }
        return m
    }
}
