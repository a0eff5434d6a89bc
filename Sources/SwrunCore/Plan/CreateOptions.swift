import OCISpec
import SwrunSys

/// Command-line choices that shape the plan.
public struct CreateOptions: Sendable {
    public var noPivot = false
    public var noNewKeyring = false
    public var preserveFds = 0
    /// Where compiled seccomp filters are cached (`<root>/.cache/seccomp`); nil: no cache.
    public var seccompCache: String?
    public var consoleSocket: String?
    public var pidfdSocket: String?
    /// LISTEN_FDS from swrun's environment (systemd socket activation): those fds are passed
    /// on before the --preserve-fds ones, with LISTEN_FDS and LISTEN_PID=1 in the container.
    public var listenFds = 0
    /// The configuration itself, instead of the bundle's config.json (a library caller with a
    /// Spec value: SwrunKit encodes it). The bundle still anchors relative paths.
    public var config: [UInt8]?
    /// A foreground `run` passes the signals swrun receives on to the container's process
    /// (installs handlers: a process-wide change, so only when asked; the CLI asks).
    public var forwardSignals = false
    /// --systemd-cgroup: the container's cgroup is a systemd scope (SystemdDriver).
    public var systemdCgroup = false
    /// --rootless (auto: anyone but the host's root, Identity.rootlessCgroups): cgroup
    /// hierarchies this user cannot write are left out (cgroupfs), and the systemd driver
    /// talks to the user's own instance.
    public var rootlessCgroups = false
    /// Who creates the container; nil: this process (Identity.current).
    public var identity: Identity?
    /// create, or run --detach: nobody will relay a terminal.
    public var detached = true
    /// Set by `run`: what a re-execution from a protected view needs (Launcher.exposure).
    public var run: Run?
    public struct Run: Sendable {
        public var scratch: String
        public var argv: [String]
        public var cwd: String
        public init(scratch: String, argv: [String], cwd: String) {
            self.scratch = scratch
            self.argv = argv
            self.cwd = cwd
        }
    }
    public init() {}
}
