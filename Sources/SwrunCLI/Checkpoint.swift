import SwrunCore

/// `checkpoint` and `restore` (CRIU): their entries in the verb table and their options, with
/// runc's flags, words and defaults.
extension Verbs {
    static let criuShared = [
        FlagSpec(["tcp-established"], help: "allow open tcp connections"),
        FlagSpec(["ext-unix-sk"], help: "allow external unix sockets"),
        FlagSpec(["shell-job"], help: "allow shell jobs"),
        FlagSpec(["file-locks"], help: "handle file locks, for safety"),
        FlagSpec(["manage-cgroups-mode"], value: "value", help: "cgroups mode: soft|full|strict|ignore (default: soft)"),
        FlagSpec(["empty-ns"], value: "value", help: "create a namespace, but don't restore its properties", repeatable: true),
        FlagSpec(["auto-dedup"], help: "enable auto deduplication of memory images"),
        FlagSpec(["lsm-profile"], value: "value", help: "Specify an LSM profile to be used during restore in the form of TYPE:NAME."),
        FlagSpec(["lsm-mount-context"], value: "value", help: "Specify an LSM mount context to be used during restore."),
    ]

    static let criu: [VerbSpec] = [
        VerbSpec(name: "checkpoint", summary: "checkpoint a running container", argsUsage: containerID,
                 description: "The checkpoint command saves the state of the container instance.",
                 flags: [
                    FlagSpec(["image-path"], value: "value", help: "path for saving criu image files"),
                    FlagSpec(["work-path"], value: "value", help: "path for saving work files and logs"),
                    FlagSpec(["parent-path"], value: "value", help: "path for previous criu image files in pre-dump"),
                    FlagSpec(["leave-running"], help: "leave the process running after checkpointing"),
                    FlagSpec(["tcp-skip-in-flight"], help: "skip in-flight tcp connections"),
                    FlagSpec(["link-remap"], help: "allow one to link unlinked files back when possible"),
                    FlagSpec(["pre-dump"], help: "dump container's memory information only, leave the container running after this"),
                 ] + criuShared, minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "restore", summary: "restore a container from a previous checkpoint", argsUsage: containerID,
                 description: "Restores the saved state of the container instance that was previously saved\nusing the swrun checkpoint command.",
                 flags: [
                    FlagSpec(["console-socket"], value: "value", help: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
                    FlagSpec(["image-path"], value: "value", help: "path to criu image files for restoring"),
                    FlagSpec(["work-path"], value: "value", help: "path for saving work files and logs"),
                    FlagSpec(["bundle", "b"], value: "value", help: "path to the root of the bundle directory"),
                    FlagSpec(["detach", "d"], help: "detach from the container's process"),
                    FlagSpec(["pid-file"], value: "value", help: "specify the file to write the process id to"),
                    FlagSpec(["no-subreaper"], help: "disable the use of the subreaper used to reap reparented processes"),
                    FlagSpec(["no-pivot"], help: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"),
                 ] + criuShared, minArgs: 1, maxArgs: 1, stopAtPositional: false),
    ]
}

extension SwrunCLI {
    /// runc's criuOptions: the flags both verbs share (the global --criu rides in `a` as
    /// "criu", put there by `run`).
    static func criuOptions(_ a: ParsedArgs) throws(SwrunError) -> CriuOptions {
        var o = CriuOptions()
        o.imagePath = a.string("image-path")
        o.workPath = a.string("work-path")
        o.parentPath = a.string("parent-path")
        o.leaveRunning = a.bool("leave-running")
        o.tcpEstablished = a.bool("tcp-established")
        o.tcpSkipInFlight = a.bool("tcp-skip-in-flight")
        o.linkRemap = a.bool("link-remap")
        o.extUnixSk = a.bool("ext-unix-sk")
        o.shellJob = a.bool("shell-job")
        o.fileLocks = a.bool("file-locks")
        o.preDump = a.bool("pre-dump")
        o.manageCgroupsMode = a.string("manage-cgroups-mode") ?? ""
        o.emptyNs = a.strings("empty-ns")
        o.autoDedup = a.bool("auto-dedup")
        o.lsmProfile = a.string("lsm-profile")
        o.lsmMountContext = a.string("lsm-mount-context")
        o.criuPath = a.string("criu")
        _ = try o.cgroupMode()
        _ = try o.emptyNamespaceMask()
        return o
    }

    static func restoreOptions(_ a: ParsedArgs) throws(SwrunError) -> RestoreOptions {
        var o = RestoreOptions()
        o.criu = try criuOptions(a)
        o.bundle = a.string("bundle")
        o.detach = a.bool("detach")
        o.pidFile = a.string("pid-file")
        o.consoleSocket = a.string("console-socket")
        o.noSubreaper = a.bool("no-subreaper")
        o.noPivot = a.bool("no-pivot")
        return o
    }
}
