import OCISpec
import SwrunSys

/// `exec` options, as the CLI parsed them (runc's flags).
public struct ExecOptions: Sendable {
    public var processFile: String?
    public var args: [String] = []
    public var env: [String] = []
    public var cwd: String?
    public var user: String?
    public var additionalGids: [String] = []
    public var caps: [String] = []
    public var noNewPrivs = false
    public var apparmor: String?
    public var processLabel: String?
    public var tty = false
    public var consoleSocket: String?
    public var detach = false
    public var pidFile: String?
    public var preserveFds = 0
    public var pidfdSocket: String?
    public var ignorePaused = false
    /// A foreground exec passes the signals swrun receives on to the process (installs
    /// handlers: a process-wide change, so only when asked; the CLI asks).
    public var forwardSignals = false
    /// --cgroup, runc 1.1's: `[controller[,controller...]:]path`, a sub-cgroup of the
    /// container's (existing) to run the process in.
    public var cgroups: [String] = []
    public init() {}
}
