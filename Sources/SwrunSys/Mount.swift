import CSwrun
import Glibc

/// mount_setattr(2) attribute bits (MOUNT_ATTR_*).
public enum MountAttr {
    public static let rdonly = SWRUN_MOUNT_ATTR_RDONLY
    public static let nosuid = SWRUN_MOUNT_ATTR_NOSUID
    public static let nodev = SWRUN_MOUNT_ATTR_NODEV
    public static let noexec = SWRUN_MOUNT_ATTR_NOEXEC
    public static let atimeMask = SWRUN_MOUNT_ATTR__ATIME
    public static let relatime = SWRUN_MOUNT_ATTR_RELATIME
    public static let noatime = SWRUN_MOUNT_ATTR_NOATIME
    public static let strictatime = SWRUN_MOUNT_ATTR_STRICTATIME
    public static let nodiratime = SWRUN_MOUNT_ATTR_NODIRATIME
    public static let nosymfollow = SWRUN_MOUNT_ATTR_NOSYMFOLLOW
}

/// Classic mount(2) propagation flags (MS_*), also accepted by mount_setattr's propagation field.
public enum MountFlags {
    public static let bind = UInt(MS_BIND)
    public static let rec = UInt(MS_REC)
    public static let privateProp = UInt(MS_PRIVATE)
    public static let slave = UInt(MS_SLAVE)
    public static let shared = UInt(MS_SHARED)
    public static let unbindable = UInt(MS_UNBINDABLE)
    public static let rdonly = UInt(MS_RDONLY)
    public static let remount = UInt(MS_REMOUNT)
    public static let move = UInt(MS_MOVE)
}

public enum Mount {
    public static func mount(
        _ source: String?, _ target: String, _ fstype: String?, _ flags: UInt, _ data: String? = nil
    ) throws(SyscallError) {
        let display = "\(source ?? "none") on \(target)"
        _ = try check("mount", display) { Glibc.mount(source, target, fstype, flags, data) }
    }

    public static func umount(_ target: String, detach: Bool) throws(SyscallError) {
        _ = try check("umount", target) { umount2(target, detach ? Int32(MNT_DETACH) : 0) }
    }

    public static func pivotRoot(_ newRoot: String, _ putOld: String) throws(SyscallError) {
        _ = try check("pivot_root", newRoot) { swrun_pivot_root(newRoot, putOld) }
    }

    /// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path` (a bind mount source).
    public static func cloneTree(
        dir: Int32 = AT_FDCWD, _ path: String, recursive: Bool, display: @autoclosure () -> String? = nil
    ) throws(SyscallError) -> OwnedFD {
        var flags = SWRUN_OPEN_TREE_CLONE
        if recursive { flags |= SWRUN_AT_RECURSIVE }
        if path.isEmpty { flags |= SWRUN_AT_EMPTY_PATH }
        let fd = try check("open_tree", display() ?? path) { swrun_open_tree(dir, path, flags) }
        return OwnedFD(fd)
    }

    /// move_mount(2) of a detached mount fd onto the directory or file `target` refers to.
    public static func attach(_ mount: Int32, onto target: Int32, display: @autoclosure () -> String)
        throws(SyscallError)
    {
        _ = try check("move_mount", display()) { swrun_move_mount_fd(mount, target) }
    }

    /// mount_setattr(2) on the mount an fd refers to.
    public static func setAttr(
        _ fd: Int32, recursive: Bool, set: UInt64, clear: UInt64, propagation: UInt64 = 0,
        display: @autoclosure () -> String
    ) throws(SyscallError) {
        var flags = SWRUN_AT_EMPTY_PATH
        if recursive { flags |= SWRUN_AT_RECURSIVE }
        _ = try check("mount_setattr", display()) { swrun_mount_setattr(fd, "", flags, set, clear, propagation) }
    }

    /// MOUNT_ATTR_IDMAP on a detached mount (open_tree OPEN_TREE_CLONE): ids are seen
    /// through the user namespace `userns`.
    public static func setIDMap(_ fd: Int32, userns: Int32, recursive: Bool, display: @autoclosure () -> String)
        throws(SyscallError)
    {
        _ = try check("mount_setattr(MOUNT_ATTR_IDMAP)", display()) {
            swrun_mount_setattr_idmap(fd, recursive ? 1 : 0, userns)
        }
    }

    public static func setAttr(path: String, recursive: Bool, set: UInt64, clear: UInt64, propagation: UInt64 = 0)
        throws(SyscallError)
    {
        let flags = recursive ? SWRUN_AT_RECURSIVE : 0
        _ = try check("mount_setattr", path) { swrun_mount_setattr(AT_FDCWD, path, flags, set, clear, propagation) }
    }

    /// Creates a detached filesystem mount with fsopen/fsconfig/fsmount. `options` are the
    /// filesystem's data options (`mode=755`, `newinstance`); the kernel's own error log is
    /// added to a failure so that "bad option" names the option.
    public static func newFilesystem(
        type: String, source: String?, options: [KeyValue], attr: UInt64, display: @autoclosure () -> String
    ) throws(SyscallError) -> OwnedFD {
        let fs = OwnedFD(try check("fsopen", type) { swrun_fsopen(type) })
        do {
            if let source, !source.isEmpty {
                _ = try check("fsconfig source=\(source)", display()) {
                    swrun_fsconfig_string(fs.raw, "source", source)
                }
            }
            for o in options {
                let key = o.key
                if let value = o.value {
                    _ = try check("fsconfig \(key)=\(value)", display()) { swrun_fsconfig_string(fs.raw, key, value) }
                } else {
                    _ = try check("fsconfig \(key)", display()) { swrun_fsconfig_flag(fs.raw, key) }
                }
            }
            _ = try check("fsconfig create", display()) { swrun_fsconfig_create(fs.raw) }
            let m = try check("fsmount", display()) { swrun_fsmount(fs.raw, attr) }
            return OwnedFD(m)
        } catch {
            var buf = [CChar](repeating: 0, count: 512)
            let n = swrun_fs_errlog(fs.raw, &buf, 512)
            if n > 0 {
                let bytes = buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }
                var log = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
                // The log's lines start with a level letter ("e tmpfs: Unknown parameter").
                if log.utf8.count > 2, log.utf8.dropFirst().first == UInt8(ascii: " ") {
                    log = String(log.dropFirst(2))
                }
                // The kernel's words after the errno's, apart from the option that was given.
                throw SyscallError(
                    error.op, error.path, errno: error.errno, reason: Errno.text(error.errno) + " (kernel: " + log + ")"
                )
            }
            throw error
        }
    }
}

/// A key and an optional value: a filesystem data option (`mode=755`, the flag `newinstance`)
/// or a sysctl.
public struct KeyValue: Equatable, Sendable {
    public var key: String
    public var value: String?
    public init(_ key: String, _ value: String?) {
        self.key = key
        self.value = value
    }
}
