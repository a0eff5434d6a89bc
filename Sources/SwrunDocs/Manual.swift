import OCISpec
import SwrunCLI

/// The man pages, made from the command table (Verbs) that `--help` prints: swrun(8) and one
/// page a verb, swrun-VERB(8). Nothing in them is written twice, so they cannot drift from
/// the binary.
public enum Manual {
    /// (file name, roff source) of every page.
    public static func pages() -> [(String, String)] {
        [("swrun.8", root())] + Verbs.all.sorted { $0.name < $1.name }.map { ("swrun-\($0.name).8", page($0)) }
    }

    static let header =
        ".\\\" Generated from swrun's command table (Sources/SwrunCLI/Verbs.swift) by swrun-docs: do not edit.\n"

    /// Text for roff: backslashes doubled as \e, a leading dot or quote kept literal,
    /// hyphens as \- (so that options copy and paste as ASCII hyphens).
    static func esc(_ s: String) -> String {
        var out = ""
        for line in s.split(separator: "\n", omittingEmptySubsequences: false) {
            var l = String(line).replacingAll("\\", with: "\\e").replacingAll("-", with: "\\-")
            if l.hasPrefix(".") || l.hasPrefix("'") { l = "\\&" + l }
            out += (out.isEmpty ? "" : "\n") + l
        }
        return out
    }

    /// A description from the table: its paragraphs (blank lines) as .PP, lines indented
    /// by spaces (examples) verbatim.
    static func paragraphs(_ text: String) -> String {
        var out = ""
        var verbatim = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                if verbatim { out += ".fi\n.RE\n"; verbatim = false }
                out += ".PP\n"
                continue
            }
            if line.hasPrefix("  ") {
                if !verbatim { out += ".RS 4\n.nf\n"; verbatim = true }
                out += esc(String(line.drop { $0 == " " })) + "\n"
                continue
            }
            if verbatim { out += ".fi\n.RE\n"; verbatim = false }
            out += esc(String(line)) + "\n"
        }
        if verbatim { out += ".fi\n.RE\n" }
        return out
    }

    static func flagName(_ n: String) -> String { (n.count == 1 ? "\\-" : "\\-\\-") + esc(n) }

    static func options(_ flags: [FlagSpec]) -> String {
        var out = ""
        for f in flags {
            let names = f.names.map {
                "\\fB" + flagName($0) + "\\fR" + (f.value.map { " \\fI" + esc($0) + "\\fR" } ?? "")
            }.joined(separator: ", ")
            out += ".TP\n\(names)\n\(esc(f.help))\(f.repeatable ? " May be given more than once." : "")\n"
        }
        return out
    }

    static func th(_ name: String) -> String {
        ".TH \(name.uppercased()) 8 \"\" \"swrun \(Help.version)\" \"System Administration\"\n"
    }

    static func synopsis(_ v: VerbSpec) -> String {
        let args = v.argsUsage.split(separator: "|").first.map { String($0).trimmingSpaces } ?? ""
        var s = ".B swrun\n[\\fIglobal options\\fR]\n.B \(v.name)\n"
        if !v.flags.isEmpty { s += "[\\fIoptions\\fR]\n" }
        if !args.isEmpty { s += esc(args) + "\n" }
        if v.name == "exec" {
            s +=
                ".br\n.B swrun\n[\\fIglobal options\\fR]\n.B exec\n[\\fIoptions\\fR]\n\\fB\\-\\-process\\fR \\fIprocess.json\\fR <container\\-id>\n"
        }
        return s
    }

    public static func page(_ v: VerbSpec) -> String {
        var s = header + th("swrun-" + v.name)
        s += ".SH NAME\nswrun\\-\(esc(v.name)) \\- \(esc(v.summary))\n"
        s += ".SH SYNOPSIS\n" + synopsis(v)
        s += ".SH DESCRIPTION\n" + paragraphs(v.description)
        if !v.flags.isEmpty { s += ".SH OPTIONS\n" + options(v.flags) }
        s += ".PP\nThe global options of \\fBswrun\\fR(8) come before the command.\n"
        s += ".SH EXIT STATUS\n" + exitStatus(v)
        s += ".SH SEE ALSO\n\\fBswrun\\fR(8)\n"
        return s
    }

    static func exitStatus(_ v: VerbSpec) -> String {
        switch v.name {
        case "check":
            return "0 when create would succeed with the bundle, 1 when it would not or the command line is wrong.\n"
        case "run":
            return
                "In the foreground, the container's exit status (128 plus the signal's number when a signal ended it); 1 when swrun fails.\n"
        case "exec":
            return "Without \\fB\\-\\-detach\\fR, the process's exit status; 255 when swrun fails to start it.\n"
        default: return "0 on success, 1 on failure.\n"
        }
    }

    public static func root() -> String {
        var s = header + th("swrun")
        s += ".SH NAME\nswrun \\- run containers from OCI bundles\n"
        s +=
            ".SH SYNOPSIS\n.B swrun\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR...]\n"
        s += ".SH DESCRIPTION\n"
        s += paragraphs(
            "swrun is a container runtime: given an OCI bundle, a directory with a config.json and a root file system, it creates and runs the container that the Open Container Initiative runtime specification describes. It is one static executable and takes runc's command line, so container engines that drive runc (containerd, Docker, Podman) can use it in runc's place.\n\nA bundle can be checked before it is used: swrun check reports every problem create would hit, each with its field and a fix."
        )
        s += ".SH COMMANDS\n"
        for v in Verbs.all.sorted(by: { $0.name < $1.name }) {
            s += ".TP\n\\fBswrun\\-\(esc(v.name))\\fR(8)\n\(esc(v.summary))\n"
        }
        s +=
            ".TP\n\\fBhelp\\fR [\\fIcommand\\fR]\nprint the list of commands, or one command's help (as \\fB\\-\\-help\\fR does)\n"
        s += ".SH GLOBAL OPTIONS\n" + options(Verbs.globals)
        s +=
            ".SH EXIT STATUS\n0 on success, 1 on failure; \\fBrun\\fR and \\fBexec\\fR pass on their process's status (see their pages).\n"
        s +=
            ".SH FILES\n.TP\n.I /run/swrun\nthe default state directory (\\fB\\-\\-root\\fR): one directory per container.\n"
        s +=
            ".SH SEE ALSO\n"
            + Verbs.all.map(\.name).sorted().map { "\\fBswrun\\-\(esc($0))\\fR(8)" }.joined(separator: ",\n") + "\n"
        return s
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
