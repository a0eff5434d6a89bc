import OCISpec
import SwrunCLI

/// Shell completions for bash, zsh and fish, made from the command table: the verbs, each
/// verb's flags (with file, directory or fixed-word values where the placeholder says so),
/// the global flags, and container ids from `swrun list -q` (under the --root given on the
/// command line) where a verb takes an existing container.
public enum Completions {
    /// (file name, script) for each shell.
    public static func scripts() -> [(String, String)] {
        [("swrun.bash", bash()), ("_swrun", zsh()), ("swrun.fish", fish())]
    }

    /// What a flag's value completes to, from its placeholder.
    enum Value: Equatable {
        case none, file, directory, words([String])
    }

    static func value(_ f: FlagSpec) -> Value? {
        guard let v = f.value else { return nil }
        switch v {
        case "DIR": return .directory
        case "FILE", "PATH": return .file
        default:
            let parts = v.split(separator: "|").map(String.init)
            if parts.count > 1,
                parts.allSatisfy({ $0.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "-") } })
            {
                return .words(parts)
            }
            return Value.none
        }
    }

    /// What a verb's positional arguments are.
    enum Positional { case none, newID, existingID, idThenSignal, idThenCommand, verb }

    static func positional(_ v: VerbSpec) -> Positional {
        switch v.name {
        case "create", "run": return .newID
        case "kill": return .idThenSignal
        case "exec", "ps": return .idThenCommand
        default: return v.argsUsage.hasPrefix("<container-id>") ? .existingID : Positional.none
        }
    }

    static let signals = ["KILL", "TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT", "WINCH"]
    static let header =
        "Generated from swrun's command table (Sources/SwrunCLI/Verbs.swift) by swrun-docs: do not edit."

    static func dashed(_ n: String) -> String { (n.count == 1 ? "-" : "--") + n }
    static var verbs: [VerbSpec] { Verbs.all.sorted { $0.name < $1.name } }

    // MARK: bash

    static func bashValueCase(_ f: FlagSpec, prefix: String) -> String? {
        guard let kind = value(f) else { return nil }
        let pats = f.names.map { prefix + dashed($0) }.joined(separator: "|")
        switch kind {
        case .none: return "        \(pats)) return ;;\n"
        case .file: return "        \(pats)) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
        case .directory: return "        \(pats)) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
        case .words(let w):
            return "        \(pats)) COMPREPLY=($(compgen -W \"\(w.joined(separator: " "))\" -- \"$cur\")); return ;;\n"
        }
    }

    public static func bash() -> String {
        let globalValued = Verbs.globals.filter { $0.value != nil && $0.names[0] != "root" }.flatMap {
            $0.names.map(dashed)
        }
        var s = "# bash completion for swrun(8). \(header)\n\n"
        s += "_swrun_ids() {\n    swrun ${_swrun_root:+--root \"$_swrun_root\"} list -q 2>/dev/null\n}\n\n"
        s += "_swrun() {\n"
        s += "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
        s += "    local i w verb= vi=0 n=0 _swrun_root=\n"
        s += "    COMPREPLY=()\n"
        s += "    for ((i = 1; i < COMP_CWORD; i++)); do\n        w=${COMP_WORDS[i]}\n        case $w in\n"
        s += "        --root|-root) _swrun_root=${COMP_WORDS[i+1]}; ((i++)) ;;\n"
        s += "        --root=*|-root=*) _swrun_root=${w#*=} ;;\n"
        s += "        \(globalValued.joined(separator: "|"))) ((i++)) ;;\n"
        s += "        -*) ;;\n        *) verb=$w; vi=$i; break ;;\n        esac\n    done\n"
        s += "    if [[ -z $verb ]]; then\n        case $prev in\n"
        for f in Verbs.globals { if let c = bashValueCase(f, prefix: "") { s += "    " + c } }
        s += "        esac\n"
        s +=
            "        if [[ $cur == -* ]]; then\n            COMPREPLY=($(compgen -W \"\(Verbs.globals.flatMap { $0.names.map(dashed) }.joined(separator: " "))\" -- \"$cur\"))\n"
        s +=
            "        else\n            COMPREPLY=($(compgen -W \"\(verbs.map(\.name).joined(separator: " ")) help\" -- \"$cur\"))\n        fi\n        return\n    fi\n"
        // Values of the verb's flags.
        s += "    case $verb:$prev in\n"
        for v in verbs {
            for f in v.flags { if let c = bashValueCase(f, prefix: v.name + ":") { s += c } }
        }
        s += "    esac\n"
        // The positionals so far (a valued flag's value is not one).
        s += "    for ((i = vi + 1; i < COMP_CWORD; i++)); do\n        w=${COMP_WORDS[i]}\n        case $verb:$w in\n"
        let valued = verbs.flatMap { v in
            v.flags.filter { $0.value != nil }.flatMap { f in f.names.map { v.name + ":" + dashed($0) } }
        }
        s += "        \(valued.joined(separator: "|"))) ((i++)) ;;\n"
        s += "        *:-*) ;;\n        *) ((n++)) ;;\n        esac\n    done\n"
        s += "    case $verb in\n"
        for v in verbs {
            let flags = (v.flags.flatMap { $0.names.map(dashed) } + ["--help"]).joined(separator: " ")
            let flagLine = "if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"\(flags)\" -- \"$cur\")); return; fi"
            s += "    \(v.name))\n"
            switch positional(v) {
            case .idThenCommand:
                s +=
                    "        if ((n == 0)); then \(flagLine.replacingAll("; return; fi", with: "; return; fi")); COMPREPLY=($(compgen -W \"$(_swrun_ids)\" -- \"$cur\"))\n"
                s += "        else COMPREPLY=($(compgen -f -- \"$cur\")); fi ;;\n"
            case .idThenSignal:
                s += "        \(flagLine)\n"
                s += "        if ((n == 0)); then COMPREPLY=($(compgen -W \"$(_swrun_ids)\" -- \"$cur\"))\n"
                s +=
                    "        elif ((n == 1)); then COMPREPLY=($(compgen -W \"\(signals.joined(separator: " "))\" -- \"$cur\")); fi ;;\n"
            case .existingID:
                s +=
                    "        \(flagLine)\n        ((n == 0)) && COMPREPLY=($(compgen -W \"$(_swrun_ids)\" -- \"$cur\")) ;;\n"
            case .newID, .none, .verb:
                s += "        \(flagLine) ;;\n"
            }
        }
        s +=
            "    help) ((n == 0)) && COMPREPLY=($(compgen -W \"\(verbs.map(\.name).joined(separator: " "))\" -- \"$cur\")) ;;\n"
        s += "    esac\n}\n\ncomplete -F _swrun swrun\n"
        return s
    }

    // MARK: zsh

    /// Text inside a single-quoted _arguments spec: ' closed and reopened, ] and : escaped.
    static func zq(_ s: String) -> String {
        s.replacingAll("'", with: "'\\''").replacingAll("]", with: "\\]").replacingAll("[", with: "\\[").replacingAll(
            ":", with: "\\:")
    }

    static func zshAction(_ f: FlagSpec) -> String {
        guard let kind = value(f) else { return "" }
        let msg = zq(f.value ?? "value")
        switch kind {
        case .none: return ":\(msg): "
        case .file: return ":\(msg):_files"
        case .directory: return ":\(msg):_files -/"
        case .words(let w): return ":\(msg):(\(w.joined(separator: " ")))"
        }
    }

    static func zshSpecs(_ flags: [FlagSpec]) -> [String] {
        flags.map { f in
            let names = f.names.map(dashed)
            let rep = f.repeatable ? "*" : ""
            let exclusion = names.count > 1 && !f.repeatable ? "(\(names.joined(separator: " ")))" : ""
            let forms = names.map { $0.hasPrefix("--") && f.value != nil ? $0 + "=" : $0 }
            let opt = forms.count > 1 ? "{\(forms.joined(separator: ","))}" : forms[0]
            let pre = rep + exclusion
            return (pre.isEmpty ? "" : "'\(pre)'") + opt + "'[\(zq(f.help))]\(zshAction(f))'"
        }
    }

    public static func zsh() -> String {
        var s = "#compdef swrun\n# zsh completion for swrun(8). \(header)\n\n"
        s +=
            "_swrun_ids() {\n    local -a ids\n    ids=(${(f)\"$(_call_program containers swrun ${_swrun_root:+--root $_swrun_root} list -q 2>/dev/null)\"})\n    _describe -t containers 'container' ids\n}\n\n"
        s += "_swrun_verbs() {\n    local -a verbs\n    verbs=(\n"
        for v in verbs { s += "        '\(v.name):\(zq(v.summary))'\n" }
        s += "    )\n    _describe -t commands 'swrun command' verbs\n}\n\n"
        s += "_swrun() {\n    local curcontext=$curcontext state line _swrun_root\n    typeset -A opt_args\n"
        s += "    _arguments -C \\\n"
        for spec in zshSpecs(Verbs.globals) { s += "        \(spec) \\\n" }
        s += "        '1: :_swrun_verbs' \\\n        '*:: :->args' && return\n"
        s += "    _swrun_root=${opt_args[--root]}\n"
        s += "    [[ $state == args ]] || return\n"
        s += "    curcontext=${curcontext%:*:*}:swrun-$words[1]:\n"
        s += "    case $words[1] in\n"
        for v in verbs {
            var specs = zshSpecs(v.flags) + ["'(- *)'{--help,-h}'[print help and exit]'"]
            switch positional(v) {
            case .newID: specs.append("'1:new container id: '")
            case .existingID: specs.append("'1:container:_swrun_ids'")
            case .idThenSignal: specs += ["'1:container:_swrun_ids'", "'2:signal:(\(signals.joined(separator: " ")))'"]
            case .idThenCommand: specs += ["'1:container:_swrun_ids'", "'*::command:_normal'"]
            case .none, .verb: break
            }
            s +=
                "    \(v.name))\n        _arguments \\\n" + specs.map { "            \($0)" }.joined(separator: " \\\n")
                + " ;;\n"
        }
        s += "    help) _swrun_verbs ;;\n"
        s += "    esac\n}\n\n_swrun \"$@\"\n"
        return s
    }

    // MARK: fish

    static func fq(_ s: String) -> String {
        "'" + s.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'") + "'"
    }

    static func fishFlag(_ f: FlagSpec, condition: String) -> String {
        var s = "complete -c swrun -n \(fq(condition))"
        for n in f.names { s += n.count == 1 ? " -s \(n)" : " -l \(n)" }
        switch value(f) {
        case nil: break
        case .none?: s += " -x"
        case .file?: s += " -r -F"
        case .directory?: s += " -x -a '(__fish_complete_directories)'"
        case .words(let w)?: s += " -x -a \(fq(w.joined(separator: " ")))"
        }
        return s + " -d \(fq(f.help))\n"
    }

    public static func fish() -> String {
        let globalValued = Verbs.globals.filter { $0.value != nil }.flatMap { $0.names.map(dashed) }
        var s = "# fish completion for swrun(8). \(header)\n\n"
        s += "# The verb: the first word that is neither a global flag nor a global flag's value.\n"
        s +=
            "function __swrun_verb\n    set -l tokens (commandline -opc)\n    set -e tokens[1]\n    set -l skip 0\n    for t in $tokens\n"
        s += "        if test $skip = 1\n            set skip 0\n            continue\n        end\n"
        s +=
            "        switch $t\n            case \(globalValued.joined(separator: " "))\n                set skip 1\n            case '-*'\n            case '*'\n                echo $t\n                return 0\n        end\n    end\n    return 1\nend\n\n"
        s += "function __swrun_no_verb\n    not __swrun_verb >/dev/null\nend\n\n"
        s += "function __swrun_verb_is\n    set -l v (__swrun_verb)\n    test \"$v\" = \"$argv[1]\"\nend\n\n"
        s += "# The words after the verb that are not flags (or flags' values).\n"
        s +=
            "function __swrun_positionals\n    set -l tokens (commandline -opc)\n    set -l seen 0\n    set -l n 0\n    set -l skip 0\n    for t in $tokens[2..-1]\n"
        s += "        if test $skip = 1\n            set skip 0\n            continue\n        end\n"
        s +=
            "        if test $seen = 0\n            switch $t\n                case \(globalValued.joined(separator: " "))\n                    set skip 1\n                case '-*'\n                case '*'\n                    set seen 1\n            end\n            continue\n        end\n"
        s +=
            "        switch $t\n            case \(verbs.flatMap { $0.flags.filter { $0.value != nil }.flatMap { $0.names.map(dashed) } }.uniqued().joined(separator: " "))\n                set skip 1\n            case '-*'\n            case '*'\n                set n (math $n + 1)\n        end\n    end\n    echo $n\nend\n\n"
        s += "# Container ids from `swrun list -q`, under the --root given on the command line.\n"
        s +=
            "function __swrun_ids\n    set -l tokens (commandline -opc)\n    set -l root\n    for i in (seq (count $tokens))\n"
        s +=
            "        switch $tokens[$i]\n            case --root -root\n                set root --root $tokens[(math $i + 1)]\n            case '--root=*' '-root=*'\n                set root --root (string replace -r '^-+root=' '' -- $tokens[$i])\n        end\n    end\n"
        s += "    swrun $root list -q 2>/dev/null\nend\n\n"
        s += "complete -c swrun -f\n"
        for f in Verbs.globals { s += fishFlag(f, condition: "__swrun_no_verb") }
        for v in verbs { s += "complete -c swrun -n '__swrun_no_verb' -a \(v.name) -d \(fq(v.summary))\n" }
        s += "complete -c swrun -n '__swrun_no_verb' -a help -d 'print the commands, or one command\\'s help'\n"
        s += "complete -c swrun -n '__swrun_verb_is help' -a '\(verbs.map(\.name).joined(separator: " "))'\n"
        for v in verbs {
            s += "\n# \(v.name)\n"
            for f in v.flags { s += fishFlag(f, condition: "__swrun_verb_is \(v.name)") }
            s += fishFlag(FlagSpec(["help", "h"], help: "print help and exit"), condition: "__swrun_verb_is \(v.name)")
            switch positional(v) {
            case .existingID:
                s +=
                    "complete -c swrun -n '__swrun_verb_is \(v.name); and test (__swrun_positionals) = 0' -a '(__swrun_ids)'\n"
            case .idThenSignal:
                s +=
                    "complete -c swrun -n '__swrun_verb_is \(v.name); and test (__swrun_positionals) = 0' -a '(__swrun_ids)'\n"
                s +=
                    "complete -c swrun -n '__swrun_verb_is \(v.name); and test (__swrun_positionals) = 1' -a '\(signals.joined(separator: " "))'\n"
            case .idThenCommand:
                s +=
                    "complete -c swrun -n '__swrun_verb_is \(v.name); and test (__swrun_positionals) = 0' -a '(__swrun_ids)'\n"
                s += "complete -c swrun -n '__swrun_verb_is \(v.name); and test (__swrun_positionals) -ge 1' -F\n"
            case .newID, .none, .verb: break
            }
        }
        return s
    }
}

extension Array where Element == String {
    func uniqued() -> [String] {
        var out: [String] = []
        for s in self where !out.contains(s) { out.append(s) }
        return out
    }
}
