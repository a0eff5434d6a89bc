/// The command table: every verb, its flags and its help. `--help`, the man pages and the
/// shell completions (SwrunDocs) are all made from it. The flag names, argument counts and
/// the layout of `--help` follow runc, which clients and scripts rely on; the prose is
/// swrun's own.
public struct VerbSpec: Sendable {
    public let name: String
    public let summary: String
    public let argsUsage: String
    public let description: String
    public let flags: [FlagSpec]
    public let minArgs: Int
    public let maxArgs: Int?
    public let stopAtPositional: Bool
}

public enum Verbs {
    static let containerID = "<container-id>"

    static let create = [
        FlagSpec(
            ["bundle", "b"], value: "DIR",
            help: "the bundle directory, holding config.json and the root file system (default: the current directory)"),
        FlagSpec(
            ["console-socket"], value: "PATH",
            help: "Unix socket that receives the master end of the container's pseudo-terminal (for process.terminal)"),
        FlagSpec(["pidfd-socket"], value: "PATH", help: "Unix socket that receives a pidfd of the container's init"),
        FlagSpec(["pid-file"], value: "FILE", help: "write the host pid of the container's init to FILE"),
        FlagSpec(
            ["no-pivot"],
            help:
                "enter the root file system with a move mount and chroot instead of pivot_root (for a rootfs on a ramdisk)"
        ),
        FlagSpec(
            ["no-new-keyring"], help: "let the container share the caller's session keyring instead of starting its own"
        ),
        FlagSpec(
            ["preserve-fds"], value: "N",
            help: "hand N more descriptors, after stdio and any $LISTEN_FDS ones, on to the container (default: 0)"),
    ]

