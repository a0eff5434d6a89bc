import OCISpec
import SwrunSys

/// Runs OCI hooks: posix_spawn (never fork from Swift here: hooks also run from the container's
/// init), the state JSON on stdin, stdout and stderr captured for the error message, and the
/// hook's timeout enforced with SIGKILL.
public enum HookRunner {
    /// The longest timeout a config may give a hook, in seconds (a 32-bit int, as Go's
    /// runtime-spec type is used by runc; larger values overflow its duration).
    public static let maxTimeout = Int(Int32.max)

    /// `cwd`: the hooks' working directory: the bundle where runc runs them from it (it
    /// chdirs there for create and run); nil for the caller's (runc's start and delete).
    public static func run(_ hooks: [Hook], kind: String, state: String, cwd: String? = nil) throws(SwrunError) {
        for (i, h) in hooks.enumerated() {
            do { try runOne(h, state: state, cwd: cwd) } catch {
                throw error.wrapped("error running \(kind) hook #\(i)")
            }
        }
    }

    /// Runs every hook even when one fails, and reports each failure as a warning: what the
    /// spec asks of poststart and poststop hooks ("the error MUST be logged and the
    /// remaining hooks and lifecycle continue").
    public static func runAll(_ hooks: [Hook], kind: String, state: String, cwd: String? = nil) {
        for (i, h) in hooks.enumerated() {
            do { try runOne(h, state: state, cwd: cwd) } catch {
                Log.warning("error running \(kind) hook #\(i): \(error.message)")
            }
        }
    }

    static func runOne(_ h: Hook, state: String, cwd: String?) throws(SwrunError) {
        let stdin = try sys("hook stdin") { try Files.pipe() }
        let output = try sys("hook output") { try Files.pipe() }
        let args = h.args.flatMap { $0.isEmpty ? nil : $0 } ?? [h.path]
        let pid = try sys("spawn hook \(h.path)") {
            try Proc.spawn(
                h.path, args, h.env ?? [], stdin: stdin.read.raw, stdout: output.write.raw, stderr: output.write.raw,
                cwd: cwd)
        }
        stdin.read.close()
        output.write.close()
        // A hook that does not read its stdin must not block us: ignore EPIPE.
        try? Files.writeAll(fd: stdin.write.raw, state)
        stdin.write.close()
        // Bounded, and saturating: a state file written by another version must not trap here.
        let deadline = h.timeout.map { Clock.monotonicMilliseconds() + Swift.min(Swift.max($0, 1), maxTimeout) * 1000 }
        var captured: [UInt8] = []
        var status: ExitStatus? = nil
        while status == nil {
            if (try? Files.pollReadable(output.read.raw, timeoutMs: 20)) == true,
                let chunk = try? Files.read(output.read.raw, max: 4096, display: "hook output"), !chunk.isEmpty
            {
                if captured.count < 4096 { captured += chunk }
            }
            status = try sys { try Proc.waitpid(pid, noHang: true) }
            if status == nil, let deadline, Clock.monotonicMilliseconds() > deadline {
                _ = try? Proc.kill(pid, Signals.kill)
                _ = try? Proc.waitpid(pid)
                throw SwrunError(.system, "hook ran past specified timeout of \(h.timeout ?? 0).0s")
            }
        }
        guard let status, status != .exited(0) else { return }
        let out = trimWhitespace(String(decoding: captured, as: UTF8.self))
        switch status {
        case .exited(let c): throw SwrunError(.system, "exit status \(c)" + (out.isEmpty ? "" : ", output: \(out)"))
        case .signaled(let s):
            throw SwrunError(.system, "killed by signal \(s)" + (out.isEmpty ? "" : ", output: \(out)"))
        }
    }
}
