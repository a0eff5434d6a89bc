/// config.json's ociVersion against what this build implements (`features`:
/// ociVersionMin 1.0.0, ociVersionMax 1.2.0). A config written for a newer minor version may
/// hold fields this build would not know to apply; a patch release adds none.
public enum OCIVersion {
    static let minimum = (1, 0)
    static let maximum = (1, 2)

    public static func check(_ v: String) throws(SwrunError) {
        // SemVer: MAJOR.MINOR.PATCH, then an optional -pre-release or +build. By bytes: every
        // create checks it, and Character splits map more of the standard library's text.
        let bytes = Array(v.utf8)
        let end = bytes.firstIndex { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") } ?? bytes.endIndex
        var parts: [Int] = []
        var n = 0, digits = 0
        for c in bytes[..<end] + [UInt8(ascii: ".")] {
            if c == UInt8(ascii: ".") {
                guard digits > 0 else { parts = []; break }
                parts.append(n)
                n = 0
                digits = 0
            } else if c >= 0x30 && c <= 0x39, digits < 9 {
                n = n * 10 + Int(c - 0x30)
                digits += 1
            } else {
                parts = []
                break
            }
        }
        guard parts.count == 3 else {
            throw SwrunError.config("ociVersion: \(Quote.short(v)) is not a version (MAJOR.MINOR.PATCH)")
        }
        let major = parts[0], minor = parts[1]
        if (major, minor) < minimum || (major, minor) > maximum {
            throw SwrunError.config(
                "ociVersion: \(Quote.short(v)) is outside what this swrun supports (1.0.0 to 1.2.x, as `swrun features` says)"
            )
        }
    }
}
