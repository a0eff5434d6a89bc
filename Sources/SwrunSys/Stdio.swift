import CSwrun
import Glibc

public enum Stdio {
    public static func writeStdout(_ s: String) { try? Files.writeAll(fd: 1, s) }
    public static func writeStderr(_ s: String) { try? Files.writeAll(fd: 2, s) }
    public static func isatty(_ fd: Int32) -> Bool { Glibc.isatty(fd) == 1 }
}
