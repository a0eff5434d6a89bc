/// Container ids as runc accepts them: `^[\w+\-.]+$`, and not "." or "..".
public enum ContainerID {
    public static func validate(_ id: String) throws(SwrunError) {
        if id.isEmpty || id == "." || id == ".." || id.utf8.count > 1024 {
            throw SwrunError(.usage, "invalid container ID format")
        }
        for c in id.unicodeScalars {
            let ok =
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
                || c == "_" || c == "+" || c == "-" || c == "."
            if !ok { throw SwrunError(.usage, "invalid container ID format") }
        }
    }
}
