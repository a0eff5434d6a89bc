import SwrunSys

/// process.cwd, entered safely (CVE-2024-21626 "Leaky Vessels"): runc chdir'd to a path
/// while it still held host fds, so cwd "/proc/self/fd/N" put the container's process in a
/// host directory. Here the path is resolved inside the container's root without magic
/// links, entered with fchdir before the identity switch (as runc's first chdir attempt) and
/// before seccomp (a profile need not allow openat2), and the result is checked to be below
/// the root.
enum WorkingDirectory {
    static func enter(_ cwd: String) throws(SwrunError) {
        let failure = "chdir to cwd (\(Quote.short(cwd))) set in config.json failed"
        let root = try SafePath(rootPath: "/")
        let dir: OwnedFD
        do {
            dir = try Files.openat2(
                root.root.raw, cwd, OpenFlags.path | OpenFlags.directory, resolve: Resolve.inRoot | Resolve.noMagicLinks
            )
        } catch {
            throw SwrunError(.system, "\(failure): \(Errno.text(error.errno))")
        }
        do { try Files.fchdir(dir.raw, display: cwd) } catch {
            throw SwrunError(.system, "\(failure): \(Errno.text(error.errno))")
        }
        // getcwd fails (ENOENT) or answers "(unreachable)..." for a directory outside the root.
        guard let now = try? Files.getcwd(), now.startsWithBytes("/") else {
            throw SwrunError(
                .system, "\(failure): current working directory is outside of container mount namespace root")
        }
    }
}
