import SwrunSys

/// External programs swrun runs itself (newuidmap and newgidmap): found in PATH as the
/// caller has it, run with posix_spawn (never a fork from Swift), their output kept for the
/// error message.
enum Tools {
    /// `name` in swrun's PATH (Debian's own directories where PATH is unset); nil if absent.
    static func find(_ name: String) -> String? {
        let path =
            Proc.getenv("PATH").flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":") where dir.startsWithBytes("/") {
            let candidate = String(dir) + "/" + name
            if let st = try? Files.stat(candidate), st.isRegular, Files.isExecutableByUs(candidate) { return candidate }
        }
        return nil
    }

    /// Runs `path` with `args` (argv[0] included), an empty environment and our stdin;
    /// returns its exit status and what it wrote to stdout and stderr (at most 4 KiB).
    static func run(_ path: String, _ args: [String]) throws(SwrunError) -> (ExitStatus, String) {
        let output = try sys("\(path): output pipe") { try Files.pipe() }
        let pid = try sys("run \(path)") {
            try Proc.spawn(path, args, [], stdin: -1, stdout: output.write.raw, stderr: output.write.raw)
        }
        output.write.close()
        var captured: [UInt8] = []
        while let chunk = try? Files.read(output.read.raw, max: 4096, display: path), !chunk.isEmpty {
            if captured.count < 4096 { captured += chunk }
        }
        guard let status = try sys("wait for \(path)", { try Proc.waitpid(pid) }) else {
            throw SwrunError(.system, "wait for \(path): no status")
        }
        return (status, trimWhitespace(String(decoding: captured, as: UTF8.self)))
    }
}
