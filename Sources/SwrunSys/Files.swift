import CSwrun
import Glibc

/// An owned file descriptor: closed when the last reference goes away, unless released.
public final class OwnedFD {
    public private(set) var raw: Int32

    public init(_ raw: Int32) { self.raw = raw }

    deinit { if raw >= 0 { Glibc.close(raw) } }

    /// Gives up ownership: the caller closes the descriptor.
    public func release() -> Int32 {
        let r = raw
        raw = -1
        return r
    }

    public func close() {
        if raw >= 0 { Glibc.close(raw) }
        raw = -1
    }
}

public struct FileStat: Sendable {
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let size: Int64
    public let rdev: UInt64
    public let dev: UInt64
    public let ino: UInt64

    init(_ st: stat) {
        mode = st.st_mode
        uid = st.st_uid
        gid = st.st_gid
        size = Int64(st.st_size)
        rdev = UInt64(st.st_rdev)
        dev = UInt64(st.st_dev)
        ino = UInt64(st.st_ino)
    }

    public var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
    public var isRegular: Bool { mode & S_IFMT == S_IFREG }
    public var isSymlink: Bool { mode & S_IFMT == S_IFLNK }
    public var isCharDevice: Bool { mode & S_IFMT == S_IFCHR }
    public var isFIFO: Bool { mode & S_IFMT == S_IFIFO }
    public var isSocket: Bool { mode & S_IFMT == S_IFSOCK }
    public var permissions: UInt32 { mode & 0o7777 }
}

public enum OpenFlags {
    public static let readOnly = O_RDONLY
    public static let writeOnly = O_WRONLY
    public static let readWrite = O_RDWR
    public static let create = O_CREAT
    public static let exclusive = O_EXCL
    public static let truncate = O_TRUNC
    public static let append = O_APPEND
    public static let directory = O_DIRECTORY
    public static let noFollow = O_NOFOLLOW
    public static let cloexec = O_CLOEXEC
    public static let nonBlock = O_NONBLOCK
    public static let path = SWRUN_O_PATH
}

public enum Resolve {
    public static let inRoot = SWRUN_RESOLVE_IN_ROOT
    public static let noSymlinks = SWRUN_RESOLVE_NO_SYMLINKS
    public static let noMagicLinks = SWRUN_RESOLVE_NO_MAGICLINKS
    public static let noXdev = SWRUN_RESOLVE_NO_XDEV
    public static let beneath = SWRUN_RESOLVE_BENEATH
}

public enum Files {
    public static let atCWD = AT_FDCWD

    public static func open(_ path: String, _ flags: Int32, mode: UInt32 = 0o644) throws(SyscallError) -> OwnedFD {
        let fd = try check("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return OwnedFD(fd)
    }

    public static func openat(
        _ dir: Int32, _ path: String, _ flags: Int32, mode: UInt32 = 0o644, display: @autoclosure () -> String? = nil
    ) throws(SyscallError) -> OwnedFD {
        let fd = try check("open", display() ?? path) { Glibc.openat(dir, path, flags | O_CLOEXEC, mode) }
        return OwnedFD(fd)
    }

    /// openat2(2): the only way swrun resolves a path inside a container's rootfs.
    public static func openat2(
        _ dir: Int32, _ path: String, _ flags: Int32, mode: UInt32 = 0, resolve: UInt64,
        display: @autoclosure () -> String? = nil
    ) throws(SyscallError) -> OwnedFD {
        let fd = try check("openat2", display() ?? path) {
            swrun_openat2(dir, path, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(mode), resolve)
        }
        return OwnedFD(fd)
    }

    /// Reads to end-of-file straight into the result (no zero-filled scratch buffer: most
    /// files read here are small control files).
    public static func readAll(fd: Int32, path: String = "") throws(SyscallError) -> [UInt8] {
        var out: [UInt8] = []
        var capacity = 4096
        while true {
            let (chunk, readError) = readChunk(fd, max: capacity)
            if readError != 0 { throw SyscallError("read", path, errno: readError) }
            if chunk.isEmpty { return out }
            out += chunk
            capacity = min(capacity * 2, 1 << 20)
        }
    }

    /// One read(2) of up to `max` bytes into a fresh array (no zero-filling): (bytes, errno).
    static func readChunk(_ fd: Int32, max: Int) -> ([UInt8], Int32) {
        var readError: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: max) { buf, count in
            while true {
                let n = Glibc.read(fd, buf.baseAddress!, max)
                if n < 0 && Glibc.errno == Glibc.EINTR { continue }
                if n < 0 { readError = Glibc.errno; count = 0 } else { count = n }
                break
            }
        }
        return (bytes, readError)
    }

