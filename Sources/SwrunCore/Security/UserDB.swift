import OCISpec

/// /etc/passwd and /etc/group of the *container*, parsed by hand: a static binary must never
/// use NSS, and the host's databases say nothing about the container's users.
public struct PasswdEntry: Equatable, Sendable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String

    public init(name: String, uid: UInt32, gid: UInt32, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }
}

public struct GroupEntry: Equatable, Sendable {
    public var name: String
    public var gid: UInt32
    public var members: [String]
}

public enum UserDB {
    // By bytes: `list` parses the host's /etc/passwd for its owner column, and String
    // splitting walks grapheme clusters (~45k instructions per line).
    public static func parsePasswd(_ text: String) -> [PasswdEntry] {
        var out: [PasswdEntry] = []
        forEachRecord(text) { f in
            guard f.count >= 7, let uid = decimal(f[2]), let gid = decimal(f[3]) else { return }
            out.append(
                PasswdEntry(
                    name: String(decoding: f[0], as: UTF8.self), uid: uid, gid: gid,
                    home: String(decoding: f[5], as: UTF8.self)))
        }
        return out
    }

    public static func parseGroup(_ text: String) -> [GroupEntry] {
        var out: [GroupEntry] = []
        forEachRecord(text) { f in
            guard f.count >= 4, let gid = decimal(f[2]) else { return }
            let members = f[3].split(separator: UInt8(ascii: ",")).map { String(decoding: $0, as: UTF8.self) }
            out.append(GroupEntry(name: String(decoding: f[0], as: UTF8.self), gid: gid, members: members))
        }
        return out
    }

    /// The colon-separated fields of each line that is neither empty nor a comment.
    static func forEachRecord(_ text: String, _ body: ([ArraySlice<UInt8>]) -> Void) {
        ByteText.forEachLine(Array(text.utf8)) { line in
            if let first = line.first, first != UInt8(ascii: "#") {
                body(line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false))
            }
        }
    }

    /// A decimal uid or gid: digits only, at most UInt32.max (as UInt32(String) accepts).
    static func decimal(_ f: ArraySlice<UInt8>) -> UInt32? {
        guard !f.isEmpty, f.count <= 10 else { return nil }
        var v: UInt64 = 0
        for c in f {
            guard c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v <= UInt64(UInt32.max) ? UInt32(v) : nil
    }
}
