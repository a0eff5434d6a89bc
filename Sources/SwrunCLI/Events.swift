import OCISpec
import SwrunCore
import SwrunSys

/// `events`: stats lines and OOM events, as runc prints them.
extension SwrunCLI {
    static func events(_ c: Runtime, id: String, stats: Bool, interval: String) throws(SwrunError) {
        func line(_ type: String, _ data: JSON?) -> String {
            var m: [(String, JSON)] = [("type", .string(type)), ("id", .string(id))]
            if let data { m.append(("data", data)) }
            return JSON.object(m).encoded() + "\n"
        }
        if stats {
            Stdio.writeStdout(line("stats", try c.stats(id)))
            return
        }
        guard let ms = parseDuration(interval) else { throw SwrunError(.usage, "invalid interval \(Quote.short(interval))") }
        let watch = c.oomWatch(id)
        var ooms = c.oomKills(id)
        var next = 0
        while true {
            let stopped = c.isStopped(id)
            // An OOM kill often ends the container: report it before stopping.
            let o = c.oomKills(id)
            if o > ooms { Stdio.writeStdout(line("oom", nil)) }
            ooms = o
            if stopped { break }
            let now = Clock.monotonicMilliseconds()
            if now >= next {
                guard let s = try? c.stats(id) else { break }
                Stdio.writeStdout(line("stats", s))
                next = now + ms
            }
            if let watch {
                // Woken at once by an OOM kill (memory.events changed), else at the interval.
                _ = try? Files.pollReadable(watch.raw, timeoutMs: Int32(min(ms, 50)))
                Files.drain(watch.raw)
            } else {
                Proc.sleep(milliseconds: min(ms, 50))
            }
        }
    }
}
