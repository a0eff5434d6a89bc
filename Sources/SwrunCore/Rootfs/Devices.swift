import OCISpec
import SwrunSys

public enum Devices {
    /// The devices every container gets (runc's default set), 0666 root:root.
    public static let defaults: [DeviceNode] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ].map { DeviceNode(path: $0.0, fileType: Files.modeCharDevice, major: $0.1, minor: $0.2, mode: 0o666, uid: 0, gid: 0) }

    /// /dev symlinks made with the default devices.
    public static let symlinks: [(String, String)] = [
        ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"),
    ]

    public static func node(_ d: LinuxDevice, field: String) throws(SwrunError) -> DeviceNode {
        guard d.path.startsWithBytes("/dev/") else { throw SwrunError.config("\(field).path: \"\(d.path)\" must be under /dev") }
        if d.path.split(separator: "/").contains("..") { throw SwrunError.config("\(field).path: \"\(d.path)\" must not contain \"..\"") }
        let type: UInt32
        switch d.type {
        case "c", "u": type = Files.modeCharDevice
        case "b": type = Files.modeBlockDevice
        case "p": type = Files.modeFIFO
        default: throw SwrunError.config("\(field).type: unknown device type \"\(d.type)\"")
        }
        if type != Files.modeFIFO && (d.major == nil || d.minor == nil) {
            throw SwrunError.config("\(field): major and minor are required for type \"\(d.type)\"")
        }
        guard (d.major ?? 0) >= 0, (d.minor ?? 0) >= 0 else { throw SwrunError.config("\(field): major and minor must not be negative") }
        let mode = (d.fileMode ?? 0o666) & 0o7777
        return DeviceNode(path: MountPlan.normalize(d.path), fileType: type, major: UInt32(d.major ?? 0), minor: UInt32(d.minor ?? 0), mode: mode, uid: d.uid ?? 0, gid: d.gid ?? 0)
    }
}
