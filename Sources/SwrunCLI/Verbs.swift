/// The command table: every verb, its flags and its help, in runc's words where runc has them.
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
        FlagSpec(["bundle", "b"], value: "value", help: "path to the root of the bundle directory, defaults to the current directory"),
        FlagSpec(["console-socket"], value: "value", help: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
        FlagSpec(["pidfd-socket"], value: "value", help: "path to an AF_UNIX socket which will receive a file descriptor referencing the init process"),
        FlagSpec(["pid-file"], value: "value", help: "specify the file to write the process id to"),
        FlagSpec(["no-pivot"], help: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"),
        FlagSpec(["no-new-keyring"], help: "do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key"),
        FlagSpec(["preserve-fds"], value: "value", help: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)"),
    ]

    public static let all: [VerbSpec] = [
        VerbSpec(name: "create", summary: "create a container", argsUsage: containerID,
                 description: "The create command creates an instance of a container for a bundle. The bundle\nis a directory with a specification file named \"config.json\" and a root\nfilesystem.",
                 flags: create, minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "delete", summary: "delete any resources held by the container often used with detached container", argsUsage: containerID,
                 description: "Where \"<container-id>\" is the name for the instance of the container.",
                 flags: [FlagSpec(["force", "f"], help: "Forcibly deletes the container if it is still running (uses SIGKILL)")], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "events", summary: "display container events such as OOM notifications, cpu, memory, and IO usage statistics", argsUsage: containerID,
                 description: "The events command displays information about the container. By default the\ninformation is displayed once every 5 seconds.",
                 flags: [FlagSpec(["interval"], value: "value", help: "set the stats collection interval (default: 5s)"), FlagSpec(["stats"], help: "display the container's stats then exit")], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "exec", summary: "execute new process inside the container", argsUsage: "<container-id> <command> [command options]  || -p process.json <container-id>",
                 description: "The exec command executes a new process inside an existing container.",
                 flags: [
                    FlagSpec(["console-socket"], value: "value", help: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
                    FlagSpec(["pidfd-socket"], value: "value", help: "path to an AF_UNIX socket which will receive a file descriptor referencing the exec process"),
                    FlagSpec(["cwd"], value: "value", help: "current working directory in the container"),
                    FlagSpec(["env", "e"], value: "value", help: "set environment variables", repeatable: true),
                    FlagSpec(["tty", "t"], help: "allocate a pseudo-TTY"),
                    FlagSpec(["user", "u"], value: "value", help: "UID (format: <uid>[:<gid>])"),
                    FlagSpec(["additional-gids", "g"], value: "value", help: "additional gids", repeatable: true),
                    FlagSpec(["process", "p"], value: "value", help: "path to the process.json"),
                    FlagSpec(["detach", "d"], help: "detach from the container's process"),
                    FlagSpec(["pid-file"], value: "value", help: "specify the file to write the process id to"),
                    FlagSpec(["process-label"], value: "value", help: "set the asm process label for the process commonly used with selinux"),
                    FlagSpec(["apparmor"], value: "value", help: "set the apparmor profile for the process"),
                    FlagSpec(["no-new-privs"], help: "set the no new privileges value for the process"),
                    FlagSpec(["cap", "c"], value: "value", help: "add a capability to the bounding set for the process", repeatable: true),
                    FlagSpec(["preserve-fds"], value: "value", help: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)"),
                    FlagSpec(["cgroup"], value: "value", help: "run the process in an (existing) sub-cgroup(s)", repeatable: true),
                    FlagSpec(["ignore-paused"], help: "allow exec in a paused container"),
                 ], minArgs: 1, maxArgs: nil, stopAtPositional: true),
        VerbSpec(name: "kill", summary: "kill sends the specified signal (default: SIGTERM) to the container's init process", argsUsage: "<container-id> [signal]",
                 description: "Where \"<container-id>\" is the name for the instance of the container and\n\"[signal]\" is the signal to be sent to the init process.\n\nEXAMPLE:\nFor example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\nsignal to the init process of the \"ubuntu01\" container:\n\n       # swrun kill ubuntu01 KILL",
                 flags: [FlagSpec(["all", "a"], help: "send the specified signal to all processes inside the container")], minArgs: 1, maxArgs: 2, stopAtPositional: false),
        VerbSpec(name: "list", summary: "lists containers started by swrun with the given root", argsUsage: "",
                 description: "The list command lists containers started by swrun with the given root.",
                 flags: [FlagSpec(["format", "f"], value: "value", help: "select one of: table or json (default: \"table\")"), FlagSpec(["quiet", "q"], help: "display only container IDs")], minArgs: 0, maxArgs: 0, stopAtPositional: false),
        VerbSpec(name: "pause", summary: "pause suspends all processes inside the container", argsUsage: containerID,
                 description: "The pause command suspends all processes in the instance of the container.", flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "ps", summary: "ps displays the processes running inside a container", argsUsage: "<container-id> [ps options]",
                 description: "The ps command displays the processes running inside a container.",
                 flags: [FlagSpec(["format", "f"], value: "value", help: "select one of: table or json (default: \"table\")")], minArgs: 1, maxArgs: nil, stopAtPositional: true),
        VerbSpec(name: "resume", summary: "resumes all processes that have been previously paused", argsUsage: containerID,
                 description: "The resume command resumes all processes in the instance of the container.", flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "run", summary: "create and run a container", argsUsage: containerID,
                 description: "The run command creates an instance of a container for a bundle. The bundle\nis a directory with a specification file named \"config.json\" and a root\nfilesystem.",
                 flags: create + [FlagSpec(["detach", "d"], help: "detach from the container's process"), FlagSpec(["keep"], help: "do not delete the container after it exits")], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "spec", summary: "create a new specification file", argsUsage: "",
                 description: "The spec command creates the new specification file named \"config.json\" for\nthe bundle.",
                 flags: [FlagSpec(["bundle", "b"], value: "value", help: "path to the root of the bundle directory"), FlagSpec(["rootless"], help: "generate a configuration for a rootless container")], minArgs: 0, maxArgs: 0, stopAtPositional: false),
        VerbSpec(name: "start", summary: "executes the user defined process in a created container", argsUsage: containerID,
                 description: "The start command executes the user defined process in a created container.", flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "state", summary: "output the state of a container", argsUsage: containerID,
                 description: "The state command outputs current state information for the\ninstance of a container.", flags: [], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "update", summary: "update container resource constraints", argsUsage: containerID,
                 description: "The update command sets the resource constraints of a running container.",
                 flags: [
                    FlagSpec(["resources", "r"], value: "value", help: "path to the file containing the resources to update or '-' to read from the standard input"),
                    FlagSpec(["blkio-weight"], value: "value", help: "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)"),
                    FlagSpec(["cpu-period"], value: "value", help: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
                    FlagSpec(["cpu-quota"], value: "value", help: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
                    FlagSpec(["cpu-share", "cpu-shares"], value: "value", help: "CPU shares (relative weight vs. other containers)"),
                    FlagSpec(["cpu-rt-period"], value: "value", help: "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"),
                    FlagSpec(["cpu-rt-runtime"], value: "value", help: "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"),
                    FlagSpec(["cpuset-cpus"], value: "value", help: "CPU(s) to use"),
                    FlagSpec(["cpuset-mems"], value: "value", help: "Memory node(s) to use"),
                    FlagSpec(["kernel-memory"], value: "value", help: "(obsoleted; do not use)"),
                    FlagSpec(["kernel-memory-tcp"], value: "value", help: "Kernel memory limit (in bytes) for tcp buffer"),
                    FlagSpec(["memory"], value: "value", help: "Memory limit (in bytes)"),
                    FlagSpec(["memory-reservation"], value: "value", help: "Memory reservation or soft_limit (in bytes)"),
                    FlagSpec(["memory-swap"], value: "value", help: "Total memory usage (memory + swap); set '-1' to enable unlimited swap"),
                    FlagSpec(["pids-limit"], value: "value", help: "Maximum number of pids allowed in the container (default: 0)"),
                 ], minArgs: 1, maxArgs: 1, stopAtPositional: false),
        VerbSpec(name: "features", summary: "show the enabled features", argsUsage: "",
                 description: "Show the enabled features.\n   The result is parsable as a JSON.", flags: [], minArgs: 0, maxArgs: 0, stopAtPositional: false),
    ] + criu

    public static let globals: [FlagSpec] = [
        FlagSpec(["debug"], help: "enable debug logging"),
        FlagSpec(["log"], value: "value", help: "set the log file to write swrun logs to (default is '/dev/stderr')"),
        FlagSpec(["log-format"], value: "value", help: "set the log format ('text' (default), or 'json') (default: \"text\")"),
        FlagSpec(["root"], value: "value", help: "root directory for storage of container state (this should be located in tmpfs) (default: \"/run/swrun\")"),
        FlagSpec(["criu"], value: "value", help: "path to the criu binary used for checkpoint and restore (default: \"criu\")"),
        FlagSpec(["systemd-cgroup"], help: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" (not supported yet)"),
        FlagSpec(["rootless"], value: "value", help: "ignore cgroup permission errors ('true', 'false', or 'auto') (default: \"auto\")"),
        FlagSpec(["help", "h"], help: "show help"),
        FlagSpec(["version", "v"], help: "print the version"),
    ]

    public static func find(_ name: String) -> VerbSpec? { all.first { $0.name == name } }
}