    /// A small kernel-generated file (/proc/<pid>/stat, a cgroup's freezer.state) or one of
    /// swrun's own state files: one read of up to `max` bytes; a file that fills it is read
    /// to its end. Saves the second, empty read(2) of readFile (list does thousands).
    public static func readSmall(_ path: String, max: Int = 8192) throws(SyscallError) -> [UInt8] {
        try readSmallAt(AT_FDCWD, path, max: max)
    }

    /// readSmall of `name` relative to the directory `dir`.
    public static func readSmallAt(_ dir: Int32, _ name: String, max: Int = 8192) throws(SyscallError) -> [UInt8] {
        let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max)
        defer { scratch.deallocate() }
        return try readSmallAt(dir, name, scratch: scratch)
    }

    /// readSmallAt through `scratch`, reused from call to call: one allocation of the
    /// file's exact size instead of one of `max` bytes per file (`list` reads thousands).
    public static func readSmallAt(_ dir: Int32, _ name: String, scratch: UnsafeMutableBufferPointer<UInt8>)
        throws(SyscallError) -> [UInt8]
    {
        let fd = try openat(dir, name, O_RDONLY)
        var n: Int
        repeat { n = Glibc.read(fd.raw, scratch.baseAddress!, scratch.count) } while n < 0 && Glibc.errno == Glibc.EINTR
        if n < 0 { throw SyscallError("read", name, errno: Glibc.errno) }
        let first = Array(UnsafeBufferPointer(rebasing: scratch[0..<n]))
        if n < scratch.count { return first }
        return first + (try readAll(fd: fd.raw, path: name))
    }

    public static func existsAt(_ dir: Int32, _ name: String) -> Bool { faccessat(dir, name, F_OK, 0) == 0 }

    public static func readFile(_ path: String) throws(SyscallError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        return try readAll(fd: fd.raw, path: path)
    }

    /// A regular file, whole, of at most `max` bytes, relative to `dir`. Anything else is
    /// refused before a byte is read: a FIFO (opened O_NONBLOCK, so the open cannot wait for
    /// a writer), a device such as /dev/zero (which never ends), a directory, or a file
    /// larger than `max` (read to `max + 1` at most: a file that grows is caught too).
    public static func readRegular(
        _ path: String, max: Int, at dir: Int32 = AT_FDCWD, display: @autoclosure () -> String? = nil
    ) throws(SyscallError) -> [UInt8] {
        let shown = display() ?? path
        let fd = try check("open", shown) { Glibc.openat(dir, path, regularReadFlags) }
        return try readRegular(fd: OwnedFD(fd), max: max, display: shown)
    }

    /// The flags to open a file that readRegular(fd:) will read.
    public static let regularReadFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC

    /// readRegular of an open descriptor (opened with `regularReadFlags`).
    public static func readRegular(fd owned: OwnedFD, max: Int, display shown: String) throws(SyscallError) -> [UInt8] {
        let st = try fstat(owned.raw, display: shown)
        guard st.isRegular else { throw SyscallError("read", shown, errno: Glibc.EINVAL, reason: "not a regular file") }
        guard st.size <= Int64(max) else {
            throw SyscallError("read", shown, errno: Glibc.EFBIG, reason: "larger than \(max) bytes")
        }
        var out: [UInt8] = []
        while out.count <= max {
            let (chunk, readError) = readChunk(owned.raw, max: Swift.min(65536, max + 1 - out.count))
            if readError != 0 { throw SyscallError("read", shown, errno: readError) }
            if chunk.isEmpty { return out }
            out += chunk
        }
        throw SyscallError("read", shown, errno: Glibc.EFBIG, reason: "larger than \(max) bytes")
    }

    /// An input file named on the command line (`exec --process`, `update --resources`):
    /// a regular file, or a pipe, FIFO or socket (`--process /dev/stdin`), read to its end
    /// but not past `max` bytes. Devices (/dev/zero, /dev/urandom never end) and anything
    /// else are refused. A FIFO is opened O_NONBLOCK, so that the open cannot wait for a
    /// writer; with no writer it reads as empty.
    public static func readInput(_ path: String, max: Int) throws(SyscallError) -> [UInt8] {
        let fd = try check("open", path) { Glibc.openat(AT_FDCWD, path, regularReadFlags) }
        let owned = OwnedFD(fd)
        let st = try fstat(owned.raw, display: path)
        if st.isRegular { return try readRegular(fd: owned, max: max, display: path) }
        let type = st.mode & S_IFMT
        guard type == S_IFIFO || type == S_IFSOCK else {
            throw SyscallError("read", path, errno: Glibc.EINVAL, reason: "not a regular file, a pipe or a socket")
        }
        let flags = try check("fcntl", path) { fcntl(owned.raw, F_GETFL) }
        _ = try check("fcntl", path) { fcntl(owned.raw, F_SETFL, flags & ~O_NONBLOCK) }
        return try readAll(fd: owned.raw, max: max, display: path)
    }

    /// At most `max` bytes from a stream (stdin for `--process -`), refused when longer.
    public static func readAll(fd: Int32, max: Int, display shown: String) throws(SyscallError) -> [UInt8] {
        var out: [UInt8] = []
        while out.count <= max {
            let (chunk, readError) = readChunk(fd, max: Swift.min(65536, max + 1 - out.count))
            if readError != 0 { throw SyscallError("read", shown, errno: readError) }
            if chunk.isEmpty { return out }
            out += chunk
        }
        throw SyscallError("read", shown, errno: Glibc.EFBIG, reason: "larger than \(max) bytes")
    }

    public static func readString(_ path: String) throws(SyscallError) -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    public static func writeAll(fd: Int32, _ bytes: [UInt8], path: @autoclosure () -> String = "") throws(SyscallError)
    {
        var off = 0
        while off < bytes.count {
            let n = try check("write", path()) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            }
            off += n
        }
    }

    public static func writeAll(fd: Int32, _ s: String, path: @autoclosure () -> String = "") throws(SyscallError) {
        try writeAll(fd: fd, Array(s.utf8), path: path())
    }

    /// Writes a small control file (cgroup, procfs) in one write(2), as the kernel expects.
    public static func writeFile(_ path: String, _ s: String, flags: Int32 = O_WRONLY | O_TRUNC) throws(SyscallError) {
        let fd = try open(path, flags)
        try writeAll(fd: fd.raw, s, path: path)
    }

    public static func writeFileAt(_ dir: Int32, _ name: String, _ s: String, display: @autoclosure () -> String)
        throws(SyscallError)
    {
        let fd = try openat(dir, name, O_WRONLY | O_TRUNC, display: display())
        try writeAll(fd: fd.raw, s, path: display())
    }

    /// Creates `path` (which must not exist) and writes `bytes` to it.
    public static func writeNew(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600) throws(SyscallError) {
        let fd = try open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: mode)
        try writeAll(fd: fd.raw, bytes, path: path)
        fd.close()
    }

    /// Writes `path` atomically: a temporary file in the same directory, renamed over. Readers
    /// see the old or the new content, never a mix. No fsync: runtime state lives on tmpfs
    /// (/run) and does not outlive a reboot, and an fsync costs more than a whole `state`.
    public static func writeAtomic(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600, uniqueTemp: Bool = false)
        throws(SyscallError)
    {
        let tmp = path + (uniqueTemp ? ".tmp.\(Glibc.getpid())" : ".tmp")
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        try writeAll(fd: fd.raw, bytes, path: tmp)
        fd.close()
        _ = try check("rename", tmp) { Glibc.rename(tmp, path) }
    }

    /// Puts `bytes` at `path` by rename, as runc writes a pid file, but only over a regular
    /// file or nothing: a device node, a FIFO, a socket, a directory or a symlink there is
    /// refused, never replaced (`--pid-file /dev/full` must not turn the host's device into
    /// a file). The temporary file is created O_EXCL|O_NOFOLLOW beside it.
    public static func replaceRegular(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws(SyscallError) {
        try checkReplaceable(path)
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let tmp = (dir.isEmpty ? "" : dir) + "/." + base + ".tmp-" + String(Glibc.getpid())
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        do {
            try writeAll(fd: fd.raw, bytes, path: tmp)
            fd.close()
            try checkReplaceable(path)
            _ = try check("rename", tmp) { Glibc.rename(tmp, path) }
        } catch {
            Glibc.unlink(tmp)
            throw error
        }
    }

    /// Nothing at `path`, or a regular file (not followed through a symlink).
    public static func checkReplaceable(_ path: String) throws(SyscallError) {
        var st = Glibc.stat()
        if Glibc.lstat(path, &st) != 0 {
            let e = Glibc.errno
            if e == Glibc.ENOENT { return }
            throw SyscallError("stat", path, errno: e)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw SyscallError("write", path, errno: Glibc.EEXIST, reason: "exists and is not a regular file")
        }
    }

    public static func stat(_ path: String) throws(SyscallError) -> FileStat {
        var st = Glibc.stat()
        _ = try check("stat", path) { swrun_stat(path, &st) }
        return FileStat(st)
    }

    public static func lstat(_ path: String) throws(SyscallError) -> FileStat {
        var st = Glibc.stat()
        _ = try check("lstat", path) { Glibc.lstat(path, &st) }
        return FileStat(st)
    }

    public static func fstat(_ fd: Int32, display: @autoclosure () -> String = "") throws(SyscallError) -> FileStat {
        var st = Glibc.stat()
        _ = try check("fstat", display()) { Glibc.fstat(fd, &st) }
        return FileStat(st)
    }

    public static func fstatat(
        _ dir: Int32, _ name: String, followSymlinks: Bool = false, display: @autoclosure () -> String? = nil
    ) throws(SyscallError) -> FileStat {
        var st = Glibc.stat()
        let flags = (followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW) | (name.isEmpty ? Int32(SWRUN_AT_EMPTY_PATH) : 0)
        _ = try check("stat", display() ?? name) { Glibc.fstatat(dir, name, &st, flags) }
        return FileStat(st)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// Whether this process may write `path` (create in it, for a directory), with its
    /// effective ids and capabilities (faccessat AT_EACCESS): a read-only mount answers
    /// EROFS, another user's directory EACCES. 0 when writable, else the errno.
    public static func writeAccess(_ path: String) -> Int32 {
        if faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0 { return 0 }
        return Glibc.errno
    }

    /// Whether execve would accept `path` for this process: with its effective ids and
    /// capabilities (faccessat AT_EACCESS), as Go's exec.LookPath asks. access(2) asks for the
    /// real ids without capabilities, and refused a file that only CAP_DAC_OVERRIDE lets the
    /// process execute.
    /// Where faccessat2(2) is refused (a seccomp profile without it, an old kernel), any
    /// execute bit will do, as Go's syscall.Faccessat falls back.
    public static func isExecutableByUs(_ path: String) -> Bool {
        if faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0 { return true }
        let e = Glibc.errno
        guard e == Glibc.EPERM || e == Glibc.ENOSYS, let st = try? stat(path) else { return false }
        return st.isRegular && st.mode & 0o111 != 0
    }

    public static func mkdir(_ path: String, mode: UInt32 = 0o755) throws(SyscallError) {
        _ = try check("mkdir", path) { Glibc.mkdir(path, mode) }
    }

    public static func mkdirat(_ dir: Int32, _ name: String, mode: UInt32, display: @autoclosure () -> String)
        throws(SyscallError)
    {
        _ = try check("mkdir", display()) { Glibc.mkdirat(dir, name, mode) }
    }

    /// mkdir -p for host paths the runtime owns (state root, cgroup parents). Returns the
    /// directories it created, outermost first, so that a caller can record and undo them.
    /// The leaf is tried first: where the parents exist (nearly always) that is the only
    /// syscall.
    @discardableResult
    public static func mkdirAll(_ path: String, mode: UInt32 = 0o755) throws(SyscallError) -> [String] {
        var dir = path
        while dir.utf8.count > 1, dir.utf8.last == UInt8(ascii: "/") { dir.removeLast() }
        if dir.isEmpty || dir == "/" { return [] }
        if Glibc.mkdir(dir, mode) == 0 { return [dir] }
        let e = Glibc.errno
        if e == Glibc.EEXIST { return [] }
        guard e == Glibc.ENOENT, let slash = dir.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            throw SyscallError("mkdir", dir, errno: e)
        }
        let made = try mkdirAll(String(dir[..<slash]), mode: mode)
        if Glibc.mkdir(dir, mode) == 0 { return made + [dir] }
        if Glibc.errno == Glibc.EEXIST { return made }
        throw SyscallError("mkdir", dir, errno: Glibc.errno)
    }

    public static func mknodat(
        _ dir: Int32, _ name: String, mode: UInt32, dev: UInt64, display: @autoclosure () -> String
    ) throws(SyscallError) {
        _ = try check("mknod", display()) { Glibc.mknodat(dir, name, mode, dev_t(dev)) }
    }

    public static func mkfifo(_ path: String, mode: UInt32) throws(SyscallError) {
        _ = try check("mkfifo", path) { Glibc.mkfifo(path, mode) }
    }

    public static func symlinkat(_ target: String, _ dir: Int32, _ name: String, display: @autoclosure () -> String)
        throws(SyscallError)
    {
        _ = try check("symlink", display()) { Glibc.symlinkat(target, dir, name) }
    }

    public static func fchownat(
        _ dir: Int32, _ name: String, uid: UInt32, gid: UInt32, display: @autoclosure () -> String
    ) throws(SyscallError) {
        let flags = AT_SYMLINK_NOFOLLOW | (name.isEmpty ? Int32(SWRUN_AT_EMPTY_PATH) : 0)
        _ = try check("chown", display()) { Glibc.fchownat(dir, name, uid, gid, flags) }
    }

    /// Changes only the owner of an open file (the group stays).
    public static func fchown(_ fd: Int32, uid: UInt32) throws(SyscallError) {
        _ = try check("fchown") { Glibc.fchown(fd, uid, gid_t(bitPattern: -1)) }
    }

    public static func chmod(_ path: String, mode: UInt32) throws(SyscallError) {
        _ = try check("chmod", path) { Glibc.chmod(path, mode) }
    }

    public static func fchmod(_ fd: Int32, mode: UInt32, display: @autoclosure () -> String) throws(SyscallError) {
        _ = try check("chmod", display()) { Glibc.fchmod(fd, mode) }
    }

    public static func readlinkat(_ dir: Int32, _ name: String) throws(SyscallError) -> String {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = try check("readlink", name) { Glibc.readlinkat(dir, name, &buf, 4096) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func unlink(_ path: String) throws(SyscallError) {
        _ = try check("unlink", path) { Glibc.unlink(path) }
    }

    public static func rmdir(_ path: String) throws(SyscallError) {
        _ = try check("rmdir", path) { Glibc.rmdir(path) }
    }

    /// rm -rf of a runtime-owned directory (the state dir). Does not follow symlinks.
    public static func removeAll(_ path: String) throws(SyscallError) {
        let st: FileStat
        do { st = try lstat(path) } catch  where error.errno == Glibc.ENOENT { return }
        if st.isDirectory {
            for name in try listDirectory(path) { try removeAll(path + "/" + name) }
            try rmdir(path)
        } else {
            try unlink(path)
        }
    }

    public static func listDirectory(_ path: String) throws(SyscallError) -> [String] {
        guard let dir = opendir(path) else { throw SyscallError("opendir", path, errno: Glibc.errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func flock(_ fd: Int32, exclusive: Bool, display: @autoclosure () -> String) throws(SyscallError) {
        _ = try check("flock", display()) { swrun_flock(fd, exclusive ? LOCK_EX : LOCK_SH) }
    }

    public static func realpath(_ path: String) throws(SyscallError) -> String {
        guard let p = Glibc.realpath(path, nil) else { throw SyscallError("realpath", path, errno: Glibc.errno) }
        defer { free(p) }
        return String(cString: p)
    }

    public static func getcwd() throws(SyscallError) -> String {
        guard let p = Glibc.getcwd(nil, 0) else { throw SyscallError("getcwd", nil, errno: Glibc.errno) }
        defer { free(p) }
        return String(cString: p)
    }

    public static func chdir(_ path: String) throws(SyscallError) {
        _ = try check("chdir", path) { Glibc.chdir(path) }
    }

    public static func fchdir(_ fd: Int32, display: @autoclosure () -> String) throws(SyscallError) {
        _ = try check("chdir", display()) { Glibc.fchdir(fd) }
    }

    public static func chroot(_ path: String) throws(SyscallError) {
        _ = try check("chroot", path) { Glibc.chroot(path) }
    }

    public static func dup2(_ from: Int32, _ to: Int32) throws(SyscallError) {
        _ = try check("dup2") { Glibc.dup2(from, to) }
    }

    /// Marks every fd >= first close-on-exec (close_range CLOSE_RANGE_CLOEXEC).
    public static func markCloexec(from first: Int32) throws(SyscallError) {
        _ = try check("close_range") { swrun_mark_cloexec_from(UInt32(first)) }
    }

    /// Closes every descriptor >= 3 except `keep` (inherited fds must not live on in the
    /// container's init while it waits for `start`: containerd's shim socket, for one).
    public static func closeAll(except keep: [Int32]) throws(SyscallError) {
        _ = try check("close_range") {
            keep.withUnsafeBufferPointer { swrun_close_fds_except($0.baseAddress!, keep.count) }
        }
    }

    public static func setCloexec(_ fd: Int32, _ on: Bool) throws(SyscallError) {
        let flags = try check("fcntl") { fcntl(fd, F_GETFD) }
        _ = try check("fcntl") { fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) }
    }

    public static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    public static func pipe() throws(SyscallError) -> (read: OwnedFD, write: OwnedFD) {
        var fds: [Int32] = [0, 0]
        _ = try check("pipe2") { swrun_pipe_cloexec(&fds) }
        return (OwnedFD(fds[0]), OwnedFD(fds[1]))
    }

    public static func umask(_ mask: UInt32) { _ = Glibc.umask(mode_t(mask)) }

    /// Waits up to `timeoutMs` for fd to become readable. Returns true if readable.
    public static func pollReadable(_ fd: Int32, timeoutMs: Int32) throws(SyscallError) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = try check("poll") { Glibc.poll(&p, 1, timeoutMs) }
        return n > 0
    }

    /// An inotify instance (close-on-exec, non-blocking) that becomes readable when one of
    /// `paths` is modified: cgroup v2 notifies a change of memory.events this way.
    public static func watchModified(_ paths: [String]) throws(SyscallError) -> OwnedFD {
        let fd = OwnedFD(try check("inotify_init1") { inotify_init1(Int32(O_CLOEXEC | O_NONBLOCK)) })
        for p in paths { _ = try check("inotify_add_watch", p) { inotify_add_watch(fd.raw, p, 2 /* IN_MODIFY */) } }
        return fd
    }

    /// Reads whatever is pending on a non-blocking descriptor, and drops it.
    public static func drain(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 4096)
        while buf.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, 4096) }) > 0 {}
    }

    public static func read(_ fd: Int32, max: Int, display: @autoclosure () -> String) throws(SyscallError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: max)
        let n = try check("read", display()) { buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) } }
        return Array(buf[0..<n])
    }

    public static let modeDirectory: UInt32 = S_IFDIR
    public static let modeCharDevice: UInt32 = S_IFCHR
    public static let modeBlockDevice: UInt32 = S_IFBLK
    public static let modeFIFO: UInt32 = S_IFIFO
    public static let modeRegular: UInt32 = S_IFREG
}

