// JValue -> Spec, by hand (no Codable machinery on the hot path). Each field's error names its
// JSON path, as SpecLoader's Codable errors do. Unknown keys are ignored; null counts as absent
// for optional fields.

struct Node {
    let v: JValue
    /// Where the node sits ("linux.resources.devices[3]"), for error messages only: the
    /// parent's path and this node's last step, joined when an error asks (building it for
    /// every field and array element was a fifth of the decode).
    let prefix: String
    let last: Step

    enum Step {
        case none, key(String), dictKey(String), index(Int)
    }

    init(v: JValue, path: String) {
        self.v = v
        prefix = path
        last = .none
    }

    init(v: JValue, prefix: String, last: Step) {
        self.v = v
        self.prefix = prefix
        self.last = last
    }

    var path: String {
        switch last {
        case .none: return prefix
        case .key(let k): return prefix.isEmpty ? k : prefix + "." + k
        case .dictKey(let k): return prefix + "." + Node.cut(k)
        case .index(let i): return prefix + "[" + Node.digits(i) + "]"
        }
    }

    /// A non-negative index in decimal. Not String(i): objects in arrays (rlimits, mounts)
    /// build their path on every decode, and the standard library's integer printing is a
    /// 64 KB stretch of its text that the start path needs for nothing else. (SwrunSys's
    /// Digits.decimal does the same for the runtime; this module depends on nothing.)
    static func digits(_ i: Int) -> String {
        var out: [UInt8] = []
        var n = i
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n % 10))
            n /= 10
        } while n > 0
        // Reversed in place: String(decoding:) of a ReversedCollection is the generic path
        // (a dynamic cast to _HasContiguousBytes and two more windows of runtime text).
        out.reverse()
        return String(decoding: out, as: UTF8.self)
    }

    /// A value quoted in an error, at most a few hundred bytes (on a UTF-8 boundary).
    static func cut(_ s: String) -> String {
        let u = Array(s.utf8)
        guard u.count > 200 else { return s }
        var end = 200
        while end > 0, u[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: u[..<end], as: UTF8.self) + "...(" + digits(u.count) + " bytes)"
    }

    func fail(_ what: String) -> SpecError {
        let p = path.isEmpty ? "(root)" : path
        if case .null = v { return SpecError("\(p): expected \(what), found null") }
        return SpecError("\(p): expected \(what), found \(v.kind)")
    }

    func obj() throws -> Obj {
        guard case .object(let m) = v else { throw fail("an object") }
        let p = path
        return Obj(m: m, path: p, keys: SpecMapper.collector?.object(p, keys: m.map { $0.0 }))
    }

    func str() throws -> String {
        guard case .string(let s) = v else { throw fail("a string") }
        // A NUL cannot be part of a path, an argument or a name: C would cut the string
        // there, and the runtime would act on a value the config does not say.
        if s.utf8.contains(0) { throw SpecError("\(path.isEmpty ? "(root)" : path): contains a NUL byte") }
        return s
    }

    func bool() throws -> Bool {
        guard case .bool(let b) = v else { throw fail("a boolean") }
        return b
    }

    func int<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        guard case .number(let n) = v else { throw fail("a number (\(T.self))") }
        guard let x = T(n) else {
            // The reader admits only RFC 8259 numbers: what T cannot hold is a fraction, an
            // exponent or a value out of range.
            if n.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
            {
                throw SpecError("\(path): number \(Node.cut(n)) is not an integer")
            }
            throw SpecError("\(path): number \(Node.cut(n)) does not fit in \(T.self)")
        }
        return x
    }

    func arr<T>(_ f: (Node) throws -> T) throws -> [T] {
        guard case .array(let items) = v else { throw fail("an array") }
        var out: [T] = []
        out.reserveCapacity(items.count)
        let p = path
        guard let c = SpecMapper.collector else {
            for (i, item) in items.enumerated() { out.append(try f(Node(v: item, prefix: p, last: .index(i)))) }
            return out
        }
        // `check`: every element is decoded, each failure recorded; the array as a whole
        // is then absent (dropping one element would shift the indexes of the others).
        var failed = false
        for (i, item) in items.enumerated() {
            let n = Node(v: item, prefix: p, last: .index(i))
            do { out.append(try f(n)) } catch {
                c.record(error, at: n.path)
                failed = true
            }
        }
        if failed { throw DecodeCollector.Recorded() }
        return out
    }

    func strings() throws -> [String] { try arr { try $0.str() } }

    func dict<T>(_ f: (Node) throws -> T) throws -> [String: T] {
        guard case .object(let m) = v else { throw fail("an object") }
        var out: [String: T] = [:]
        let p = path
        var failed = false
        for (k, item) in m {
            if k.utf8.contains(0) { throw SpecError("\(p): a key contains a NUL byte") }
            let n = Node(v: item, prefix: p, last: .dictKey(k))
            do { out[k] = try f(n) } catch {
                guard let c = SpecMapper.collector else { throw error }
                c.record(error, at: n.path)
                failed = true
            }
        }
        if failed { throw DecodeCollector.Recorded() }
        return out
    }
}

