import SwrunSys

/// The processes of a container that has no cgroup of its own (a rootless create where the
/// cgroup hierarchies were not writable: CgroupHandle.hasCgroup): those in its init's PID
/// namespace, found by the /proc/<pid>/ns/pid link of every process (the creator may read
/// them: it owns the container's user namespace). A container that shares swrun's PID
/// namespace has only its init to show.
enum ProcessScan {
    static func pids(initPid: Int32, startTime: UInt64) -> [Int32] {
        guard ProcFS.isSameLiveProcess(pid: initPid, startTime: startTime) else { return [] }
        let at = Files.atCWD
        guard let initNs = try? Files.readlinkat(at, "/proc/\(initPid)/ns/pid"),
            let ownNs = try? Files.readlinkat(at, "/proc/self/ns/pid")
        else { return [initPid] }
        if initNs == ownNs { return [initPid] }
        var out: [Int32] = []
        for name in (try? Files.listDirectory("/proc")) ?? [] {
            guard name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let pid = Int32(name) else { continue }
            if pid == initPid || (try? Files.readlinkat(at, "/proc/\(name)/ns/pid")) == initNs { out.append(pid) }
        }
        return out.sorted()
    }
}