extension Files {
    /// Entries of a directory given as an fd (O_PATH fds are reopened for reading).
    public static func listDirectory(fd: Int32, display: @autoclosure () -> String) throws(SyscallError) -> [String] {
        let dfd = try check("open", display()) { Glibc.openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard let dir = fdopendir(dfd) else {
            Glibc.close(dfd)
            throw SyscallError("fdopendir", display(), errno: Glibc.errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Copies the tree under directory fd `from` into directory fd `to` (tmpcopyup): regular
    /// files, directories, symlinks, with mode and ownership. Nothing is followed.
    public static func copyTree(from: Int32, to: Int32, display: @autoclosure () -> String) throws(SyscallError) {
        let shown = display()
        for name in try listDirectory(fd: from, display: shown) {
            let path = shown + "/" + name
            let st = try fstatat(from, name, display: path)
            if st.isDirectory {
                _ = try check("mkdir", path) { Glibc.mkdirat(to, name, st.permissions) }
                let sub = try openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display: path)
                let dst = try openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display: path)
                try copyTree(from: sub.raw, to: dst.raw, display: path)
                _ = try check("chmod", path) { Glibc.fchmod(dst.raw, st.permissions) }
            } else if st.isSymlink {
                let target = try readlinkat(from, name)
                _ = try check("symlink", path) { Glibc.symlinkat(target, to, name) }
            } else if st.isRegular {
                let src = try openat(from, name, O_RDONLY | O_NOFOLLOW, display: path)
                let dst = try openat(
                    to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: st.permissions, display: path)
                try writeAll(fd: dst.raw, try readAll(fd: src.raw, path: path), path: path)
                _ = try check("chmod", path) { Glibc.fchmod(dst.raw, st.permissions) }
            } else {
                continue // devices, fifos and sockets are not copied up, as runc
            }
            _ = try check("chown", path) { Glibc.fchownat(to, name, st.uid, st.gid, AT_SYMLINK_NOFOLLOW) }
        }
    }

    public static func unlinkat(_ dir: Int32, _ name: String, display: @autoclosure () -> String) throws(SyscallError) {
        _ = try check("unlink", display()) { Glibc.unlinkat(dir, name, 0) }
    }

    public static func makedev(_ major: UInt32, _ minor: UInt32) -> UInt64 { swrun_makedev(major, minor) }
    public static func major(_ dev: UInt64) -> UInt32 { swrun_major(dev) }
}