struct Obj {
    let m: [(String, JValue)]
    let path: String
    /// `check` only: which of the object's keys the mapper asked for (nil on create's path).
    var keys: DecodeCollector.Keys? = nil

    /// The member named `k` as Go's encoding/json finds a struct field (runc decodes
    /// config.json with it, and hand-written configs rely on it): the key matches
    /// case-insensitively, and of several matching keys the last one wins.
    func member(_ k: String) -> JValue? {
        keys?.asked(k)
        return m.last(where: { Obj.goFieldMatch($0.0, k) })?.1
    }

    /// Go's case folding of a JSON key against an (ASCII) field name: ASCII letters fold,
    /// and so do the two non-ASCII letters that fold to ASCII ones (U+212A KELVIN SIGN to
    /// k, U+017F LATIN SMALL LETTER LONG S to s).
    static func goFieldMatch(_ key: String, _ name: String) -> Bool {
        let kb = key.utf8, nb = name.utf8
        if kb.count == nb.count {
            // Same length: equal bytes, or ASCII letters that differ in case only.
            var ki = kb.makeIterator(), ni = nb.makeIterator()
            while let a = ki.next(), let b = ni.next() {
                if a == b { continue }
                guard a | 0x20 == b | 0x20, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(a | 0x20) else {
                    return false
                }
            }
            return true
        }
        // A longer key can still fold to the name only through the two non-ASCII letters.
        guard kb.count > nb.count, kb.contains(where: { $0 >= 0x80 }) else { return false }
        var ks = key.unicodeScalars.makeIterator(), ns = name.unicodeScalars.makeIterator()
        func folded(_ c: Unicode.Scalar) -> UInt32 {
            switch c.value {
            case 0x41...0x5A: return c.value + 0x20
            case 0x212A: return 0x6B
            case 0x017F: return 0x73
            default: return c.value
            }
        }
        while true {
            let a = ks.next(), b = ns.next()
            guard let a, let b else { return a == nil && b == nil }
            if folded(a) != folded(b) { return false }
        }
    }

    func node(_ k: String) -> Node? {
        guard let v = member(k) else { return nil }
        if case .null = v { return nil }
        return Node(v: v, prefix: path, last: .key(k))
    }

    func opt<T>(_ k: String, _ f: (Node) throws -> T) throws -> T? {
        guard let n = node(k) else { return nil }
        // `check` records the error and goes on as if the field were absent; create throws.
        do { return try f(n) } catch { return try SpecMapper.absorb(error, at: n.path) }
    }

    func req<T>(_ k: String, _ f: (Node) throws -> T) throws -> T {
        guard let v = member(k) else {
            throw SpecError("\(path.isEmpty ? k : path + "." + k): required field is missing")
        }
        return try f(Node(v: v, prefix: path, last: .key(k)))
    }
}

enum SpecMapper {
    /// Set only while `check` decodes (SpecLoader.diagnose): then a field that fails to
    /// decode is recorded and taken as absent, and every error is reported, not the first.
    /// create never sets it: its decode throws at the first error, as it always did.
    nonisolated(unsafe) static var collector: DecodeCollector?

    /// An optional field's error: thrown (create), or recorded with the field taken as
    /// absent (check).
    static func absorb<T>(_ error: any Error, at path: String) throws -> T? {
        guard let c = collector else { throw error }
        c.record(error, at: path)
        return nil
    }

