import OCISpec
import SwrunSys

/// One unit property: a name and a value, sent as `(sv)` (systemd.resource-control(5) and
/// systemd's dbus-unit documentation give each property's type).
public struct SystemdProperty: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: DBusValue

    public init(_ name: String, _ value: DBusValue) {
        self.name = name
        self.value = value
    }

    /// `(sv)`.
    public var dbusValue: DBusValue { .structure([.string(name), .variant(value)]) }

    public var description: String { "\(name)=\(value)" }
}

/// An error reply: its D-Bus error name and its text.
public struct DBusErrorReply: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var message: String

    public init(name: String, message: String) {
        self.name = name
        self.message = message
    }

    public var description: String { message.isEmpty ? name : "\(name): \(message)" }

    /// The errno a caller can branch on, as sd-bus maps systemd's errors
    /// (bus-common-errors.c, bus-error.c): a unit that exists EEXIST, one that does not
    /// ENOENT, a denied call EACCES, a bad argument EINVAL; anything else EIO.
    public var errno: Int32 {
        switch name {
        case SystemdManager.unitExists: return Errno.EEXIST
        case SystemdManager.noSuchUnit, "org.freedesktop.systemd1.NoSuchJob",
            "org.freedesktop.DBus.Error.UnknownObject",
            "org.freedesktop.DBus.Error.ServiceUnknown":
            return Errno.ENOENT
        case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
            return Errno.EACCES
        case "org.freedesktop.DBus.Error.InvalidArgs", "org.freedesktop.DBus.Error.PropertyReadOnly":
            return Errno.EINVAL
        case "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout":
            return DBusConnection.timedOutErrno
        default: return Errno.EIO
        }
    }
}

/// The systemd calls of runc's systemd cgroup driver (opencontainers/cgroups, systemd/
/// common.go: startUnit, stopUnit, resetFailedUnit, setUnitProperties, addPid,
/// getUnitTypeProperty, getManagerProperty), made over one synchronous D-Bus connection to
/// org.freedesktop.systemd1 at /org/freedesktop/systemd1.
///
/// Round trips are what systemd needs and no more: on a bus, the SASL handshake, Hello
/// and the AddMatch for JobRemoved are sent ahead of the first call without waiting for
/// their replies (an error in any still surfaces, at the next wait); on systemd's private
/// socket there is no Hello and no match (there is no bus, and systemd sends its signals to
/// every direct connection unasked), but the handshake takes its own round trip (sd-bus
/// does not serve a call pipelined with it reliably); the reset of a failed unit that runc
/// makes after every stop is sent without asking for a reply.
///
/// Errors are SwrunErrors whose message carries the D-Bus error name and text
/// (`org.freedesktop.systemd1.UnitExists: Unit runc-x.scope already exists.`), with the
/// errno of `DBusErrorReply.errno` (EEXIST, ENOENT...); `lastError` keeps the last reply.
public final class SystemdManager {
    public static let destination = "org.freedesktop.systemd1"
    public static let objectPath = "/org/freedesktop/systemd1"
    public static let managerInterface = "org.freedesktop.systemd1.Manager"
    public static let propertiesInterface = "org.freedesktop.DBus.Properties"
    public static let unitExists = "org.freedesktop.systemd1.UnitExists"
    public static let noSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"
    /// The match rule for the one signal the driver waits for.
    public static let jobRemovedMatch =
        "type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"

    public let connection: DBusConnection
    /// Whether the peer is a message bus (Hello, AddMatch, sender and destination matter)
    /// rather than systemd's private socket.
    public let isBus: Bool
    /// Each public call, the job waits included, ends within this many milliseconds. runc
    /// waits 30 s for a job.
    public var timeoutMilliseconds: Int
    /// The last error reply received for one of this manager's calls.
    public private(set) var lastError: DBusErrorReply?

    /// Calls sent ahead without waiting (Hello, AddMatch): serial and what it was, so that
    /// an error reply to one is thrown when it arrives.
    private var pipelined: [(serial: UInt32, what: String)] = []
    private var subscribed = false
    /// JobRemoved signals seen while waiting for something else (a job can end before its
    /// caller asks): job path -> result. Bounded: systemd reports every job, not only ours.
    private var removedJobs: [(job: String, unit: String, result: String)] = []
    static let maxRemembered = 256

