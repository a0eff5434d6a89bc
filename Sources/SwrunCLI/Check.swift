import OCISpec
import SwrunCore
import SwrunSys

/// `check`: every problem `create` would hit with a bundle, found by create's own checks
/// (Validation.check), as text for people or a JSON list for tools. Exit 0 when create
/// would succeed, 1 when it would not; warnings alone do not fail.
extension SwrunCLI {
    static func check(bundle: String, format: String, systemdCgroup: Bool = false) throws(SwrunError) -> Int32 {
        guard format == "text" || format == "json" else {
            throw SwrunError(.usage, "invalid format option \(Quote.short(format)) (text or json)")
        }
        var options = CreateOptions()
        options.systemdCgroup = systemdCgroup
        let findings = Validation.check(bundle: bundle, options: options)
        let errors = findings.filter { $0.severity == .error }.count
        if format == "json" {
            let list = JSON.array(
                findings.map {
                    .object([
                        ("path", .string($0.path)), ("severity", .string($0.severity.rawValue)),
                        ("message", .string($0.message)), ("hint", .string($0.hint)),
                    ])
                })
            Stdio.writeStdout(list.encoded(indent: "  ") + "\n")
        } else {
            Stdio.writeStdout(checkText(findings, bundle: bundle))
        }
        return errors > 0 ? 1 : 0
    }

    /// One block a finding: "error: PATH: MESSAGE", then the fix; a last line counts them.
    public static func checkText(_ findings: [Finding], bundle: String) -> String {
        var out = ""
        for f in findings {
            out += "\(f.severity.rawValue): \(f.path.isEmpty ? "config.json" : f.path): \(f.message)\n"
            if !f.hint.isEmpty { out += "  fix: \(f.hint)\n" }
        }
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.count - errors
        func n(_ k: Int, _ what: String) -> String { "\(k) \(what)\(k == 1 ? "" : "s")" }
        out +=
            errors == 0
            ? "\(bundle): create would succeed (\(n(warnings, "warning")))\n"
            : "\(bundle): create would fail: \(n(errors, "error")), \(n(warnings, "warning"))\n"
        return out
    }
}

extension Verbs {
    static let check = VerbSpec(
        name: "check", summary: "report every problem that create would hit with a bundle", argsUsage: "",
        description:
            "Reads the bundle the way create does, through the same checks, and reports all\nof the problems at once rather than the first: the config's JSON, types, values and\nfields swrun does not support; the rootfs, the program in process.args (searched in\nthe config's PATH), the user, the working directory; mounts; the namespaces, cgroup\ncontrollers and resources of this host; the seccomp profile; AppArmor and SELinux;\nhooks. Each finding names the field and a fix. Nothing is created.\n\nExit status 0 means create would succeed (warnings alone do not count), 1 that it\nwould not. --format json prints a list of {path, severity, message, hint}.",
        flags: [
            FlagSpec(
                ["bundle", "b"], value: "DIR", help: "the bundle directory to check (default: the current directory)"),
            FlagSpec(
                ["format", "f"], value: "text|json",
                help: "output as text or as a JSON list of findings (default: text)"),
        ],
        minArgs: 0, maxArgs: 0, stopAtPositional: false)
}