    static func spec(_ n: Node) throws -> Spec {
        let o = try n.obj()
        let version: String
        do { version = try o.req("ociVersion") { try $0.str() } } catch {
            version = try SpecMapper.absorb(error, at: "ociVersion") ?? ""
        }
        var s = Spec(ociVersion: version)
        s.process = try o.opt("process", process)
        s.root = try o.opt("root") { n in
            let r = try n.obj()
            return Root(path: try r.req("path") { try $0.str() }, readonly: try r.opt("readonly") { try $0.bool() })
        }
        s.hostname = try o.opt("hostname") { try $0.str() }
        s.domainname = try o.opt("domainname") { try $0.str() }
        s.mounts = try o.opt("mounts") { try $0.arr(mount) }
        s.hooks = try o.opt("hooks", hooks)
        s.annotations = try o.opt("annotations") { try $0.dict { try $0.str() } }
        s.linux = try o.opt("linux", linux)
        return s
    }

    static func process(_ n: Node) throws -> Process {
        let o = try n.obj()
        // A missing user is uid 0, gid 0, as runc's Go decoder leaves it (containerd and
        // hand-written process.json files rely on it).
        let user =
            try o.opt("user") { n in
                let u = try n.obj()
                var user = User(uid: try u.req("uid") { try $0.int() }, gid: try u.req("gid") { try $0.int() })
                user.umask = try u.opt("umask") { try $0.int() }
                user.additionalGids = try u.opt("additionalGids") { try $0.arr { try $0.int(UInt32.self) } }
                user.username = try u.opt("username") { try $0.str() }
                return user
            } ?? User(uid: 0, gid: 0)
        var p = Process(user: user, cwd: try o.req("cwd") { try $0.str() })
        p.terminal = try o.opt("terminal") { try $0.bool() }
        p.consoleSize = try o.opt("consoleSize") { n in
            let b = try n.obj()
            return Box(height: try b.req("height") { try $0.int() }, width: try b.req("width") { try $0.int() })
        }
        p.args = try o.opt("args") { try $0.strings() }
        p.commandLine = try o.opt("commandLine") { try $0.str() }
        p.env = try o.opt("env") { try $0.strings() }
        p.capabilities = try o.opt("capabilities") { n in
            let c = try n.obj()
            var caps = LinuxCapabilities()
            caps.bounding = try c.opt("bounding") { try $0.strings() }
            caps.effective = try c.opt("effective") { try $0.strings() }
            caps.inheritable = try c.opt("inheritable") { try $0.strings() }
            caps.permitted = try c.opt("permitted") { try $0.strings() }
            caps.ambient = try c.opt("ambient") { try $0.strings() }
            return caps
        }
        p.rlimits = try o.opt("rlimits") {
            try $0.arr { n in
                let r = try n.obj()
                return POSIXRlimit(
                    type: try r.req("type") { try $0.str() }, hard: try r.req("hard") { try $0.int() },
                    soft: try r.req("soft") { try $0.int() })
            }
        }
        p.noNewPrivileges = try o.opt("noNewPrivileges") { try $0.bool() }
        p.apparmorProfile = try o.opt("apparmorProfile") { try $0.str() }
        p.oomScoreAdj = try o.opt("oomScoreAdj") { try $0.int() }
        p.selinuxLabel = try o.opt("selinuxLabel") { try $0.str() }
        p.scheduler = try o.opt("scheduler") { n in
            let s = try n.obj()
            return Scheduler(
                policy: try s.req("policy") { try $0.str() }, nice: try s.opt("nice") { try $0.int() },
                priority: try s.opt("priority") { try $0.int() },
                flags: try s.opt("flags") { try $0.strings() }, runtime: try s.opt("runtime") { try $0.int() },
                deadline: try s.opt("deadline") { try $0.int() }, period: try s.opt("period") { try $0.int() })
        }
        p.ioPriority = try o.opt("ioPriority") { n in
            let s = try n.obj()
            return IOPriority(
                class: try s.req("class") { try $0.str() }, priority: try s.opt("priority") { try $0.int() })
        }
        p.execCPUAffinity = try o.opt("execCPUAffinity") { n in
            let s = try n.obj()
            return CPUAffinity(
                initial: try s.opt("initial") { try $0.str() }, final: try s.opt("final") { try $0.str() })
        }
        return p
    }