    public static let all: [VerbSpec] =
        [check] + [
            VerbSpec(
                name: "create", summary: "set up a container from a bundle, ready to start", argsUsage: containerID,
                description:
                    "Builds the container that the bundle's config.json describes: its namespaces,\nmounts, cgroups and security settings. Its process is made ready and then waits;\n`swrun start` lets it run. A create that fails leaves nothing behind.",
                flags: create, minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "delete", summary: "remove a container and everything it holds", argsUsage: containerID,
                description:
                    "Removes a stopped or created container: its state, its cgroups and any process\nstill waiting in it, and runs its poststop hooks. A running container is refused\nunless --force is given, which kills it first.",
                flags: [FlagSpec(["force", "f"], help: "kill a running container with SIGKILL, then remove it")],
                minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "events", summary: "follow a container's resource statistics and out-of-memory events",
                argsUsage: containerID,
                description:
                    "Prints a JSON line with the container's cgroup statistics every interval, and one\nwhenever the kernel's OOM killer acts inside it, until the container stops.",
                flags: [
                    FlagSpec(
                        ["interval"], value: "DURATION",
                        help: "time between two statistics lines, such as 500ms or 10s (default: 5s)"),
                    FlagSpec(["stats"], help: "print the statistics once and exit"),
                ], minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "exec", summary: "start another process inside a running container",
                argsUsage: "<container-id> <command> [command options]  || -p process.json <container-id>",
                description:
                    "Runs a command in the namespaces and cgroup of a running container, with the\ncontainer's user, capabilities and security settings unless flags change them.\nThe whole process may instead come from a process.json file (--process).",
                flags: [
                    FlagSpec(
                        ["console-socket"], value: "PATH",
                        help: "Unix socket that receives the master end of the process's pseudo-terminal (with --tty)"),
                    FlagSpec(
                        ["pidfd-socket"], value: "PATH", help: "Unix socket that receives a pidfd of the new process"),
                    FlagSpec(["cwd"], value: "DIR", help: "working directory of the process, inside the container"),
                    FlagSpec(
                        ["env", "e"], value: "NAME=VALUE", help: "add or replace an environment variable (repeatable)",
                        repeatable: true),
                    FlagSpec(["tty", "t"], help: "give the process a pseudo-terminal"),
                    FlagSpec(
                        ["user", "u"], value: "UID[:GID]",
                        help: "run as this user id and group id, or as a user named in the container's /etc/passwd"),
                    FlagSpec(
                        ["additional-gids", "g"], value: "GID",
                        help: "supplementary group id (repeatable, or comma-separated)", repeatable: true),
                    FlagSpec(
                        ["process", "p"], value: "FILE",
                        help: "read the whole process (args, env, user, ...) from this process.json"),
                    FlagSpec(["detach", "d"], help: "return as soon as the process runs instead of waiting for it"),
                    FlagSpec(["pid-file"], value: "FILE", help: "write the host pid of the new process to FILE"),
                    FlagSpec(["process-label"], value: "LABEL", help: "SELinux label to run the process with"),
                    FlagSpec(["apparmor"], value: "PROFILE", help: "AppArmor profile to run the process under"),
                    FlagSpec(
                        ["no-new-privs"],
                        help: "set no_new_privs, so that the process cannot gain privileges through exec"),
                    FlagSpec(
                        ["cap", "c"], value: "CAP_NAME", help: "add a capability to the process (repeatable)",
                        repeatable: true),
                    FlagSpec(
                        ["preserve-fds"], value: "N",
                        help:
                            "hand N more descriptors, after stdio and any $LISTEN_FDS ones, on to the process (default: 0)"
                    ),
                    FlagSpec(
                        ["cgroup"], value: "[CONTROLLERS:]PATH",
                        help: "place the process in an existing sub-cgroup of the container (repeatable)",
                        repeatable: true),
                    FlagSpec(["ignore-paused"], help: "run the process even though the container is paused"),
                ], minArgs: 1, maxArgs: nil, stopAtPositional: true),
            VerbSpec(
                name: "kill", summary: "send a signal to a container's init process (SIGTERM unless one is named)",
                argsUsage: "<container-id> [signal]",
                description:
                    "The signal is a name with or without its SIG prefix (TERM, SIGKILL), a number,\nor RTMIN+n / RTMAX-n. With --all every process in the container's cgroup gets it,\nnot only the init.\n\nEXAMPLE:\nTo stop the container web01 at once:\n\n       # swrun kill web01 KILL",
                flags: [FlagSpec(["all", "a"], help: "signal every process of the container, not only its init")],
                minArgs: 1, maxArgs: 2, stopAtPositional: false),
            VerbSpec(
                name: "list", summary: "show the containers kept under the state root", argsUsage: "",
                description:
                    "Shows each container whose state is under --root: its id, init pid, status,\nbundle, creation time and owner, as a table or as JSON; --quiet prints the ids only.",
                flags: [
                    FlagSpec(
                        ["format", "f"], value: "table|json", help: "output as a table or as JSON (default: table)"),
                    FlagSpec(["quiet", "q"], help: "print the container ids only, one a line"),
                ], minArgs: 0, maxArgs: 0, stopAtPositional: false),
            VerbSpec(
                name: "pause", summary: "freeze every process of a container", argsUsage: containerID,
                description:
                    "Stops all of the container's processes with the cgroup freezer. They stay\nstopped until `swrun resume`.",
                flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "ps", summary: "show the processes running in a container",
                argsUsage: "<container-id> [ps options]",
                description:
                    "As a table, runs the host's ps(1) with the options given (default -ef) and keeps\nthe lines of the container's processes; as JSON, prints their host pids.",
                flags: [
                    FlagSpec(
                        ["format", "f"], value: "table|json", help: "output as a table or as JSON (default: table)")
                ], minArgs: 1, maxArgs: nil, stopAtPositional: true),
            VerbSpec(
                name: "resume", summary: "thaw a paused container", argsUsage: containerID,
                description: "Lets the processes of a container that `swrun pause` froze run again.", flags: [],
                minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "run", summary: "create a container and start it in one step", argsUsage: containerID,
                description:
                    "Does what create and start do together. In the foreground swrun passes its\nstandard streams through, forwards signals, exits with the container's status and\nremoves the container afterwards (unless --keep). With --detach it returns once the\ncontainer's process runs.",
                flags: create + [
                    FlagSpec(["detach", "d"], help: "return once the container runs instead of waiting for it"),
                    FlagSpec(["keep"], help: "keep the container's state after it exits (remove it with delete)"),
                ], minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "spec", summary: "write a starting config.json", argsUsage: "",
                description:
                    "Writes a config.json to start a bundle from: a default configuration that runs\nsh in the bundle's rootfs directory, the same as runc's. Edit it, then check it\nwith `swrun check`.",
                flags: [
                    FlagSpec(
                        ["bundle", "b"], value: "DIR",
                        help: "the directory to write config.json to (default: the current directory)"),
                    FlagSpec(["rootless"], help: "write a configuration for a container run without root"),
                ], minArgs: 0, maxArgs: 0, stopAtPositional: false),
            VerbSpec(
                name: "start", summary: "let a created container's process begin", argsUsage: containerID,
                description: "Releases the process that create made ready: the program in process.args runs.",
                flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "state", summary: "print a container's state as JSON", argsUsage: containerID,
                description:
                    "Prints the container's state as the OCI runtime specification defines it: id,\nstatus, init pid, bundle and annotations.",
                flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "update", summary: "change the resource limits of a running container", argsUsage: containerID,
                description:
                    "Writes new cgroup limits for a running container, taken from the flags or from\na LinuxResources JSON document (--resources FILE, or - for standard input); a flag\nwins over the document.",
                flags: [
                    FlagSpec(
                        ["resources", "r"], value: "FILE",
                        help: "read a LinuxResources JSON document from FILE, or from standard input with -"),
                    FlagSpec(["blkio-weight"], value: "N", help: "block I/O weight, from 10 to 1000"),
                    FlagSpec(
                        ["cpu-period"], value: "USEC",
                        help: "CFS scheduling period in microseconds (0: the kernel's default)"),
                    FlagSpec(
                        ["cpu-quota"], value: "USEC",
                        help: "CPU time allowed in each period, in microseconds (-1: no limit)"),
                    FlagSpec(["cpu-share", "cpu-shares"], value: "N", help: "CPU weight relative to other containers"),
                    FlagSpec(
                        ["cpu-rt-period"], value: "USEC",
                        help: "real-time scheduling period in microseconds (0: the kernel's default)"),
                    FlagSpec(
                        ["cpu-rt-runtime"], value: "USEC",
                        help: "real-time CPU time allowed in each period, in microseconds"),
                    FlagSpec(["cpuset-cpus"], value: "LIST", help: "the CPUs the container may run on, such as 0-3,7"),
                    FlagSpec(["cpuset-mems"], value: "LIST", help: "the memory nodes the container may allocate from"),
                    FlagSpec(
                        ["kernel-memory"], value: "BYTES",
                        help: "obsolete: the kernel no longer has this limit, and swrun refuses it"),
                    FlagSpec(
                        ["kernel-memory-tcp"], value: "BYTES",
                        help: "limit on TCP buffer memory (k, m, g suffixes allowed)"),
                    FlagSpec(["memory"], value: "BYTES", help: "memory limit (k, m, g suffixes allowed)"),
                    FlagSpec(
                        ["memory-reservation"], value: "BYTES",
                        help: "memory soft limit, reclaimed first under pressure"),
                    FlagSpec(
                        ["memory-swap"], value: "BYTES",
                        help: "limit on memory and swap together; -1 for unlimited swap"),
                    FlagSpec(["pids-limit"], value: "N", help: "the most processes the container may hold at once"),
                ], minArgs: 1, maxArgs: 1, stopAtPositional: false),
            VerbSpec(
                name: "features", summary: "print what this build of swrun supports, as JSON", argsUsage: "",
                description:
                    "Prints the runtime specification's features document: the OCI versions,\nnamespaces, capabilities, mount options, seccomp actions and other settings that\nthis build implements.",
                flags: [], minArgs: 0, maxArgs: 0, stopAtPositional: false),
        ] + criu

