// swrun-dbus-probe: drives SwrunCore's systemd D-Bus client against a real systemd, for
// tests/vm/systemd-dbus.sh (run as root in the project's VM, systemd as PID 1 on pure
// cgroup v2). It starts a transient scope for a sleeping child with limits, checks the
// scope's cgroup files, changes a property, starts the same unit twice (UnitExists), stops
// it and sees the cgroup go, and times each round trip.
//
//   swrun-dbus-probe [--bus] [--socket PATH] [--record FILE] [--failed] [--cycles N] [--handshakes N]
//
// --bus: through the system bus (Hello, AddMatch) instead of systemd's private socket.
// --record FILE: every byte exchanged, one line per write or message: "C hex" (client),
// "S hex" (server); the fixtures of Tests/SwrunCoreTests/DBusTests.swift come from it.
// --failed: also a scope that fails (RuntimeMaxUSec), stopped and reset with the no-reply
// ResetFailedUnit, which must leave no unit behind.
// --cycles N: N more create/destroy cycles as a container's life makes them (startUnit with
// the limits, stopUnit), each on a fresh connection, timed: the minimum and the median.
// --handshakes N: N connections to the socket with the first call pipelined with the SASL
// handshake, then N without (the OK line read first), each answered within 3 s or counted
// as unanswered (DBusConnection.connect: why the private socket is not pipelined).
// Prints PASS:/FAIL: lines and TIME: lines; exits 1 if anything failed.
import Glibc
import OCISpec
import SwrunCore
import SwrunSys

func nowMicros() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}

func read(_ path: String) -> String {
    guard let s = try? Files.readString(path) else { return "<missing>" }
    return trimWhitespace(s)
}

func hex(_ b: [UInt8]) -> String {
    let hexDigits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(b.count * 2)
    for x in b { out.append(hexDigits[Int(x >> 4)]); out.append(hexDigits[Int(x & 0xf)]) }
    return String(decoding: out, as: UTF8.self)
}

/// The child's exit status: nil while it still runs after `waitMs`.
func reap(_ pid: Int32, waitMs: Int) -> Int32? {
    var status: Int32 = 0
    for _ in 0..<(waitMs / 10) {
        if waitpid(pid, &status, WNOHANG) == pid { return status }
        usleep(10_000)
    }
    return nil
}

final class Probe {
    var pass = 0, fail = 0
    var useBus = false, socketPath: String?, recordPath: String?, failed = false, cycles = 0, handshakes = 0
    var record: [String] = []
    /// Every child spawned: killed at the end, whatever happened.
    var children: [Int32] = []
    var socket: String { socketPath ?? (useBus ? DBusConnection.systemBusSocket : DBusConnection.systemdPrivateSocket) }

    func ok(_ s: String) { print("PASS: \(s)"); pass += 1 }
    func bad(_ s: String) { print("FAIL: \(s)"); fail += 1 }
    func expect(_ c: Bool, _ s: String, _ detail: @autoclosure () -> String = "") {
        c ? ok(s) : bad(detail().isEmpty ? s : "\(s): \(detail())")
    }

    func timed<T>(_ what: String, _ body: () throws(SwrunError) -> T) throws(SwrunError) -> T {
        let t0 = nowMicros()
        defer {
            let us = nowMicros() - t0
            print("TIME: \(what) \(us / 1000).\(Digits.decimal(us % 1000, width: 3)) ms")
        }
        return try body()
    }

    func spawnSleeper(_ command: String = "exec sleep 600") throws(SwrunError) -> Int32 {
        do {
            let pid = try Proc.spawn(
                "/bin/sh", ["sh", "-c", command], ["PATH=/usr/bin:/bin"], stdin: -1, stdout: -1, stderr: -1)
            children.append(pid)
            return pid
        } catch {
            throw SwrunError.system(error)
        }
    }

