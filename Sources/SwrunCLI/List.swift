import OCISpec
import SwrunCore
import SwrunSys

/// `list`: the table (Go's tabwriter, as runc) or JSON.
extension SwrunCLI {
    static func list(_ c: Runtime, format: String, quiet: Bool) throws(SwrunError) {
        let states = try c.list()
        if quiet {
            Stdio.writeStdout(states.map { $0.id + "\n" }.joinedText())
            return
        }
        switch format {
        case "json":
            Stdio.writeStdout(JSON.array(states.map { $0.runtimeJSON }).encoded() + "\n")
        case "table":
            let rows =
                [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
                + states.map {
                    [$0.id, String($0.pid), $0.status, $0.bundle, $0.created, $0.owner]
                }
            Stdio.writeStdout(Table.render(rows))
        default:
            throw SwrunError(.usage, "invalid format option")
        }
    }
}

/// Go's text/tabwriter with runc's settings (minwidth 12, padding 3, no trailing padding).
public enum Table {
    /// Columns padded to the widest cell + 3 (at least 12), as Go's tabwriter does for runc;
    /// widths in code points, as tabwriter counts runes. Built as bytes: `list` renders
    /// thousands of rows.
    public static func render(_ rows: [[String]]) -> String {
        guard let cols = rows.first?.count else { return "" }
        let runes = { (s: String) -> Int in s.utf8.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
        var widths = [Int](repeating: 12, count: cols)
        for r in rows {
            for (i, cell) in r.enumerated() where i < cols - 1 { widths[i] = max(widths[i], runes(cell) + 3) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * widths.reduce(0, +) + rows.count * 40)
        for r in rows {
            for (i, cell) in r.enumerated() {
                out.append(contentsOf: cell.utf8)
                if i < cols - 1 {
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[i] - runes(cell)))
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
