/// Bounds on what swrun reads and builds from its input. Each is far above any real use and
/// far below what would hurt the host: input may come from a careless or hostile author.
public enum Limits {
    /// config.json, process.json, a resources file: 64 MiB (a config with a 10 MB
    /// annotation is legal, and runc takes it).
    public static let configBytes = 64 << 20
    /// The container's /etc/passwd and /etc/group: 16 MiB.
    public static let databaseBytes = 16 << 20
    /// Mounts in one config, and masked paths, read-only paths, devices or sysctls.
    public static let mounts = 4096
    public static let paths = 4096
    /// An error sent from the container's init to the runtime: long values are cut (the
    /// message must fit one sync packet and stay readable in a log line).
    public static let errorBytes = 4096
}
