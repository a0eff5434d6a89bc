/// config.json's ociVersion against what this build implements (`features`:
/// ociVersionMin 1.0.0, ociVersionMax 1.2.0). A config written for a newer minor version may
/// hold fields this build would not know to apply; a patch release adds none.
enum OCIVersion {
    static let minimum = (1, 0)
    static let maximum = (1, 2)

    static func check(_ v: String) throws(SwrunError) {
        // SemVer: MAJOR.MINOR.PATCH, then an optional -pre-release or +build.
        let core =
            v.split(separator: "-", maxSplits: 1).first.map { $0.split(separator: "+", maxSplits: 1).first ?? $0 } ?? ""
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 9 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let major = Int(parts[0]), let minor = Int(parts[1])
        else {
            throw SwrunError.config("ociVersion: \(Quote.short(v)) is not a version (MAJOR.MINOR.PATCH)")
        }
        if (major, minor) < minimum || (major, minor) > maximum {
            throw SwrunError.config(
                "ociVersion: \(Quote.short(v)) is outside what this swrun supports (1.0.0 to 1.2.x, as `swrun features` says)"
            )
        }
    }
}