    init(connection: DBusConnection, isBus: Bool, timeoutMilliseconds: Int) {
        self.connection = connection
        self.isBus = isBus
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Connects to systemd at `socket`: systemd's private socket (`isBus` false, root only)
    /// or a bus (`isBus` true: the system bus, a user's session bus), authenticating as
    /// this process's effective uid. On a bus nothing is waited for here: the handshake's
    /// reply and Hello's are read with the first call's. On the private socket the
    /// handshake's reply is read first (DBusConnection.connect says why). `transcript` sees
    /// every byte (DBusConnection.transcript), the handshake included.
    /// `uid`: the uid to authenticate as (our effective uid by default; the outside one for
    /// a process in a user namespace: the bus checks it against what the kernel says of us).
    public static func connect(
        socket: String, isBus: Bool, timeoutMilliseconds: Int = 30_000, uid: UInt32? = nil,
        transcript: ((_ sent: Bool, _ bytes: [UInt8]) -> Void)? = nil
    ) throws(SwrunError) -> SystemdManager {
        let deadline = Clock.monotonicMilliseconds() + timeoutMilliseconds
        let conn = try sys("connect to systemd") {
            try DBusConnection.connect(
                path: socket, uid: uid ?? Creds.geteuid(), deadline: deadline, pipelineMessages: isBus,
                transcript: transcript)
        }
        let m = SystemdManager(connection: conn, isBus: isBus, timeoutMilliseconds: timeoutMilliseconds)
        if isBus {
            let hello = DBusMessage.methodCall(
                serial: conn.nextSerial(), destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus", member: "Hello")
            try m.send(hello, deadline: deadline)
            m.pipelined.append((hello.serial, "Hello"))
        }
        return m
    }

    /// As root: the system bus, and systemd's private socket where the bus is missing or
    /// refuses (no dbus-daemon). The bus first, as runc's go-systemd does, and because it
    /// is less work for systemd: a direct connection gets every signal systemd emits (23
    /// messages for a start and a stop, where the bus delivers the 7 matched), each
    /// PropertiesChanged built for it. In the test VM (TCG, systemd 252, 20 cycles each)
    /// connect + startUnit + stopUnit took a median 80 ms on the bus and 82 ms on the
    /// private socket on a quiet host, 111-119 ms against 152-202 ms on a busy one; single
    /// calls answer a little faster on the private socket.
    public static func connectAsRoot(timeoutMilliseconds: Int = 30_000) throws(SwrunError) -> SystemdManager {
        do {
            return try connect(
                socket: DBusConnection.systemBusSocket, isBus: true, timeoutMilliseconds: timeoutMilliseconds)
        } catch
            where error.errno == Errno.ENOENT || error.errno == Errno.EACCES || error.errno == Errno.EPERM
            || error.errno == DBusConnection.connectionRefusedErrno
        {
            return try connect(
                socket: DBusConnection.systemdPrivateSocket, isBus: false, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// A user's own systemd instance (runc's newUserSystemdDbus): its session bus, at
    /// $DBUS_SESSION_BUS_ADDRESS, or $XDG_RUNTIME_DIR/bus where that is unset; as the uid
    /// the bus knows us by (Identity.outsideUid: root in a user namespace is its owner
    /// outside).
    public static func connectUser(identity: Identity = .current, timeoutMilliseconds: Int = 30_000) throws(SwrunError)
        -> SystemdManager
    {
        let socket = try userBusSocket(
            address: Proc.getenv("DBUS_SESSION_BUS_ADDRESS"), runtimeDir: Proc.getenv("XDG_RUNTIME_DIR"))
        return try connect(
            socket: socket, isBus: true, timeoutMilliseconds: timeoutMilliseconds, uid: identity.outsideUid)
    }

    /// The socket of a session bus address: the first "unix:path=..." of a D-Bus address
    /// list ("unix:path=/run/user/1000/bus;...", keys after commas, values %-escaped), or
    /// `runtimeDir`/bus without an address. Abstract sockets and other transports are not
    /// for a systemd user instance (it listens on a path) and are refused.
    public static func userBusSocket(address: String?, runtimeDir: String?) throws(SwrunError) -> String {
        guard let address, !address.isEmpty else {
            guard let dir = runtimeDir, !dir.isEmpty else {
                throw SwrunError(
                    .system,
                    "systemd cgroup driver (rootless): neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set: "
                        + "the user's systemd instance cannot be found (a login session, or loginctl enable-linger, and the dbus-user-session package give one)"
                )
            }
            return dir + "/bus"
        }
        for entry in address.split(separator: ";") {
            guard entry.hasPrefix("unix:") else { continue }
            for kv in entry.dropFirst(5).split(separator: ",") where kv.hasPrefix("path=") {
                var out: [UInt8] = []
                let b = Array(kv.dropFirst(5).utf8)
                var i = 0
                while i < b.count {
                    if b[i] == UInt8(ascii: "%"), i + 2 < b.count,
                        let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
                    {
                        out.append(v)
                        i += 3
                    } else {
                        out.append(b[i])
                        i += 1
                    }
                }
                return String(decoding: out, as: UTF8.self)
            }
        }
        throw SwrunError(
            .system,
            "systemd cgroup driver (rootless): DBUS_SESSION_BUS_ADDRESS \(Quote.short(address)) names no unix:path= socket"
        )
    }

    /// The manager's own cgroup (its ControlGroup property: a user's instance runs in
    /// "/user.slice/user-1000.slice/user@1000.service"), which a user's units are below.
    public func managerControlGroup() throws(SwrunError) -> String {
        let v = try property(
            path: SystemdManager.objectPath, interface: SystemdManager.managerInterface, "ControlGroup")
        guard case .string(let s) = v, s.startsWithBytes("/") else {
            throw SwrunError(
                .system, "systemd's ControlGroup property: \(v), not a cgroup path",
                errno: DBusConnection.badMessageErrno)
        }
        return s
    }

    public func close() { connection.close() }

    // MARK: the Manager's methods

    /// StartTransientUnit(name, mode, properties a(sv), aux a(sa(sv))) -> the job's path.
    /// Makes sure the job's end will be seen first (on a bus, an AddMatch sent ahead).
    public func startTransientUnit(
        _ name: String, mode: String = "replace", properties: [SystemdProperty],
        aux: [(name: String, properties: [SystemdProperty])] = []
    ) throws(SwrunError) -> String {
        let deadline = self.deadline()
        try subscribe(deadline: deadline)
        let body: [DBusValue] = [
            .string(name), .string(mode),
            .array(element: "(sv)", properties.map(\.dbusValue)),
            .array(
                element: "(sa(sv))",
                aux.map { .structure([.string($0.name), .array(element: "(sv)", $0.properties.map(\.dbusValue))]) }),
        ]
        let reply = try call("StartTransientUnit", body, context: "start unit \(name)", deadline: deadline)
        return try objectPathReply(reply, context: "start unit \(name)")
    }

    /// StopUnit(name, mode) -> the job's path.
    public func stopUnitJob(_ name: String, mode: String = "replace") throws(SwrunError) -> String {
        let deadline = self.deadline()
        try subscribe(deadline: deadline)
        let reply = try call(
            "StopUnit", [.string(name), .string(mode)], context: "stop unit \(name)", deadline: deadline)
        return try objectPathReply(reply, context: "stop unit \(name)")
    }

    /// Waits (bounded by `timeoutMilliseconds`) for the JobRemoved signal of `job` and
    /// returns its result: "done" on success; "canceled", "timeout", "failed",
    /// "dependency" or "skipped" otherwise.
    public func waitForJob(_ job: String) throws(SwrunError) -> String {
        let deadline = self.deadline()
        while true {
            if let i = removedJobs.firstIndex(where: { $0.job == job }) { return removedJobs.remove(at: i).result }
            do {
                _ = try pump(awaiting: nil, deadline: deadline)
            } catch  where error.errno == DBusConnection.timedOutErrno {
                throw SwrunError(.system, "timed out waiting for systemd job \(job) to finish", errno: error.errno)
            }
        }
    }

    /// SetUnitProperties(name, runtime, properties a(sv)): changes a unit's properties;
    /// `runtime` true (as runc) keeps them until the next boot only.
    public func setUnitProperties(_ name: String, runtime: Bool = true, properties: [SystemdProperty])
        throws(SwrunError)
    {
        _ = try call(
            "SetUnitProperties", [.string(name), .bool(runtime), .array(element: "(sv)", properties.map(\.dbusValue))],
            context: "set properties of unit \(name)", deadline: deadline())
    }

    /// ResetFailedUnit(name). With `waitForReply` false the call goes out flagged
    /// NO_REPLY_EXPECTED and nothing is waited for: runc ignores its outcome anyway.
    public func resetFailedUnit(_ name: String, waitForReply: Bool = true) throws(SwrunError) {
        if waitForReply {
            _ = try call("ResetFailedUnit", [.string(name)], context: "reset failed unit \(name)", deadline: deadline())
        } else {
            let m = DBusMessage.methodCall(
                serial: connection.nextSerial(), destination: SystemdManager.destination,
                path: SystemdManager.objectPath,
                interface: SystemdManager.managerInterface, member: "ResetFailedUnit", body: [.string(name)],
                flags: DBusMessage.noReplyExpected)
            try send(m, deadline: deadline())
        }
    }

    /// GetUnit(name) -> the unit's object path, or nil when systemd has no such unit
    /// loaded (NoSuchUnit): whether a container's scope exists, to join it.
    public func getUnit(_ name: String) throws(SwrunError) -> String? {
        let deadline = self.deadline()
        switch try callReply("GetUnit", [.string(name)], deadline: deadline) {
        case .success(let reply): return try objectPathReply(reply, context: "get unit \(name)")
        case .failure(let e) where e.name == SystemdManager.noSuchUnit: return nil
        case .failure(let e): throw SystemdManager.error(e, context: "get unit \(name)")
        }
    }

    /// AttachProcessesToUnit(name, subcgroup, pids au): runc's addPid, which moves a
    /// process into a unit's cgroup through systemd (`exec` where the cgroup cannot be
    /// written). `subcgroup` is "" or an absolute path below the unit's cgroup.
    public func attachProcesses(unit name: String, subcgroup: String = "", pids: [UInt32]) throws(SwrunError) {
        _ = try call(
            "AttachProcessesToUnit",
            [.string(name), .string(subcgroup), .array(element: "u", pids.map { .uint32($0) })],
            context: "attach processes to unit \(name)", deadline: deadline())
    }

    /// org.freedesktop.DBus.Properties.Get(interface, property) on `path`: the value,
    /// out of its variant.
    public func property(path: String, interface: String, _ name: String) throws(SwrunError) -> DBusValue {
        let reply = try call(
            member: "Get", interface: SystemdManager.propertiesInterface, path: path,
            [.string(interface), .string(name)], context: "get property \(name) of \(path)", deadline: deadline())
        guard reply.body.count == 1, case .variant(let v) = reply.body[0] else {
            throw SwrunError(
                .system, "get property \(name) of \(path): reply of type \(reply.signature), not v",
                errno: DBusConnection.badMessageErrno)
        }
        return v
    }

    /// A unit's ControlGroup ("/system.slice/runc-x.scope"), in one round trip: the unit's
    /// object path is computed (`unitObjectPath`), not asked for with GetUnit. A unit that
    /// is not loaded reads as "" (systemd answers for any name, with an empty cgroup).
    public func controlGroup(ofUnit name: String) throws(SwrunError) -> String {
        guard let interface = SystemdManager.cgroupInterface(ofUnit: name) else {
            throw SwrunError.config("unit \(Quote.short(name)): not a unit type that has a cgroup")
        }
        let v = try property(path: SystemdManager.unitObjectPath(name), interface: interface, "ControlGroup")
        guard case .string(let s) = v else {
            throw SwrunError(
                .system, "ControlGroup of unit \(name): of type \(v.signature), not s",
                errno: DBusConnection.badMessageErrno)
        }
        return s
    }

    /// The manager's Version property as runc reads it (systemdVersionAtoi): the leading
    /// number of "252.39-1~deb12u2", "v245.4-1.fc32" or "245"; -1 when there is none.
    public func version() throws(SwrunError) -> Int {
        let v = try property(path: SystemdManager.objectPath, interface: SystemdManager.managerInterface, "Version")
        return SystemdManager.versionNumber(v.stringValue ?? "")
    }

    // MARK: runc's sequences

    /// runc's startUnit (common.go): StartTransientUnit, then the job's end. A unit that
    /// exists already is fine when `ignoreExisting` (runc: creating a slice, pid -1);
    /// otherwise it may be a failed leftover: reset it and try once more. A job that ends
    /// other than "done", or not within the timeout, resets the unit and fails, in runc's
    /// words.
    public func startUnit(_ name: String, properties: [SystemdProperty], ignoreExisting: Bool = false)
        throws(SwrunError)
    {
        var retried = false
        var job = ""
        while true {
            do {
                job = try startTransientUnit(name, properties: properties)
                break
            } catch  where lastError?.name == SystemdManager.unitExists && error.errno == Errno.EEXIST {
                if ignoreExisting { return }
                if retried { throw error }
                retried = true
                do { try resetFailedUnit(name) } catch { Log.warning("unable to reset failed unit: \(error.message)") }
            }
        }
        let result: String
        do {
            result = try waitForJob(job)
        } catch  where error.errno == DBusConnection.timedOutErrno {
            try? resetFailedUnit(name, waitForReply: false)
            throw SwrunError(.system, "Timeout waiting for systemd to create \(name)", errno: error.errno)
        }
        if result != "done" {
            try? resetFailedUnit(name, waitForReply: false)
            throw SwrunError(.system, "error creating systemd unit `\(name)`: got `\(result)`")
        }
    }

    /// runc's stopUnit: StopUnit and the job's end (a result other than "done" is a
    /// warning), then ResetFailedUnit so that a failed unit goes, sent without waiting for
    /// its reply. A unit systemd no longer has is already stopped. (runc ignores every
    /// StopUnit error; other errors are reported here.)
    public func stopUnit(_ name: String) throws(SwrunError) {
        let job: String
        do {
            job = try stopUnitJob(name)
        } catch  where lastError?.name == SystemdManager.noSuchUnit {
            return
        }
        let result: String
        do {
            result = try waitForJob(job)
        } catch  where error.errno == DBusConnection.timedOutErrno {
            throw SwrunError(.system, "Timed out while waiting for systemd to remove \(name)", errno: error.errno)
        }
        if result != "done" { Log.warning("error removing unit `\(name)`: got `\(result)`. Continuing...") }
        try resetFailedUnit(name, waitForReply: false)
    }

    // MARK: names

    /// A unit's object path, as systemd makes it (unit_dbus_path, bus_label_escape):
    /// "/org/freedesktop/systemd1/unit/" and the name with every byte other than
    /// [A-Za-z0-9] (and a leading digit) written as "_" and two lowercase hex digits.
    public static func unitObjectPath(_ name: String) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("/org/freedesktop/systemd1/unit/".utf8)
        let b = Array(name.utf8)
        if b.isEmpty { out.append(UInt8(ascii: "_")) }
        for (i, c) in b.enumerated() {
            let isDigit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            if DBusNames.isAlnum(c) && !(i == 0 && isDigit) {
                out.append(c)
            } else {
                out += [UInt8(ascii: "_"), hex[Int(c >> 4)], hex[Int(c & 0xf)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The interface that carries ControlGroup for a unit of this name's type.
    public static func cgroupInterface(ofUnit name: String) -> String? {
        for (suffix, type) in [
            (".scope", "Scope"), (".slice", "Slice"), (".service", "Service"), (".socket", "Socket"),
            (".mount", "Mount"), (".swap", "Swap"),
        ] {
            if name.utf8.count > suffix.utf8.count, name.utf8.reversed().starts(with: suffix.utf8.reversed()) {
                return "org.freedesktop.systemd1." + type
            }
        }
        return nil
    }

    /// runc's systemdVersionAtoi: the leading digits after any '"' and 'v'.
    public static func versionNumber(_ s: String) -> Int {
        var n = 0, digits = 0
        for c in s.utf8.drop(while: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "v") }) {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 9 else { break }
            n = n * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
        }
        return digits == 0 ? -1 : n
    }

    // MARK: plumbing

    enum Reply {
        case success(DBusMessage)
        case failure(DBusErrorReply)
    }

    func deadline() -> Int { Clock.monotonicMilliseconds() + timeoutMilliseconds }

    static func error(_ e: DBusErrorReply, context: String) -> SwrunError {
        SwrunError(.system, "\(context): \(e.description)", errno: e.errno)
    }

    /// On a bus, JobRemoved reaches only connections with a matching rule: the AddMatch
    /// goes ahead of the call, unanswered (the bus daemon handles it before it forwards the
    /// call, so the rule is in place before the job can end). systemd's private socket
    /// sends its signals to every connection: nothing to do.
    func subscribe(deadline: Int) throws(SwrunError) {
        guard isBus, !subscribed else { return }
        let m = DBusMessage.methodCall(
            serial: connection.nextSerial(), destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus", member: "AddMatch", body: [.string(SystemdManager.jobRemovedMatch)])
        try send(m, deadline: deadline)
        pipelined.append((m.serial, "AddMatch"))
        subscribed = true
    }

    func send(_ m: DBusMessage, deadline: Int) throws(SwrunError) {
        let bytes = try m.encode()
        try sys("send \(m.member ?? "message") to systemd") { try connection.send(bytes, deadline: deadline) }
    }

    /// A Manager method call; an error reply throws.
    func call(_ member: String, _ body: [DBusValue], context: String, deadline: Int) throws(SwrunError) -> DBusMessage {
        try call(
            member: member, interface: SystemdManager.managerInterface, path: SystemdManager.objectPath, body,
            context: context, deadline: deadline)
    }

    func call(member: String, interface: String, path: String, _ body: [DBusValue], context: String, deadline: Int)
        throws(SwrunError) -> DBusMessage
    {
        switch try callReply(member: member, interface: interface, path: path, body, deadline: deadline) {
        case .success(let m): return m
        case .failure(let e): throw SystemdManager.error(e, context: context)
        }
    }

    func callReply(_ member: String, _ body: [DBusValue], deadline: Int) throws(SwrunError) -> Reply {
        try callReply(
            member: member, interface: SystemdManager.managerInterface, path: SystemdManager.objectPath, body,
            deadline: deadline)
    }

    func callReply(member: String, interface: String, path: String, _ body: [DBusValue], deadline: Int)
        throws(SwrunError) -> Reply
    {
        let m = DBusMessage.methodCall(
            serial: connection.nextSerial(), destination: SystemdManager.destination, path: path,
            interface: interface, member: member, body: body)
        lastError = nil
        try send(m, deadline: deadline)
        while true {
            if let reply = try pump(awaiting: m.serial, deadline: deadline) {
                if reply.kind == .error {
                    let e = DBusErrorReply(name: reply.errorName ?? "", message: reply.errorText ?? "")
                    lastError = e
                    return .failure(e)
                }
                return .success(reply)
            }
        }
    }

    /// Reads one message and deals with it: returns the reply to `awaiting`; throws an
    /// error reply to a pipelined call; remembers a JobRemoved; drops anything else (the
    /// other signals systemd sends to direct connections, replies nobody waits for).
    /// Only the header of a message is decoded until it is known to be wanted.
    func pump(awaiting: UInt32?, deadline: Int) throws(SwrunError) -> DBusMessage? {
        let raw = try sys("receive from systemd") { try connection.receiveMessage(deadline: deadline) }
        let header = try DBusMessage.decode(raw, body: false)
        switch header.kind {
        case .methodReturn, .error:
            guard let serial = header.replySerial else { return nil }
            if serial == awaiting { return try DBusMessage.decode(raw) }
            if let i = pipelined.firstIndex(where: { $0.serial == serial }) {
                let what = pipelined.remove(at: i).what
                if header.kind == .error {
                    let m = try DBusMessage.decode(raw)
                    let e = DBusErrorReply(name: m.errorName ?? "", message: m.errorText ?? "")
                    lastError = e
                    throw SystemdManager.error(e, context: what)
                }
            }
        case .signal:
            guard header.member == "JobRemoved", header.interface == SystemdManager.managerInterface,
                header.path == SystemdManager.objectPath, header.signature == "uoss"
            else { return nil }
            let m = try DBusMessage.decode(raw)
            guard m.body.count == 4, case .objectPath(let job) = m.body[1], case .string(let unit) = m.body[2],
                case .string(let result) = m.body[3]
            else { return nil }
            if removedJobs.count >= SystemdManager.maxRemembered { removedJobs.removeFirst() }
            removedJobs.append((job, unit, result))
        case .methodCall:
            break // systemd does not call its clients; nothing here answers.
        }
        return nil
    }

    func objectPathReply(_ reply: DBusMessage, context: String) throws(SwrunError) -> String {
        guard reply.body.count == 1, case .objectPath(let p) = reply.body[0] else {
            throw SwrunError(
                .system, "\(context): reply of type \(reply.signature), not o", errno: DBusConnection.badMessageErrno)
        }
        return p
    }
}
