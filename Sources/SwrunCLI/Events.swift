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
        guard let ms = parseDuration(interval) else {
            throw SwrunError(.usage, "invalid interval \(Quote.short(interval))")
        }
        try c.events(id, intervalMilliseconds: ms) { event in
            switch event {
            case .stats(let s): Stdio.writeStdout(line("stats", s))
            case .oom: Stdio.writeStdout(line("oom", nil))
            }
            return true
        }
    }
}
