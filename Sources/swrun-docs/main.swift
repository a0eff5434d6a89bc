import SwrunDocs
import SwrunSys

// swrun-docs DIR: writes DIR/man/*.8 (swrun(8) and a page per verb) and DIR/completions/
// (swrun.bash, _swrun, swrun.fish), all made from the command table (make docs).
let args = Proc.arguments
guard args.count == 2 else {
    Stdio.writeStderr("usage: swrun-docs DIR\n")
    Proc.exit(2)
}
let dir = args[1]
do {
    for sub in ["", "/man", "/completions"] where !Files.exists(dir + sub) { try Files.mkdir(dir + sub, mode: 0o755) }
    for (name, text) in Manual.pages() { try Files.writeAtomic(dir + "/man/" + name, Array(text.utf8), mode: 0o644) }
    for (name, text) in Completions.scripts() {
        try Files.writeAtomic(dir + "/completions/" + name, Array(text.utf8), mode: 0o644)
    }
} catch {
    Stdio.writeStderr("swrun-docs: \(error)\n")
    Proc.exit(1)
}
