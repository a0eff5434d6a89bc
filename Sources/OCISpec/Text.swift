/// The two substring operations the runtime needs, by bytes. (The runtime leaves out the
/// _StringProcessing module, whose generic `replacing`/`contains` bring the Regex engine
/// and its conformance records into the static binary.)
extension StringProtocol {
    /// Every occurrence of `target` replaced by `replacement`.
    public func replacingAll(_ target: String, with replacement: String) -> String {
        let hay = Array(utf8), needle = Array(target.utf8)
        guard !needle.isEmpty, hay.count >= needle.count else { return String(self) }
        var out: [UInt8] = []
        out.reserveCapacity(hay.count)
        var i = 0
        while i < hay.count {
            if i + needle.count <= hay.count, hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) {
                out += replacement.utf8
                i += needle.count
            } else {
                out.append(hay[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `target` occurs in the string.
    public func containsText(_ target: String) -> Bool {
        let hay = Array(utf8), needle = Array(target.utf8)
        return hay.withUnsafeBufferPointer { h in needle.withUnsafeBufferPointer { n in textOccurs(n, in: h) } }
    }
}

extension String {
    /// As StringProtocol's, without copying a native string's bytes (`list` asks this of
    /// every cgroup path of every container).
    @inlinable
    public func containsText(_ target: String) -> Bool {
        var hay = self, needle = target
        return hay.withUTF8 { h in needle.withUTF8 { n in textOccurs(n, in: h) } }
    }
}

@usableFromInline
func textOccurs(_ needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let first = needle.first else { return true }
    let n = needle.count
    guard hay.count >= n else { return false }
    var i = 0
    while i <= hay.count - n {
        if hay[i] == first {
            var k = 1
            while k < n, hay[i + k] == needle[k] { k += 1 }
            if k == n { return true }
        }
        i += 1
    }
    return false
}

extension Array where Element == String {
    /// `joined(separator:)` without the stdlib's unspecialized generic path, whose first call
    /// resolves associated types through the runtime (~90k instructions in every process
    /// that calls it; measured with callgrind).
    public func joinedText(_ separator: String = "") -> String {
        var out = ""
        for (i, part) in enumerated() {
            if i > 0 { out.append(separator) }
            out.append(part)
        }
        return out
    }
}

extension StringProtocol {
    /// `hasPrefix` by bytes, as Go's strings.HasPrefix. The standard library's also checks
    /// that the prefix ends on a Character boundary: grapheme-breaking code, a 64 KB stretch
    /// of its text that the start path needs for nothing else (docs/performance.md).
    /// Inlinable: specialized for String and Substring where it is called.
    @inlinable public func startsWithBytes(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }
}

/// Byte-level helpers for kernel files and small text databases: walking a String by
/// Character (grapheme clusters) cost tens of thousands of instructions per line.
public enum ByteText {
    /// Calls `body` with each line of `b`, without its newline.
    public static func forEachLine(_ b: [UInt8], _ body: (ArraySlice<UInt8>) -> Void) {
        var start = 0
        while start < b.count {
            var end = start
            while end < b.count, b[end] != UInt8(ascii: "\n") { end += 1 }
            body(b[start..<end])
            start = end + 1
        }
    }

    /// Whether `needle` occurs in `hay`.
    public static func contains(_ needle: StaticString, in hay: ArraySlice<UInt8>) -> Bool {
        needle.withUTF8Buffer { n in hay.withUnsafeBufferPointer { h in textOccurs(n, in: h) } }
    }
}
