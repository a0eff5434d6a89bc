import OCISpec
import SwrunSys

/// OCI mounts -> MountOp. Pure: unit-tested without root.
public enum MountPlan {
    public static func op(_ m: OCISpec.Mount, index: Int, bundle: String) throws(SwrunError) -> MountOp {
        let field = "mounts[\(index)]"
        guard !m.destination.isEmpty else { throw SwrunError.config("\(field).destination: required field is missing") }
        // Absolute only (runc 1.2 warns that relative ones are going away; a relative one
        // depends on what the runtime takes it to be relative to).
        guard m.destination.startsWithBytes("/") else {
            throw SwrunError.config("\(field).destination: \(Quote.short(m.destination)) must be an absolute path")
        }
        let dest = normalize(m.destination)
        var bind: Bool? = nil
        var op = MountOp(destination: dest, kind: .cgroup)
        for opt in m.options ?? [] {
            switch MountOptions.effect(opt) {
            case .idmap(let rec)?:
                op.idmap = MountIDMap(recursive: rec || (op.idmap?.recursive ?? false))
            case .attr(let s, let c)?:
                op.attrSet = (op.attrSet & ~c) | s
                op.attrClear = (op.attrClear & ~s) | c
            case .recursiveAttr(let s, let c)?:
                op.recursiveAttrSet = (op.recursiveAttrSet & ~c) | s
                op.recursiveAttrClear = (op.recursiveAttrClear & ~s) | c
            case .propagation(let p, let rec)?:
                op.propagation = p
                op.propagationRecursive = rec
            case .bind(let rec)?:
                bind = rec || (bind ?? false)
            case .superblockFlag(let flag)?:
                op.data.append(KeyValue(flag, nil))
            case .tmpcopyup?:
                op.tmpcopyup = true
            case .ignored?:
                break
            case nil:
                // Unknown options are filesystem data, as runc passes them to mount(2).
                if let eq = opt.firstIndex(of: "=") {
                    op.data.append(KeyValue(String(opt[..<eq]), String(opt[opt.index(after: eq)...])))
                } else {
                    op.data.append(KeyValue(opt, nil))
                }
            }
        }
        try idMaps(m, field: field, &op)
        let type = m.type ?? ""
        if type == "bind" && bind == nil { bind = false }
        if let rec = bind {
            guard let src = m.source, !src.isEmpty else {
                throw SwrunError.config("\(field).source: a bind mount needs a source")
            }
            let abs = src.startsWithBytes("/") ? src : bundle + "/" + src
            op.kind = .bind(source: abs, recursive: rec)
            op.data = op.data.filter { $0.value == nil && ["sync", "dirsync"].contains($0.key) ? false : true }
            if op.tmpcopyup { throw SwrunError.config("\(field).options: tmpcopyup applies to tmpfs mounts only") }
            return op
        }
        if op.idmap != nil { throw SwrunError.config("\(field): id-mapped mounts are only supported for bind mounts") }
        guard !type.isEmpty else { throw SwrunError.config("\(field).type: required for a non-bind mount") }
        if type == "cgroup" || type == "cgroup2" {
            op.kind = .cgroup
            return op
        }
        if op.tmpcopyup && type != "tmpfs" {
            throw SwrunError.config("\(field).options: tmpcopyup applies to tmpfs mounts only")
        }
        op.kind = .filesystem(type: type, source: m.source ?? type)
        return op
    }

    /// mounts[].uidMappings/gidMappings: both or neither (runc), each range non-empty and
    /// within 32 bits; mappings without idmap/ridmap mean idmap (runc).
    static func idMaps(_ m: OCISpec.Mount, field: String, _ op: inout MountOp) throws(SwrunError) {
        guard m.uidMappings != nil || m.gidMappings != nil else { return }
        func ranges(_ list: [IDMapping]?, _ name: String) throws(SwrunError) -> [IDRange] {
            var out: [IDRange] = []
            for (i, r) in (list ?? []).enumerated() {
                guard r.size > 0 else { throw SwrunError.config("\(field).\(name)[\(i)].size: must be greater than 0") }
                guard UInt64(r.containerID) + UInt64(r.size) <= 1 << 32, UInt64(r.hostID) + UInt64(r.size) <= 1 << 32
                else {
                    throw SwrunError.config("\(field).\(name)[\(i)]: range overflows 32-bit ids")
                }
                out.append(IDRange(containerID: r.containerID, hostID: r.hostID, size: r.size))
            }
            return out
        }
        let uids = try ranges(m.uidMappings, "uidMappings"), gids = try ranges(m.gidMappings, "gidMappings")
        guard !uids.isEmpty, !gids.isEmpty else {
            throw SwrunError.config("\(field): id-mapped mounts must have both uid and gid mappings specified")
        }
        op.idmap = MountIDMap(recursive: op.idmap?.recursive ?? false, uids: uids, gids: gids)
    }

    /// Lexical clean-up of an absolute path ("//a/./b/" -> "/a/b"); ".." cannot climb above "/".
    /// By bytes: String.split walks grapheme clusters, and every mount and path in the
    /// rootfs goes through here.
    public static func normalize(_ path: String) -> String {
        let b = Array(path.utf8)
        var out: [UInt8] = [UInt8(ascii: "/")]
        out.reserveCapacity(b.count + 1)
        var i = 0
        while i < b.count {
            while i < b.count, b[i] == UInt8(ascii: "/") { i += 1 }
            let start = i
            while i < b.count, b[i] != UInt8(ascii: "/") { i += 1 }
            let n = i - start
            if n == 0 || (n == 1 && b[start] == UInt8(ascii: ".")) { continue }
            if n == 2 && b[start] == UInt8(ascii: ".") && b[start + 1] == UInt8(ascii: ".") {
                // Drop the last component (never the leading "/").
                while out.count > 1, out[out.count - 1] != UInt8(ascii: "/") { out.removeLast() }
                if out.count > 1 { out.removeLast() }
                continue
            }
            if out.count > 1 { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: b[start..<i])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