    static func idMapping(_ n: Node) throws -> IDMapping {
        let o = try n.obj()
        return IDMapping(
            containerID: try o.req("containerID") { try $0.int() }, hostID: try o.req("hostID") { try $0.int() },
            size: try o.req("size") { try $0.int() })
    }

    static func mount(_ n: Node) throws -> Mount {
        let o = try n.obj()
        var m = Mount(
            destination: try o.req("destination") { try $0.str() }, type: try o.opt("type") { try $0.str() },
            source: try o.opt("source") { try $0.str() }, options: try o.opt("options") { try $0.strings() })
        m.uidMappings = try o.opt("uidMappings") { try $0.arr(idMapping) }
        m.gidMappings = try o.opt("gidMappings") { try $0.arr(idMapping) }
        return m
    }

    static func hook(_ n: Node) throws -> Hook {
        let o = try n.obj()
        return Hook(
            path: try o.req("path") { try $0.str() }, args: try o.opt("args") { try $0.strings() },
            env: try o.opt("env") { try $0.strings() }, timeout: try o.opt("timeout") { try $0.int() })
    }

    static func hooks(_ n: Node) throws -> Hooks {
        let o = try n.obj()
        var h = Hooks()
        h.prestart = try o.opt("prestart") { try $0.arr(hook) }
        h.createRuntime = try o.opt("createRuntime") { try $0.arr(hook) }
        h.createContainer = try o.opt("createContainer") { try $0.arr(hook) }
        h.startContainer = try o.opt("startContainer") { try $0.arr(hook) }
        h.poststart = try o.opt("poststart") { try $0.arr(hook) }
        h.poststop = try o.opt("poststop") { try $0.arr(hook) }
        return h
    }

    static func linux(_ n: Node) throws -> Linux {
        let o = try n.obj()
        var l = Linux()
        l.namespaces = try o.opt("namespaces") {
            try $0.arr { n in
                let ns = try n.obj()
                return LinuxNamespace(
                    type: try ns.req("type") { try $0.str() }, path: try ns.opt("path") { try $0.str() })
            }
        }
        l.uidMappings = try o.opt("uidMappings") { try $0.arr(idMapping) }
        l.gidMappings = try o.opt("gidMappings") { try $0.arr(idMapping) }
        l.timeOffsets = try o.opt("timeOffsets") {
            try $0.dict { n in
                let t = try n.obj()
                return LinuxTimeOffset(
                    secs: try t.opt("secs") { try $0.int() }, nanosecs: try t.opt("nanosecs") { try $0.int() })
            }
        }
        l.devices = try o.opt("devices") {
            try $0.arr { n in
                let d = try n.obj()
                return LinuxDevice(
                    type: try d.req("type") { try $0.str() }, path: try d.req("path") { try $0.str() },
                    major: try d.opt("major") { try $0.int() }, minor: try d.opt("minor") { try $0.int() },
                    fileMode: try d.opt("fileMode") { try $0.int() }, uid: try d.opt("uid") { try $0.int() },
                    gid: try d.opt("gid") { try $0.int() })
            }
        }
        l.cgroupsPath = try o.opt("cgroupsPath") { try $0.str() }
        l.resources = try o.opt("resources", resources)
        l.rootfsPropagation = try o.opt("rootfsPropagation") { try $0.str() }
        l.seccomp = try o.opt("seccomp", seccomp)
        l.sysctl = try o.opt("sysctl") { try $0.dict { try $0.str() } }
        l.maskedPaths = try o.opt("maskedPaths") { try $0.strings() }
        l.readonlyPaths = try o.opt("readonlyPaths") { try $0.strings() }
        l.mountLabel = try o.opt("mountLabel") { try $0.str() }
        l.intelRdt = try o.opt("intelRdt") { n in
            let r = try n.obj()
            return LinuxIntelRdt(
                closID: try r.opt("closID") { try $0.str() },
                l3CacheSchema: try r.opt("l3CacheSchema") { try $0.str() },
                memBwSchema: try r.opt("memBwSchema") { try $0.str() },
                enableCMT: try r.opt("enableCMT") { try $0.bool() },
                enableMBM: try r.opt("enableMBM") { try $0.bool() })
        }
        l.personality = try o.opt("personality") { n in
            let p = try n.obj()
            return LinuxPersonality(
                domain: try p.req("domain") { try $0.str() }, flags: try p.opt("flags") { try $0.strings() })
        }
        return l
    }

