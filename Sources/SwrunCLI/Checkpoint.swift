import SwrunCore

/// `checkpoint` and `restore` (CRIU): their entries in the verb table and their options, with
/// runc's flags and defaults (the help text is swrun's own).
extension Verbs {
    static let criuShared = [
        FlagSpec(["tcp-established"], help: "checkpoint established TCP connections too (CRIU's tcp-established)"),
        FlagSpec(["ext-unix-sk"], help: "allow unix sockets whose peer is outside the container"),
        FlagSpec(["shell-job"], help: "allow a process attached to a terminal or session outside the container"),
        FlagSpec(["file-locks"], help: "checkpoint and restore file locks"),
        FlagSpec(
            ["manage-cgroups-mode"], value: "MODE",
            help: "what CRIU does with the cgroups: soft, full, strict or ignore (default: soft)"),
        FlagSpec(
            ["empty-ns"], value: "TYPE",
            help: "make this namespace type empty on restore instead of restoring its contents (network)",
            repeatable: true),
        FlagSpec(["auto-dedup"], help: "drop pages from parent images once the dump holds them"),
        FlagSpec(
            ["lsm-profile"], value: "TYPE:NAME",
            help: "the LSM profile (apparmor:NAME or selinux:LABEL) the restored process gets"),
        FlagSpec(["lsm-mount-context"], value: "CONTEXT", help: "the SELinux mount context for the restored mounts"),
    ]

    static let criu: [VerbSpec] = [
        VerbSpec(
            name: "checkpoint", summary: "save a running container to disk with CRIU", argsUsage: containerID,
            description:
                "Dumps the container's processes, their memory and their open files into an image\ndirectory with CRIU; by default the container stops, and restore brings it back.",
            flags: [
                FlagSpec(["image-path"], value: "DIR", help: "where the images go (default: ./checkpoint)"),
                FlagSpec(
                    ["work-path"], value: "DIR",
                    help: "where CRIU's log and work files go (default: the image directory)"),
                FlagSpec(
                    ["parent-path"], value: "DIR",
                    help: "a pre-dump's images, relative to the image directory, that this dump builds on"),
                FlagSpec(["leave-running"], help: "keep the container running after the dump"),
                FlagSpec(["tcp-skip-in-flight"], help: "leave out TCP connections still being set up"),
                FlagSpec(["link-remap"], help: "let CRIU link deleted but open files back into place"),
                FlagSpec(
                    ["pre-dump"],
                    help: "dump only the memory, keep the container running (for a later dump with --parent-path)"),
            ] + criuShared, minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(
            name: "restore", summary: "start a container again from checkpoint images", argsUsage: containerID,
            description:
                "Creates the container ID from the bundle and the images a checkpoint wrote, and\nlets it run on from where it was dumped.",
            flags: [
                FlagSpec(
                    ["console-socket"], value: "PATH", help: "unix socket that receives the new terminal's master fd"),
                FlagSpec(["image-path"], value: "DIR", help: "the images to restore from (default: ./checkpoint)"),
                FlagSpec(
                    ["work-path"], value: "DIR",
                    help: "where CRIU's log and work files go (default: the image directory)"),
                FlagSpec(
                    ["bundle", "b"], value: "DIR",
                    help: "the bundle: config.json and the rootfs (default: the current directory)"),
                FlagSpec(["detach", "d"], help: "return once the container runs, instead of waiting for it"),
                FlagSpec(["pid-file"], value: "FILE", help: "write the restored init's pid to FILE"),
                FlagSpec(["no-subreaper"], help: "do not make swrun a subreaper while it waits"),
                FlagSpec(
                    ["no-pivot"],
                    help: "enter the rootfs with MS_MOVE and chroot, not pivot_root (a rootfs on a ramdisk)"),
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
