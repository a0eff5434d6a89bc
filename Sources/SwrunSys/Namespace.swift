import CSwrun
import Glibc

public enum NamespaceFlag {
    public static let mount = SWRUN_CLONE_NEWNS
    public static let uts = SWRUN_CLONE_NEWUTS
    public static let ipc = SWRUN_CLONE_NEWIPC
    public static let network = SWRUN_CLONE_NEWNET
    public static let pid = SWRUN_CLONE_NEWPID
    public static let user = SWRUN_CLONE_NEWUSER
    public static let cgroup = SWRUN_CLONE_NEWCGROUP
    public static let time = SWRUN_CLONE_NEWTIME
}

public enum Namespaces {
    public static func setns(_ fd: Int32, _ type: Int32, display: @autoclosure () -> String) throws(SyscallError) {
        _ = try check("setns", display()) { swrun_setns(fd, type) }
    }

    public static func unshare(_ flags: Int32, display: @autoclosure () -> String) throws(SyscallError) {
        _ = try check("unshare", display()) { swrun_unshare(flags) }
    }

    /// The CLONE_NEW* type of an nsfs file descriptor (NS_GET_NSTYPE).
    public static func type(of fd: Int32, display: @autoclosure () -> String) throws(SyscallError) -> Int32 {
        try check("ioctl NS_GET_NSTYPE", display()) { swrun_ns_get_type(fd) }
    }

    public static func sethostname(_ name: String) throws(SyscallError) {
        _ = try check("sethostname", name) { Glibc.sethostname(name, name.utf8.count) }
    }

    public static func setdomainname(_ name: String) throws(SyscallError) {
        _ = try check("setdomainname", name) { Glibc.setdomainname(name, name.utf8.count) }
    }

    public static func loopbackUp() throws(SyscallError) {
        _ = try check("set loopback up") { swrun_loopback_up() }
    }

    public static func joinSessionKeyring(_ name: String) throws(SyscallError) {
        _ = try check("join session keyring", name) { swrun_join_session_keyring(name) }
    }
}