    static func throttle(_ n: Node) throws -> LinuxThrottleDevice {
        let o = try n.obj()
        return LinuxThrottleDevice(
            major: try o.req("major") { try $0.int() }, minor: try o.req("minor") { try $0.int() },
            rate: try o.req("rate") { try $0.int() })
    }

    static func resources(_ n: Node) throws -> LinuxResources {
        let o = try n.obj()
        var r = LinuxResources()
        r.devices = try o.opt("devices") {
            try $0.arr { n in
                let d = try n.obj()
                return LinuxDeviceCgroup(
                    allow: try d.req("allow") { try $0.bool() }, type: try d.opt("type") { try $0.str() },
                    major: try d.opt("major") { try $0.int() }, minor: try d.opt("minor") { try $0.int() },
                    access: try d.opt("access") { try $0.str() })
            }
        }
        r.memory = try o.opt("memory") { n in
            let m = try n.obj()
            var mem = LinuxMemory()
            mem.limit = try m.opt("limit") { try $0.int() }
            mem.reservation = try m.opt("reservation") { try $0.int() }
            mem.swap = try m.opt("swap") { try $0.int() }
            mem.kernel = try m.opt("kernel") { try $0.int() }
            mem.kernelTCP = try m.opt("kernelTCP") { try $0.int() }
            mem.swappiness = try m.opt("swappiness") { try $0.int() }
            mem.disableOOMKiller = try m.opt("disableOOMKiller") { try $0.bool() }
            mem.useHierarchy = try m.opt("useHierarchy") { try $0.bool() }
            mem.checkBeforeUpdate = try m.opt("checkBeforeUpdate") { try $0.bool() }
            return mem
        }
        r.cpu = try o.opt("cpu") { n in
            let c = try n.obj()
            var cpu = LinuxCPU()
            cpu.shares = try c.opt("shares") { try $0.int() }
            cpu.quota = try c.opt("quota") { try $0.int() }
            cpu.burst = try c.opt("burst") { try $0.int() }
            cpu.period = try c.opt("period") { try $0.int() }
            cpu.realtimeRuntime = try c.opt("realtimeRuntime") { try $0.int() }
            cpu.realtimePeriod = try c.opt("realtimePeriod") { try $0.int() }
            cpu.cpus = try c.opt("cpus") { try $0.str() }
            cpu.mems = try c.opt("mems") { try $0.str() }
            cpu.idle = try c.opt("idle") { try $0.int() }
            return cpu
        }
        r.pids = try o.opt("pids") { n in LinuxPids(limit: try n.obj().req("limit") { try $0.int() }) }
        r.blockIO = try o.opt("blockIO") { n in
            let b = try n.obj()
            var io = LinuxBlockIO()
            io.weight = try b.opt("weight") { try $0.int() }
            io.leafWeight = try b.opt("leafWeight") { try $0.int() }
            io.weightDevice = try b.opt("weightDevice") {
                try $0.arr { n in
                    let w = try n.obj()
                    return LinuxWeightDevice(
                        major: try w.req("major") { try $0.int() }, minor: try w.req("minor") { try $0.int() },
                        weight: try w.opt("weight") { try $0.int() },
                        leafWeight: try w.opt("leafWeight") { try $0.int() })
                }
            }
            io.throttleReadBpsDevice = try b.opt("throttleReadBpsDevice") { try $0.arr(throttle) }
            io.throttleWriteBpsDevice = try b.opt("throttleWriteBpsDevice") { try $0.arr(throttle) }
            io.throttleReadIOPSDevice = try b.opt("throttleReadIOPSDevice") { try $0.arr(throttle) }
            io.throttleWriteIOPSDevice = try b.opt("throttleWriteIOPSDevice") { try $0.arr(throttle) }
            return io
        }
        r.hugepageLimits = try o.opt("hugepageLimits") {
            try $0.arr { n in
                let h = try n.obj()
                return LinuxHugepageLimit(
                    pageSize: try h.req("pageSize") { try $0.str() }, limit: try h.req("limit") { try $0.int() })
            }
        }
        r.network = try o.opt("network") { n in
            let net = try n.obj()
            return LinuxNetwork(
                classID: try net.opt("classID") { try $0.int() },
                priorities: try net.opt("priorities") {
                    try $0.arr { n in
                        let p = try n.obj()
                        return LinuxInterfacePriority(
                            name: try p.req("name") { try $0.str() }, priority: try p.req("priority") { try $0.int() })
                    }
                })
        }
        r.rdma = try o.opt("rdma") {
            try $0.dict { n in
                let d = try n.obj()
                return LinuxRdma(
                    hcaHandles: try d.opt("hcaHandles") { try $0.int() },
                    hcaObjects: try d.opt("hcaObjects") { try $0.int() })
            }
        }
        r.unified = try o.opt("unified") { try $0.dict { try $0.str() } }
        return r
    }

