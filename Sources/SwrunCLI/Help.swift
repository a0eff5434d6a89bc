/// Help text in runc's layout (urfave/cli: NAME, USAGE, DESCRIPTION, OPTIONS), which tools
/// that read runc's help rely on; the words are swrun's own (Verbs).
public enum Help {
    public static let version = "0.1.0"
    public static let commit = "swrun-0.1.0"

    public static func versionText(libseccomp: String) -> String {
        "swrun version \(version)\ncommit: \(commit)\nspec: 1.0.2-dev\nlibseccomp: \(libseccomp)\n"
    }

    static func flagLines(_ flags: [FlagSpec]) -> String {
        let rendered = flags.map { f -> (String, String) in
            let names = f.names.map { ($0.count == 1 ? "-" : "--") + $0 + (f.value.map { " " + $0 } ?? "") }.joined(
                separator: ", ")
            return (names, f.help)
        }
        let width = (rendered.map(\.0.count).max() ?? 0) + 2
        return rendered.map { "   " + $0.0 + String(repeating: " ", count: width - $0.0.count) + $0.1 }.joined(
            separator: "\n")
    }

    public static func root() -> String {
        let cmds = Verbs.all.sorted { $0.name < $1.name }
        let width = (cmds.map(\.name.count).max() ?? 0) + 2
        let list = cmds.map { "   " + $0.name + String(repeating: " ", count: width - $0.name.count) + $0.summary }
            .joined(separator: "\n")
        return """
            NAME:
               swrun - run containers from OCI bundles

            swrun creates and runs containers described by OCI bundles (a config.json and a
            root file system), as the Open Container Initiative runtime specification lays
            down. It takes runc's command line, so engines that drive runc can drive swrun.

            To check a bundle, then run a container from it:

                # swrun check -b bundle && swrun run -b bundle <container-id>

            USAGE:
               swrun [global options] command [command options] [arguments...]

            VERSION:
               \(version)

            COMMANDS:
            \(list)
               help, h     print this list, or the help of the command named after it

            GLOBAL OPTIONS:
            \(flagLines(Verbs.globals))

            """
    }

    public static func verb(_ v: VerbSpec) -> String {
        var s =
            "NAME:\n   swrun \(v.name) - \(v.summary)\n\nUSAGE:\n   swrun \(v.name) [command options] \(v.argsUsage)\n\n"
        s +=
            "DESCRIPTION:\n   \(v.description.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n   "))\n\n"
        if !v.flags.isEmpty { s += "OPTIONS:\n\(flagLines(v.flags))\n" }
        return s
    }
}
