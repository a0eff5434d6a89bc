/// `swrun check`'s decode of config.json: the same reader and mapper as create's
/// (decodeSpecFast), run so that every field that fails is reported rather than the first,
/// with the keys the mapper never asked for (fields swrun does not know, misspellings).
public struct SpecDiagnosis: Sendable {
    /// The config as create would see it once the failing fields were removed; nil when the
    /// document cannot be read at all (a JSON syntax error, a top level that is not an object).
    public var spec: Spec?
    /// Each field that failed to decode, with its path ("process.args: expected an array").
    public var errors: [SpecError] = []
    /// The paths of those fields: checks of what they hold would repeat the error.
    public var failedPaths: [String] = []
    /// Keys no field of swrun's model matches: (path, the key's nearest known spelling).
    public var unknownFields: [(path: String, suggestion: String?)] = []
}

/// What SpecMapper records while `check` decodes (SpecMapper.collector).
final class DecodeCollector {
    /// An error already recorded, thrown to make the enclosing field absent without
    /// recording it twice.
    struct Recorded: Error {}

    /// One object's keys and which of them the mapper asked for.
    final class Keys {
        let path: String
        let keys: [String]
        var used: [Bool]
        var names: [String] = []

        init(path: String, keys: [String]) {
            self.path = path
            self.keys = keys
            used = Array(repeating: false, count: keys.count)
        }

        func asked(_ name: String) {
            names.append(name)
            for (i, k) in keys.enumerated() where Obj.goFieldMatch(k, name) { used[i] = true }
        }
    }

    var errors: [SpecError] = []
    var failed: [String] = []
    var objects: [Keys] = []

    func record(_ error: any Error, at path: String) {
        failed.append(path)
        if error is Recorded { return }
        errors.append(error as? SpecError ?? SpecError("\(path): \(error)"))
    }

    func object(_ path: String, keys: [String]) -> Keys {
        let k = Keys(path: path, keys: keys)
        objects.append(k)
        return k
    }
}

extension SpecLoader {
    /// Decodes config.json as create does, but collecting: see SpecDiagnosis.
    public static func diagnose(_ bytes: [UInt8]) -> SpecDiagnosis {
        var d = SpecDiagnosis()
        let tree: JValue
        do { tree = try JSONReader.parse(bytes) } catch {
            d.errors = [error]
            d.failedPaths = [""]
            return d
        }
        let c = DecodeCollector()
        SpecMapper.collector = c
        defer { SpecMapper.collector = nil }
        do { d.spec = try SpecMapper.spec(Node(v: tree, path: "")) } catch {
            c.record(error, at: "")
        }
        d.errors = c.errors
        d.failedPaths = c.failed
        for o in c.objects where !c.failed.contains(where: { isWithin(o.path, $0) }) {
            for (i, key) in o.keys.enumerated() where !o.used[i] {
                let path = o.path.isEmpty ? key : o.path + "." + key
                d.unknownFields.append((path, nearest(key, in: o.names)))
            }
        }
        return d
    }

    /// `path` is `prefix` or a field below it ("a.b[2]" is within "a.b" and "a").
    public static func isWithin(_ path: String, _ prefix: String) -> Bool {
        if prefix.isEmpty || path == prefix { return true }
        guard path.utf8.count > prefix.utf8.count, path.hasPrefix(prefix) else { return false }
        let next = path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: prefix.utf8.count)]
        return next == UInt8(ascii: ".") || next == UInt8(ascii: "[")
    }

    /// The known name closest to a misspelled key (at most a third of its letters off).
    static func nearest(_ key: String, in names: [String]) -> String? {
        let k = Array(key.lowercased().utf8)
        var best: (String, Int)?
        for n in names {
            let d = distance(k, Array(n.lowercased().utf8))
            if d <= max(1, k.count / 3), d < (best?.1 ?? Int.max) { best = (n, d) }
        }
        return best?.0
    }

    /// Levenshtein distance of two byte strings.
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }
}
