import OCISpec
import SwrunSys

/// /proc/self/mountinfo, read by bytes: cgroup discovery parses it at every create, and the
/// rootfs sequence looks up mount points in it.
public enum MountInfo {
    /// The next non-empty run of `b` between `separator` bytes, from `i` (moved past it).
    static func nextWord(_ b: ArraySlice<UInt8>, _ i: inout Int, separator: UInt8) -> ArraySlice<UInt8>? {
        while i < b.endIndex, b[i] == separator { i += 1 }
        let start = i
        while i < b.endIndex, b[i] != separator { i += 1 }
        return i > start ? b[start..<i] : nil
    }

    /// The `n`th non-empty run of `b` between `separator` bytes, without collecting the others.
    static func word(_ b: ArraySlice<UInt8>, _ n: Int, separator: UInt8) -> ArraySlice<UInt8>? {
        var i = b.startIndex
        for _ in 0..<n {
            if nextWord(b, &i, separator: separator) == nil { return nil }
        }
        return nextWord(b, &i, separator: separator)
    }

    /// The non-empty runs of `b` between `separator` bytes.
    static func words(_ b: ArraySlice<UInt8>, separator: UInt8) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = b.startIndex
        while let w = nextWord(b, &i, separator: separator) { out.append(w) }
        return out
    }

    static func unescape(_ s: String) -> String {
        guard s.utf8.contains(UInt8(ascii: "\\")) else { return s }
        return s.replacingAll("\\040", with: " ").replacingAll("\\011", with: "\t").replacingAll("\\012", with: "\n")
            .replacingAll("\\134", with: "\\")
    }

    /// Calls `body` with each line of a mountinfo text split at its " - " separator: the
    /// fields before it (id, parent, major:minor, root, mount point, options, optional
    /// fields) and after it (type, source, super options). Mount points escape spaces as
    /// \\040, so " - " is only ever the separator.
    static func forEachLine(_ text: String, _ body: (ArraySlice<UInt8>, ArraySlice<UInt8>) -> Void) {
        ByteText.forEachLine(Array(text.utf8)) { line in
            var i = line.startIndex
            while i + 2 < line.endIndex,
                !(line[i] == UInt8(ascii: " ") && line[i + 1] == UInt8(ascii: "-") && line[i + 2] == UInt8(ascii: " "))
            { i += 1 }
            if i + 2 < line.endIndex { body(line[line.startIndex..<i], line[(i + 3)...]) }
        }
    }
}
