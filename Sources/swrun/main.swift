import SwrunCLI
import SwrunCore
import SwrunSys

// The only place that chooses an exit code and writes errors to stderr and the log.
// A hook that exits without reading its state must not kill swrun with SIGPIPE (EPIPE is
// handled where it happens); children get default dispositions back before they exec.
Proc.ignoreSignal(Signals.pipe)
let argv = Array(Proc.arguments.dropFirst())
switch SwrunCLI.run(argv) {
case .exit(let code):
    Proc.exit(code)
case .usage(let e):
    Log.error(e.message)
    if !Log.config.isStderr || e.verb == nil {
        Stdio.writeStderr("Incorrect Usage. \(e.message)\n\n")
    }
    Proc.exit(1)
case .failure(let e, let verb):
    // runc prefixes the failures of create and run, and of exec, which also exits 255 (its
    // fatalWithCode); clients match the rest of the text.
    let text: String
    switch verb {
    case "create", "run": text = "swrun \(verb ?? "") failed: \(e.message)"
    case "exec": text = "exec failed: \(e.message)"
    default: text = e.message
    }
    Log.error(text)
    if !Log.config.isStderr { Stdio.writeStderr(text + "\n") }
    Proc.exit(verb == "exec" ? 255 : 1)
}
