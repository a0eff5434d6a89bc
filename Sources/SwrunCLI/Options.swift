import OCISpec
import SwrunCore
import SwrunSys

/// The verbs' options: argv values turned into what SwrunCore takes, checked (runc's
/// spellings and meanings).
extension SwrunCLI {
    static func createOptions(_ a: ParsedArgs) throws(SwrunError) -> CreateOptions {
        var o = CreateOptions()
        o.noPivot = a.bool("no-pivot")
        o.noNewKeyring = a.bool("no-new-keyring")
        if let n = a.string("preserve-fds") {
            guard let v = Int(n), v >= 0 else {
                throw SwrunError(.usage, "invalid value \(Quote.short(n)) for flag -preserve-fds")
            }
            o.preserveFds = v
        }
        o.consoleSocket = a.string("console-socket")
        o.pidfdSocket = a.string("pidfd-socket")
        // systemd socket activation: runc passes LISTEN_FDS on to the container.
        if let n = Proc.getenv("LISTEN_FDS").flatMap(Int.init), n > 0 { o.listenFds = n }
        return o
    }

    static func execOptions(_ a: ParsedArgs) throws(SwrunError) -> ExecOptions {
        var o = ExecOptions()
        o.forwardSignals = true
        o.processFile = a.string("process")
        o.args = Array(a.positional.dropFirst())
        o.env = a.strings("env")
        o.cwd = a.string("cwd")
        o.user = a.string("user")
        o.additionalGids = a.strings("additional-gids").flatMap { $0.split(separator: ",").map(String.init) }
        o.caps = a.strings("cap")
        o.noNewPrivs = a.bool("no-new-privs")
        o.apparmor = a.string("apparmor")
        o.processLabel = a.string("process-label")
        o.tty = a.bool("tty")
        o.consoleSocket = a.string("console-socket")
        o.detach = a.bool("detach")
        o.pidFile = a.string("pid-file")
        o.ignorePaused = a.bool("ignore-paused")
        if let n = a.string("preserve-fds") {
            guard let v = Int(n), v >= 0 else {
                throw SwrunError(.usage, "invalid value \(Quote.short(n)) for flag -preserve-fds")
            }
            o.preserveFds = v
        }
        o.pidfdSocket = a.string("pidfd-socket")
        o.cgroups = a.strings("cgroup")
        return o
    }

    /// `update`: --resources FILE|- (LinuxResources JSON, as Docker sends it) and runc's
    /// flags on top.
    static func updateResources(_ a: ParsedArgs) throws(SwrunError) -> LinuxResources {
        var r = LinuxResources()
        if let file = a.string("resources") {
            let bytes: [UInt8]
            do {
                bytes =
                    file == "-"
                    ? try Files.readAll(fd: 0, max: Limits.configBytes, display: "standard input")
                    : try Files.readInput(file, max: Limits.configBytes)
            } catch {
                throw SwrunError.system(error).wrapped("read resources")
            }
            do { r = try SpecLoader.decodeResourcesFast(bytes) } catch {
                throw SwrunError.config("resources: \(error.message)")
            }
        }
        func int(_ name: String, bytes: Bool = false) throws(SwrunError) -> Int64? {
            guard let s = a.string(name) else { return nil }
            guard let v = bytes ? parseBytes(s) : Int64(s) else {
                throw SwrunError(.usage, "invalid value for --\(name): \(s)")
            }
            return v
        }
        var mem = r.memory ?? LinuxMemory()
        if let v = try int("memory", bytes: true) { mem.limit = v }
        if let v = try int("memory-reservation", bytes: true) { mem.reservation = v }
        if let v = try int("memory-swap", bytes: true) { mem.swap = v }
        if let v = try int("kernel-memory-tcp", bytes: true) { mem.kernelTCP = v }
        if a.has("kernel-memory") { throw SwrunError(.usage, "--kernel-memory is obsolete and not supported") }
        if mem != LinuxMemory() { r.memory = mem }
        var cpu = r.cpu ?? LinuxCPU()
        if let v = try int("cpu-share") { cpu.shares = UInt64(max(0, v)) }
        if let v = try int("cpu-quota") { cpu.quota = v }
        if let v = try int("cpu-period") { cpu.period = UInt64(max(0, v)) }
        if let v = try int("cpu-rt-period") { cpu.realtimePeriod = UInt64(max(0, v)) }
        if let v = try int("cpu-rt-runtime") { cpu.realtimeRuntime = v }
        if let v = a.string("cpuset-cpus") { cpu.cpus = v }
        if let v = a.string("cpuset-mems") { cpu.mems = v }
        if cpu != LinuxCPU() { r.cpu = cpu }
        if let v = try int("pids-limit") { r.pids = LinuxPids(limit: v) }
        if let v = try int("blkio-weight") {
            var b = r.blockIO ?? LinuxBlockIO()
            b.weight = UInt16(clamping: v)
            r.blockIO = b
        }
        return r
    }

    /// Docker's RAMInBytes: 1024-based k, m, g, t suffixes (with an optional b); -1 stays -1.
    /// The number is finite and the result fits Int64, or it is refused (nil): `1e30k` and
    /// `infk` are input, not a reason to trap.
    public static func parseBytes(_ s: String) -> Int64? {
        if let v = Int64(s) { return v }
        var t = s.lowercased()
        if t.hasSuffix("b") { t.removeLast() }
        guard let unit = t.last, let mult: Int64 = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40][unit],
            let n = Double(t.dropLast()), n.isFinite, n >= 0
        else { return nil }
        let v = n * Double(mult)
        // Double(Int64.max) rounds up to 2^63, which Int64 cannot hold: compare below it.
        guard v < 9_223_372_036_854_775_807.0 else { return nil }
        return Int64(v)
    }

    /// A Go duration ("5s", "100ms", "1m") in milliseconds, at most a year: finite,
    /// positive, or refused (nil).
    public static func parseDuration(_ s: String) -> Int? {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60000), ("h", 3_600_000)]
        for (u, f) in units where s.hasSuffix(u) {
            if let v = Double(s.dropLast(u.count)), v.isFinite, v > 0, v * f <= 31_536_000_000 {
                return max(1, Int(v * f))
            }
        }
        return nil
    }

    /// runc's parseSignal: a number, or a name with or without SIG, any case.
    public static func parseSignal(_ s: String) throws(SwrunError) -> Int32 {
        if let n = Int32(s) {
            // 0 is kill(2)'s existence check, which runc passes on as well.
            guard n >= 0, n <= Signals.maxSignal else { throw SwrunError(.usage, "unknown signal \(Quote.short(s))") }
            return n
        }
        var name = s.uppercased()
        if name.startsWithBytes("SIG") { name.removeFirst(3) }
        if let hit = Signals.table.first(where: { $0.0 == name }) { return hit.1 }
        if name.startsWithBytes("RTMIN") || name.startsWithBytes("RTMAX") {
            // RTMIN+n and RTMAX-n, within 34...64; the offset is checked before it is added.
            let base: Int32 = name.startsWithBytes("RTMIN") ? 34 : 64
            let rest = name.dropFirst(5)
            if rest.isEmpty { return base }
            if let off = Int32(rest), (-30...30).contains(off), (34...64).contains(base + off) { return base + off }
        }
        throw SwrunError(.usage, "unknown signal \(Quote.short(s))")
    }
}
