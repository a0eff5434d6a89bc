import OCISpec
import SwrunCore
import SwrunSys

/// `ps`: the container's pids as JSON, or the host's ps(1) filtered to them.
extension SwrunCLI {
    static func ps(_ c: Runtime, id: String, format: String, psArgs: [String]) throws(SwrunError) {
        let pids = try c.pids(id)
        switch format {
        case "json":
            Stdio.writeStdout(JSON.array(pids.map { .int(Int64($0)) }).encoded() + "\n")
        case "table":
            // As runc: ps(1) with the given options (default -ef), keeping the header and
            // the container's processes; without a ps on the host, /proc is read directly.
            if let out = HostPS.run(psArgs.isEmpty ? ["-ef"] : psArgs) {
                Stdio.writeStdout(try HostPS.filter(out, pids: Set(pids)))
                return
            }
            var rows = [["PID", "CMD"]]
            for pid in pids {
                let cmd =
                    (try? Files.readFile("/proc/\(pid)/cmdline")).map { bytes in
                        bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                    } ?? ""
                rows.append([String(pid), cmd])
            }
            Stdio.writeStdout(Table.render(rows))
        default:
            throw SwrunError(.usage, "invalid format option")
        }
    }
}

/// ps(1) on the host, for `swrun ps ID [ps options]`.
public enum HostPS {
    static func run(_ args: [String]) -> String? {
        guard let ps = ["/bin/ps", "/usr/bin/ps"].first(where: { Files.isExecutable($0) }),
            let out = try? Files.pipe(),
            let pid = try? Proc.spawn(
                ps, ["ps"] + args, Proc.environment(), stdin: -1, stdout: out.write.raw, stderr: -1)
        else { return nil }
        out.write.close()
        let bytes = (try? Files.readAll(fd: out.read.raw)) ?? []
        guard let status = try? Proc.waitpid(pid), status == .exited(0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The header and the lines whose PID column is one of `pids` (runc's ps filter).
    public static func filter(_ output: String, pids: Set<Int32>) throws(SwrunError) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first, let column = header.split(separator: " ").firstIndex(of: "PID") else {
            throw SwrunError(.usage, "couldn't find PID field in ps output")
        }
        var out = String(header) + "\n"
        for line in lines.dropFirst() where !line.isEmpty {
            let fields = line.split(separator: " ")
            if fields.count > column, let pid = Int32(fields[column]), pids.contains(pid) { out += line + "\n" }
        }
        return out
    }
}
