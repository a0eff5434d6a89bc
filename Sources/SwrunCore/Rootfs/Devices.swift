import OCISpec
import SwrunSys

public enum Devices {
    /// The devices every container gets (runc's default set), 0666 root:root.
    public static let defaults: [DeviceNode] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ].map {
        DeviceNode(path: $0.0, fileType: Files.modeCharDevice, major: $0.1, minor: $0.2, mode: 0o666, uid: 0, gid: 0)
    }

    /// /dev symlinks made with the default devices.
    public static let symlinks: [(String, String)] = [
        ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"),
    ]

    public static func node(_ d: LinuxDevice, field: String) throws(SwrunError) -> DeviceNode {
        guard d.path.startsWithBytes("/dev/") else {
            throw SwrunError.config("\(field).path: \(Quote.short(d.path)) must be under /dev")
        }
        if d.path.split(separator: "/").contains("..") {
            throw SwrunError.config("\(field).path: \(Quote.short(d.path)) must not contain \"..\"")
        }
        let type: UInt32
        switch d.type {
        case "c", "u": type = Files.modeCharDevice
        case "b": type = Files.modeBlockDevice
        case "p": type = Files.modeFIFO
        default: throw SwrunError.config("\(field).type: unknown device type \(Quote.short(d.type))")
        }
        if type != Files.modeFIFO && (d.major == nil || d.minor == nil) {
            throw SwrunError.config("\(field): major and minor are required for type \(Quote.short(d.type))")
        }
        // A device number is 32 bits a half in dev_t; a larger value must not be cut into
        // another device's number.
        guard let major = UInt32(exactly: d.major ?? 0), let minor = UInt32(exactly: d.minor ?? 0) else {
            throw SwrunError.config(
                "\(field): major \(d.major ?? 0) and minor \(d.minor ?? 0) must be in 0 to \(UInt32.max)")
        }
        try IDs.check(d.uid ?? 0, "\(field).uid")
        try IDs.check(d.gid ?? 0, "\(field).gid")
        let mode = (d.fileMode ?? 0o666) & 0o7777
        return DeviceNode(
            path: MountPlan.normalize(d.path), fileType: type, major: major, minor: minor, mode: mode, uid: d.uid ?? 0,
            gid: d.gid ?? 0)
    }
}
