import CSwrun
import Glibc

/// CVE-2019-5736: a container that makes swrun's child execute `/proc/self/exe` (a
/// `#!/proc/self/exe` entrypoint) gets a process whose exe is swrun's own file; once swrun
/// exits it can reopen that file for writing through /proc/<pid>/exe and replace the host's
/// binary. swrun therefore runs the verbs that enter containers (create and exec always, run
/// where its container's PID namespace is exposed: Launcher.exposure) from a view of its
/// file that cannot be written: as runc 1.2 does, a private read-only overlayfs
/// over the binary's directory, detached (mounted nowhere, gone with the last user), and a
/// sealed memfd copy where overlayfs cannot be used. Opening the exe for writing then fails
/// with EROFS (overlay) or EPERM (seals), whatever the container's capabilities.
public enum SealedBinary {
    /// Set in the environment of the re-executed swrun, so that a failed check cannot loop.
    public static let marker = "_SWRUN_SEALED"

    /// After a re-execution: how this process was protected, for --debug.
    nonisolated(unsafe) public static var note: String?

    public enum Protection: Sendable { case sealedMemfd, readOnlyMount, none }

    /// How the running executable is protected.
    public static func current() -> Protection {
        let fd = Glibc.open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .none }
        defer { Glibc.close(fd) }
        switch swrun_exe_is_sealed(fd) {
        case 1: return .sealedMemfd
        case 2: return .readOnlyMount
        default: return .none
        }
    }

    /// Returns when the running executable is protected; otherwise re-executes it from a
    /// protected view (and does not return). `scratch` is a directory of swrun's own where
    /// an empty directory for the overlay's second layer is kept.
    public static func ensure(scratch: String, argv: [String]) throws(SyscallError) {
        if current() != .none {
            note = getenv(marker).map { String(cString: $0) }
            unsetenv(marker)
            return
        }
        if getenv(marker) != nil {
            throw SyscallError("verify the sealed copy of swrun", "/proc/self/exe", errno: EPERM)
        }
        setenv(marker, "re-executed from a read-only overlay view", 1)
        defer { unsetenv(marker) }
        do {
            let view = try overlayView(scratch: scratch)
            execute(view.raw, argv)
        } catch {
            setenv(marker, "re-executed from a sealed memfd copy (overlay view: \(error.description))", 1)
        }
        // Fallback: a sealed copy in memory (costs a copy of the binary per call).
        let exe = try Files.open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        let copy = OwnedFD(try check("memfd copy of swrun", "/proc/self/exe") { swrun_sealed_memfd_copy(exe.raw) })
        execute(copy.raw, argv)
        throw SyscallError("execute the sealed copy of swrun", "/proc/self/exe", errno: errno)
    }

    /// A read-only, upper-less overlayfs whose lower layers are the binary's directory and an
    /// empty one; an O_PATH descriptor of the binary seen through it (built in C, sealed.c,
    /// where a constructor uses it before the Swift runtime starts).
    static func overlayView(scratch: String) throws(SyscallError) -> OwnedFD {
        OwnedFD(try check("overlay view", "/proc/self/exe") { swrun_overlay_view(scratch) })
    }

    /// execveat of fd with the current environment; returns only on failure.
    static func execute(_ fd: Int32, _ argv: [String]) {
        let cargs = argv.map { strdup($0) } + [nil]
        swrun_execveat_empty(fd, cargs, environ)
        for p in cargs { free(p) }
    }
}
