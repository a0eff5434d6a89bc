import SwrunSys

/// Which sysctls a container may set: the namespaced ones, as runc's validator allows them.
public enum Sysctl {
    static let ipcKeys: Set<String> = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]

    public static func validate(_ key: String, plan: LaunchPlan) throws(SwrunError) {
        let field = "linux.sysctl[\(Quote.short(key))]"
        if key.contains("/") || key.containsText("..") || key.isEmpty {
            throw SwrunError.config("\(field): invalid sysctl name")
        }
        func has(_ type: String, _ flag: Int32) -> Bool {
            plan.cloneFlags & flag != 0 || plan.joins.contains { $0.type == type }
        }
        if ipcKeys.contains(key) || key.startsWithBytes("fs.mqueue.") {
            guard has("ipc", NamespaceFlag.ipc) else {
                throw SwrunError.config("\(field): sysctl requires a private IPC namespace")
            }
            return
        }
        if key.startsWithBytes("net.") {
            guard has("network", NamespaceFlag.network) else {
                throw SwrunError.config("\(field): sysctl requires a private network namespace")
            }
            return
        }
        if key == "kernel.hostname" || key == "kernel.domainname" {
            guard has("uts", NamespaceFlag.uts) else {
                throw SwrunError.config("\(field): sysctl requires a private UTS namespace")
            }
            return
        }
        throw SwrunError.config("\(field): sysctl is not in a separate kernel namespace")
    }
}
