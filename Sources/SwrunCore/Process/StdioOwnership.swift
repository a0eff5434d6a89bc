import OCISpec
import SwrunSys

/// The process's stdio given to the container's user (runc's fixStdioPermissions), so that
/// a non-root process can reopen /dev/stdout or its terminal: the pipes and sockets a client
/// passed (containerd's, conmon's), and the container's own pty. Never /dev/null, never a
/// regular file or another device (the caller's terminal, a host file it redirected to):
/// those stay the host's. Only the owner changes, as in runc; a file whose owner or group is
/// not mapped in the container's user namespace is left as it is.
enum StdioOwnership {
    static func give(_ plan: LaunchPlan) throws(SwrunError) {
        for fd: Int32 in [0, 1, 2] {
            guard let st = try? Files.fstat(fd), st.uid != plan.uid else { continue }
            let ours = plan.terminal && st.isCharDevice && (136...143).contains(Files.major(st.rdev))
            guard st.isFIFO || st.isSocket || ours else { continue }
            do { try Files.fchown(fd, uid: plan.uid) } catch
                where error.errno == Errno.EINVAL || error.errno == Errno.EPERM
            {
                continue
            } catch {
                throw SwrunError.system(error).wrapped("give stdio to the container's user")
            }
        }
    }
}
