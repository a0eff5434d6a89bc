import SwrunSys

/// A foreground `run` or `exec` with a terminal and no --console-socket: swrun receives the
/// pty master itself over a private socketpair and relays it to its own stdio, in raw mode,
/// following the window size, until the process exits; then restores the terminal.
final class TTYRelay {
    let ours: OwnedFD
    let theirs: OwnedFD

    init() throws(SwrunError) {
        (ours, theirs) = try sys("console socketpair") { try Terminal.streamPair() }
    }

    /// After the child has sent its master: relay, wait for `pid`, return its status.
    func relay(pid: Int32) throws(SwrunError) -> ExitStatus {
        theirs.close()
        let master = try sys { try Terminal.receiveFD(ours.raw) }
        let saved = Stdio.isatty(0) ? Terminal.makeRaw(0) : nil
        defer { if let saved { Terminal.restore(0, saved) } }
        var size = Terminal.size(0)
        if let size { try? Terminal.setSize(master.raw, rows: size.rows, cols: size.cols) }
        var stdinOpen = true
        var status: ExitStatus?
        var masterOpen = true
        while masterOpen || status == nil {
            let ready = Files.pollReadable([stdinOpen ? 0 : -1, masterOpen ? master.raw : -1], timeoutMs: 50)
            if ready[0] {
                let data = Files.readSome(0)
                if data.isEmpty { stdinOpen = false } else { try? Files.writeAll(fd: master.raw, data) }
            }
            if ready[1] {
                let data = Files.readSome(master.raw)
                if data.isEmpty { masterOpen = false } else { try? Files.writeAll(fd: 1, data) }
            }
            // SIGWINCH is forwarded to the process; the size itself is copied here.
            if let now = Terminal.size(0), size.map({ $0 != now }) ?? true {
                size = now
                try? Terminal.setSize(master.raw, rows: now.rows, cols: now.cols)
            }
            if status == nil { status = try sys { try Proc.waitpid(pid, noHang: true) } }
            if status != nil && !ready[1] && masterOpen {
                // Drain what is left, then stop.
                if !Files.pollReadable([master.raw], timeoutMs: 10)[0] { masterOpen = false }
            }
        }
        return status ?? .exited(1)
    }
}