    public static let globals: [FlagSpec] = [
        FlagSpec(["debug"], help: "log debug lines as well"),
        FlagSpec(["log"], value: "FILE", help: "append log lines to FILE instead of writing them to standard error"),
        FlagSpec(
            ["log-format"], value: "text|json", help: "write log lines as text or as JSON objects (default: text)"),
        FlagSpec(
            ["root"], value: "DIR",
            help: "directory holding the containers' state, best on a tmpfs (default: /run/swrun)"),
        FlagSpec(
            ["criu"], value: "PATH",
            help:
                "the criu program that checkpoint and restore run (default: criu, looked up in PATH and the sbin directories)"
        ),
        FlagSpec(
            ["systemd-cgroup"],
            help:
                "have systemd manage the cgroups as a transient scope, with cgroupsPath as slice:prefix:name (pure cgroup v2 hosts)"
        ),
        FlagSpec(
            ["rootless"], value: "true|false|auto",
            help:
                "run as a rootless runtime: cgroups it may not write are left out (default: auto, rootless when not the host's root)"
        ),
        FlagSpec(["help", "h"], help: "print help and exit"),
        FlagSpec(["version", "v"], help: "print the version and exit"),
    ]

    public static func find(_ name: String) -> VerbSpec? { all.first { $0.name == name } }
}
