import OCISpec
import SwrunSys

/// --pidfd-socket: a pidfd of the container's process, sent with SCM_RIGHTS (runc 1.2).
enum PidfdSocket {
    static func send(pid: Int32, to path: String) throws(SwrunError) {
        let pidfd = try sys("pidfd-socket") { try Proc.pidfdOpen(pid) }
        let sock = try sys("pidfd-socket: connect") { try Terminal.connect(path) }
        try sys("pidfd-socket: send") { try Terminal.sendFD(sock.raw, pidfd.raw, payload: "pidfd") }
    }
}