    func main(_ arguments: [String]) -> Int32 {
        var args = Array(arguments.dropFirst())
        while let a = args.first {
            args.removeFirst()
            switch a {
            case "--bus": useBus = true
            case "--socket": socketPath = args.first; if !args.isEmpty { args.removeFirst() }
            case "--record": recordPath = args.first; if !args.isEmpty { args.removeFirst() }
            case "--failed": failed = true
            case "--handshakes": handshakes = Int(args.first ?? "") ?? 0; if !args.isEmpty { args.removeFirst() }
            case "--cycles": cycles = Int(args.first ?? "") ?? 0; if !args.isEmpty { args.removeFirst() }
            default:
                print(
                    "usage: swrun-dbus-probe [--bus] [--socket PATH] [--record FILE] [--failed] [--cycles N] [--handshakes N]"
                ); return 2
            }
        }
        do {
            if handshakes > 0 { try handshakeTest() } else { try run() }
        } catch {
            bad("unexpected error: \(error.message)")
        }
        for pid in children where kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            _ = reap(pid, waitMs: 2000)
        }
        if let recordPath {
            let text = record.joinedText("\n") + "\n"
            _ = unlink(recordPath)
            do { try Files.writeNew(recordPath, Array(text.utf8), mode: 0o644) } catch {
                bad("write \(recordPath): \(error)")
            }
        }
        print("\(pass) passed, \(fail) failed")
        return fail == 0 ? 0 : 1
    }

    func handshakeTest() throws(SwrunError) {
        for pipelined in [true, false] {
            var unanswered = 0, worst = 0
            for _ in 0..<handshakes {
                let t0 = nowMicros()
                do {
                    let deadline = Clock.monotonicMilliseconds() + 3000
                    let conn = try DBusConnection.connect(
                        path: socket, uid: geteuid(), deadline: deadline, pipelineMessages: pipelined)
                    defer { conn.close() }
                    if useBus {
                        let hello = DBusMessage.methodCall(
                            serial: conn.nextSerial(), destination: "org.freedesktop.DBus",
                            path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello")
                        try conn.send(try hello.encode(), deadline: deadline)
                    }
                    let get = DBusMessage.methodCall(
                        serial: conn.nextSerial(), destination: SystemdManager.destination,
                        path: SystemdManager.objectPath,
                        interface: SystemdManager.propertiesInterface, member: "Get",
                        body: [.string(SystemdManager.managerInterface), .string("Version")])
                    try conn.send(try get.encode(), deadline: deadline)
                    while true {
                        let reply = try DBusMessage.decode(try conn.receiveMessage(deadline: deadline), body: false)
                        if reply.replySerial == get.serial { break }
                    }
                    worst = max(worst, nowMicros() - t0)
                } catch let e as SyscallError where e.errno == DBusConnection.timedOutErrno {
                    unanswered += 1
                } catch {
                    bad("handshake: \(error)")
                }
            }
            print(
                "TIME: \(handshakes) connections, first call \(pipelined ? "pipelined with" : "after") the handshake: \(unanswered) unanswered in 3 s; slowest answered \(worst / 1000) ms"
            )
            if !pipelined || useBus {
                expect(
                    unanswered == 0,
                    "every first call \(pipelined ? "pipelined with" : "after") the handshake is answered")
            }
        }
    }

    func run() throws(SwrunError) {
        let transcript: ((Bool, [UInt8]) -> Void)? =
            recordPath == nil
            ? nil
            : { [unowned self] sent, bytes in
                self.record.append((sent ? "C " : "S ") + hex(bytes))
            }
        let manager = try timed(
            useBus ? "connect (socket; SASL and Hello pipelined)" : "connect (socket, SASL round trip)"
        ) { () throws(SwrunError) -> SystemdManager in
            try SystemdManager.connect(
                socket: socket, isBus: useBus, timeoutMilliseconds: 30_000, transcript: transcript)
        }
        defer { manager.close() }
        let version = try timed(
            useBus
                ? "Properties.Get Version (the first round trip: with SASL's and Hello's replies)"
                : "Properties.Get Version"
        ) { () throws(SwrunError) -> Int in
            try manager.version()
        }
        expect(
            version >= 240,
            "systemd's version read over \(useBus ? "the system bus" : "the private socket"): \(version)")

        let child = try spawnSleeper()
        let id = "probe\(getpid())"
        let placement = try SystemdProperties.placement(cgroupsPath: "system.slice:swrun-dbus:\(id)", id: id)
        let unit = placement.unitName
        var r = LinuxResources()
        var mem = LinuxMemory()
        mem.limit = 64 << 20
        r.memory = mem
        r.pids = LinuxPids(limit: 32)
        var cpu = LinuxCPU()
        cpu.shares = 512
        cpu.cpus = "0"
        cpu.quota = 12_345
        cpu.period = 100_000
        r.cpu = cpu
        var bio = LinuxBlockIO()
        bio.weight = 500
        r.blockIO = bio
        let resources = try SystemdProperties.resourcesV2(r, systemdVersion: version)
        let properties = try SystemdProperties.unitProperties(placement, pid: child) + resources.properties
        let job = try timed("StartTransientUnit (reply with the job)") { () throws(SwrunError) -> String in
            try manager.startTransientUnit(unit, properties: properties)
        }
        expect(job.startsWithBytes("/org/freedesktop/systemd1/job/"), "StartTransientUnit returns a job path", job)
        let result = try timed("wait for JobRemoved") { () throws(SwrunError) -> String in try manager.waitForJob(job) }
        expect(result == "done", "the start job ends done", result)

        let cg = try timed("Properties.Get ControlGroup") { () throws(SwrunError) -> String in
            try manager.controlGroup(ofUnit: unit)
        }
        let expected = try SystemdProperties.cgroupPath(placement)
        expect(cg == expected, "ControlGroup is \(expected)", cg)
        let dir = "/sys/fs/cgroup" + cg
        expect(
            read(dir + "/cgroup.procs").split(separator: "\n").contains(Substring(Digits.decimal(child))),
            "the child is in the scope's cgroup", read(dir + "/cgroup.procs"))
        expect(read(dir + "/memory.max") == "67108864", "MemoryMax -> memory.max 67108864", read(dir + "/memory.max"))
        expect(read(dir + "/pids.max") == "32", "TasksMax -> pids.max 32", read(dir + "/pids.max"))
        expect(read(dir + "/cpu.weight") == "20", "CPUWeight (shares 512) -> cpu.weight 20", read(dir + "/cpu.weight"))
        expect(
            read(dir + "/cpu.max") == "13000 100000",
            "CPUQuotaPerSecUSec (quota 12345 per 100 ms rounded up to 130 ms/s) -> cpu.max 13000 100000",
            read(dir + "/cpu.max"))
        expect(
            resources.cpuQuota == 13_000, "the rounded quota is reported for cgroupfs",
            "\(resources.cpuQuota.map { Digits.decimal($0) } ?? "nil")")
        expect(read(dir + "/cpuset.cpus") == "0", "AllowedCPUs -> cpuset.cpus 0", read(dir + "/cpuset.cpus"))
        let ioWeight = read(dir + "/io.weight")
        expect(ioWeight == "default 4950", "IOWeight (blkio 500) -> io.weight default 4950", ioWeight)

        try timed("SetUnitProperties MemoryMax TasksMax") { () throws(SwrunError) in
            try manager.setUnitProperties(
                unit,
                properties: [
                    SystemdProperty("MemoryMax", .uint64(128 << 20)), SystemdProperty("TasksMax", .uint64(64)),
                ])
        }
        expect(
            read(dir + "/memory.max") == "134217728", "SetUnitProperties MemoryMax -> memory.max 134217728",
            read(dir + "/memory.max"))
        expect(read(dir + "/pids.max") == "64", "SetUnitProperties TasksMax -> pids.max 64", read(dir + "/pids.max"))

        let path = try timed("GetUnit") { () throws(SwrunError) -> String? in try manager.getUnit(unit) }
        expect(path == SystemdManager.unitObjectPath(unit), "GetUnit returns the escaped object path", path ?? "nil")

        do {
            let other = try spawnSleeper()
            defer { kill(other, SIGKILL); _ = reap(other, waitMs: 1000) }
            _ = try timed("StartTransientUnit of an existing unit (error reply)") { () throws(SwrunError) -> String in
                try manager.startTransientUnit(
                    unit, properties: try SystemdProperties.unitProperties(placement, pid: other))
            }
            bad("starting \(unit) twice must fail")
        } catch {
            expect(
                error.errno == Errno.EEXIST && manager.lastError?.name == SystemdManager.unitExists,
                "a second StartTransientUnit fails with UnitExists (EEXIST)", "\(error.message) errno \(error.errno)")
            expect(
                error.message.containsText("org.freedesktop.systemd1.UnitExists"), "the error names the D-Bus error",
                error.message)
        }

        let stopJob = try timed("StopUnit (reply with the job)") { () throws(SwrunError) -> String in
            try manager.stopUnitJob(unit)
        }
        let stopResult = try timed("wait for JobRemoved (stop)") { () throws(SwrunError) -> String in
            try manager.waitForJob(stopJob)
        }
        expect(stopResult == "done", "the stop job ends done", stopResult)
        expect(!Files.exists(dir), "the scope's cgroup is gone after StopUnit")
        let status = reap(child, waitMs: 5000)
        expect(status != nil, "the child was stopped with its scope")
        let after = try timed("GetUnit of a stopped unit (NoSuchUnit)") { () throws(SwrunError) -> String? in
            try manager.getUnit(unit)
        }
        expect(after == nil, "GetUnit says NoSuchUnit once the unit is gone", after ?? "")

        // runc's whole sequences, as the integrator will call them, on one connection.
        let child2 = try spawnSleeper()
        let placement2 = try SystemdProperties.placement(cgroupsPath: ":swrun-dbus:\(id)b", id: id)
        try timed("startUnit: StartTransientUnit + JobRemoved") { () throws(SwrunError) in
            try manager.startUnit(
                placement2.unitName,
                properties: try SystemdProperties.unitProperties(placement2, pid: child2) + resources.properties)
        }
        let dir2 = "/sys/fs/cgroup" + (try SystemdProperties.cgroupPath(placement2))
        expect(
            Files.exists(dir2) && read(dir2 + "/memory.max") == "67108864",
            "startUnit makes the scope, with its limits, in system.slice by default", dir2)
        try timed("stopUnit: StopUnit + JobRemoved + no-reply ResetFailedUnit") { () throws(SwrunError) in
            try manager.stopUnit(placement2.unitName)
        }
        expect(!Files.exists(dir2), "stopUnit removes the scope")
        _ = reap(child2, waitMs: 5000)
        try timed("stopUnit of a unit that is gone") { () throws(SwrunError) in
            try manager.stopUnit(placement2.unitName)
        }
        ok("stopUnit of a missing unit succeeds (NoSuchUnit)")

        if cycles > 0 {
            var times: [Int] = []
            var received = 0
            var allGone = true
            for i in 0..<cycles {
                let pid = try spawnSleeper()
                let t0 = nowMicros()
                let m = try SystemdManager.connect(socket: socket, isBus: useBus)
                let pc = try SystemdProperties.placement(cgroupsPath: ":swrun-dbus:\(id)c\(i)", id: id)
                try m.startUnit(
                    pc.unitName, properties: try SystemdProperties.unitProperties(pc, pid: pid) + resources.properties)
                try m.stopUnit(pc.unitName)
                received += m.connection.messagesReceived
                m.close()
                times.append(nowMicros() - t0)
                if Files.exists("/sys/fs/cgroup" + (try SystemdProperties.cgroupPath(pc))) { allGone = false }
                _ = reap(pid, waitMs: 2000)
            }
            times.sort()
            func ms(_ us: Int) -> String { "\(us / 1000).\(Digits.decimal(us % 1000, width: 3))" }
            print(
                "TIME: \(cycles) cycles of connect + startUnit + stopUnit: min \(ms(times[0])) ms, median \(ms(times[times.count / 2])) ms, max \(ms(times[times.count - 1])) ms; \(received / cycles) messages received per cycle"
            )
            expect(allGone, "\(cycles) create/destroy cycles leave no cgroup")
        }
        if failed {
            // A scope that outlives RuntimeMaxUSec is stopped by systemd with result
            // "timeout" and stays loaded, failed (what runc's resetFailedUnit is for: a
            // failed unit blocks a new one of its name). stopUnit resets it with a
            // ResetFailedUnit that asks for no reply: the unit must be gone after.
            let victim = try spawnSleeper()
            let p3 = try SystemdProperties.placement(cgroupsPath: ":swrun-dbus:\(id)failed", id: id)
            try manager.startUnit(
                p3.unitName,
                properties: try SystemdProperties.unitProperties(p3, pid: victim) + [
                    SystemdProperty("RuntimeMaxUSec", .uint64(300_000))
                ])
            var state = ""
            for _ in 0..<250 {
                state =
                    (try manager.property(
                        path: SystemdManager.unitObjectPath(p3.unitName), interface: "org.freedesktop.systemd1.Unit",
                        "ActiveState")).stringValue ?? ""
                if state == "failed" { break }
                usleep(20_000)
            }
            expect(state == "failed", "a scope past its RuntimeMaxUSec is failed", state)
            try timed("stopUnit of a failed unit (+ no-reply ResetFailedUnit)") { () throws(SwrunError) in
                try manager.stopUnit(p3.unitName)
            }
            // Calls on one connection are handled in order: this GetUnit comes after the reset.
            var gone = try manager.getUnit(p3.unitName)
            for _ in 0..<50 where gone != nil {
                usleep(20_000)
                gone = try manager.getUnit(p3.unitName)
            }
            if state == "failed" {
                expect(gone == nil, "stopUnit's no-reply ResetFailedUnit removes the failed unit", gone ?? "")
            }
            kill(victim, SIGKILL)
            _ = reap(victim, waitMs: 2000)
        }
    }
}

exit(Probe().main(CommandLine.arguments))
