import OCISpec
import SwrunCore
import SwrunSys

/// `spec`: runc's template config.json.
extension SwrunCLI {
    static func spec(bundle: String?, rootless: Bool) throws(SwrunError) {
        let dir = bundle ?? "."
        let path = dir + "/config.json"
        if Files.exists(path) { throw SwrunError(.usage, "File config.json exists. Remove it first") }
        let text = rootless ? DefaultSpec.rootlessJSON(uid: Creds.geteuid(), gid: Creds.getegid()) : DefaultSpec.json
        do { try Files.writeAtomic(path, Array(text.utf8), mode: 0o644) } catch {
            throw SwrunError.system(error).wrapped("write \(path)")
        }
    }
}
