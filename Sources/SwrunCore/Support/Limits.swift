/// Bounds on what swrun reads and builds from its input. Each is far above any real use and
/// far below what would hurt the host: input may come from a careless or hostile author.
public enum Limits {
    /// config.json, process.json, a resources file: 64 MiB (a config with a 10 MB
    /// annotation is legal, and runc takes it).
    public static let configBytes = 64 << 20
    /// The container's /etc/passwd and /etc/group: 16 MiB.
    public static let databaseBytes = 16 << 20
}