    static func seccomp(_ n: Node) throws -> LinuxSeccomp {
        let o = try n.obj()
        return LinuxSeccomp(
            defaultAction: try o.req("defaultAction") { try $0.str() },
            defaultErrnoRet: try o.opt("defaultErrnoRet") { try $0.int() },
            architectures: try o.opt("architectures") { try $0.strings() },
            flags: try o.opt("flags") { try $0.strings() },
            listenerPath: try o.opt("listenerPath") { try $0.str() },
            listenerMetadata: try o.opt("listenerMetadata") { try $0.str() },
            syscalls: try o.opt("syscalls") {
                try $0.arr { n in
                    let s = try n.obj()
                    return LinuxSyscall(
                        names: try s.req("names") { try $0.strings() }, action: try s.req("action") { try $0.str() },
                        errnoRet: try s.opt("errnoRet") { try $0.int() },
                        args: try s.opt("args") {
                            try $0.arr { n in
                                let a = try n.obj()
                                return LinuxSeccompArg(
                                    index: try a.req("index") { try $0.int() },
                                    value: try a.req("value") { try $0.int() },
                                    valueTwo: try a.opt("valueTwo") { try $0.int() },
                                    op: try a.req("op") { try $0.str() })
                            }
                        })
                }
            })
    }
}

extension SpecLoader {
    /// config.json through the hand-written reader (the fast path of create/run).
    public static func decodeSpecFast(_ bytes: [UInt8]) throws(SpecError) -> Spec {
        let tree = try JSONReader.parse(bytes)
        do { return try SpecMapper.spec(Node(v: tree, path: "")) } catch let e as SpecError { throw e } catch {
            throw SpecError("\(error)")
        }
    }

    /// A process.json (exec --process) through the hand-written reader.
    public static func decodeProcessFast(_ bytes: [UInt8]) throws(SpecError) -> Process {
        let tree = try JSONReader.parse(bytes)
        do { return try SpecMapper.process(Node(v: tree, path: "")) } catch let e as SpecError { throw e } catch {
            throw SpecError("\(error)")
        }
    }
}

extension SpecLoader {
    /// Hooks from a JValue array (used for the runtime's own state file).
    public static func hooks(_ v: JValue, path: String) throws(SpecError) -> [Hook] {
        do { return try Node(v: v, path: path).arr(SpecMapper.hook) } catch let e as SpecError { throw e } catch {
            throw SpecError("\(error)")
        }
    }

    public static func decodeResourcesFast(_ bytes: [UInt8]) throws(SpecError) -> LinuxResources {
        let tree = try JSONReader.parse(bytes)
        do { return try SpecMapper.resources(Node(v: tree, path: "")) } catch let e as SpecError { throw e } catch {
            throw SpecError("\(error)")
        }
    }
}

extension Hook {
    public var json: JSON {
        var m: [(String, JSON)] = [("path", .string(path))]
        if let args { m.append(("args", .array(args.map { .string($0) }))) }
        if let env { m.append(("env", .array(env.map { .string($0) }))) }
        if let timeout { m.append(("timeout", .int(Int64(timeout)))) }
        return .object(m)
    }
}
