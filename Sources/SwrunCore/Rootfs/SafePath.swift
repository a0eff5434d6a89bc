import SwrunSys

/// Paths inside a container's rootfs, resolved only through file descriptors: openat2 with
/// RESOLVE_IN_ROOT (symlinks cannot leave the root) and mkdirat/openat relative to a resolved
/// parent fd (a racing rename cannot redirect a create to the host: CVE-2024-45310 and kin).
public struct SafePath {
    public let root: OwnedFD
    public let rootPath: String

    static let resolve = Resolve.inRoot | Resolve.noMagicLinks

    public init(rootPath: String) throws(SwrunError) {
        self.rootPath = rootPath
        root = try sys { try Files.open(rootPath, OpenFlags.path | OpenFlags.directory) }
    }

    func display(_ path: String) -> String { rootPath == "/" ? path : rootPath + path }

    /// Resolves `path` (absolute, within the root) to an O_PATH fd; nil if it does not exist.
    public func open(_ path: String, flags: Int32 = OpenFlags.path) throws(SwrunError) -> OwnedFD? {
        do {
            return try Files.openat2(root.raw, path, flags, resolve: Self.resolve, display: display(path))
        } catch  where error.errno == Errno.ENOENT {
            return nil
        } catch {
            throw SwrunError.system(error)
        }
    }

    /// mkdir -p inside the root; returns an O_PATH fd of the final directory.
    public func mkdirAll(_ path: String, mode: UInt32 = 0o755) throws(SwrunError) -> OwnedFD {
        try mkdirAll(path, mode: mode, depth: 0)
    }

    func mkdirAll(_ path: String, mode: UInt32, depth: Int) throws(SwrunError) -> OwnedFD {
        guard depth < 40 else { throw SwrunError(.system, "mkdir \(display(path)): too many levels of symbolic links") }
        if let fd = try open(path, flags: OpenFlags.path | OpenFlags.directory) { return fd }
        var current = try sys { try Files.openat(root.raw, ".", OpenFlags.path | OpenFlags.directory) }
        var prefix = ""
        for comp in path.split(separator: "/") where comp != "." {
            prefix.append("/")
            prefix.append(contentsOf: comp) // (String + Substring is the unspecialized generic +)
            if let next = try open(prefix, flags: OpenFlags.path | OpenFlags.directory) {
                current = next
                continue
            }
            do {
                try Files.mkdirat(current.raw, String(comp), mode: mode, display: display(prefix))
            } catch  where error.errno == Errno.EEXIST {
                // Lost a race with another creator, or a dangling symlink: then its target is
                // created, resolved inside the root as the kernel would resolve it.
                if let target = try? Files.readlinkat(current.raw, String(comp)) {
                    let parent = String(prefix.dropLast(comp.count + 1))
                    let resolved = MountPlan.normalize(target.startsWithBytes("/") ? target : parent + "/" + target)
                    _ = try mkdirAll(resolved, mode: mode, depth: depth + 1)
                }
            } catch {
                throw SwrunError.system(error)
            }
            guard let next = try open(prefix, flags: OpenFlags.path | OpenFlags.directory) else {
                throw SwrunError(.system, "mkdir \(display(prefix)): vanished after creation")
            }
            current = next
        }
        return current
    }

    /// Creates an empty regular file (a bind mount target for a file source) unless something
    /// already exists there; returns an O_PATH fd of it.
    public func createFile(_ path: String) throws(SwrunError) -> OwnedFD {
        if let fd = try open(path) { return fd }
        let (dir, base) = Self.split(path)
        let parent = try mkdirAll(dir)
        do {
            _ = try Files.openat(
                parent.raw, base, OpenFlags.writeOnly | OpenFlags.create | OpenFlags.exclusive | OpenFlags.noFollow,
                mode: 0o644, display: display(path))
        } catch  where error.errno == Errno.EEXIST {
        } catch {
            throw SwrunError.system(error)
        }
        guard let fd = try open(path) else {
            throw SwrunError(.system, "create \(display(path)): vanished after creation")
        }
        return fd
    }

    public static func split(_ path: String) -> (String, String) {
        let norm = MountPlan.normalize(path)
        guard let slash = norm.lastIndex(of: "/") else { return ("/", norm) }
        let dir = String(norm[..<slash])
        return (dir.isEmpty ? "/" : dir, String(norm[norm.index(after: slash)...]))
    }
}
