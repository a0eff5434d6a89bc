import FoundationEssentials
import OCISpec

/// The Codable side of SpecLoader (JSONDecoder/JSONEncoder), kept out of the runtime binary.
extension SpecLoader {
    public static func decodeSpec(_ bytes: [UInt8]) throws(SpecError) -> Spec {
        try decode(Spec.self, bytes)
    }

    public static func decodeProcess(_ bytes: [UInt8]) throws(SpecError) -> Process {
        try decode(Process.self, bytes)
    }

    public static func decodeResources(_ bytes: [UInt8]) throws(SpecError) -> LinuxResources {
        try decode(LinuxResources.self, bytes)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(SpecError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw SpecError(describe(error))
        } catch {
            throw SpecError("\(error)")
        }
    }

    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return (try? Array(enc.encode(value))) ?? []
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
        }
        return s.isEmpty ? "(root)" : s
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let ctx):
            return "\(path(ctx.codingPath)): expected \(typeName(type)): \(ctx.debugDescription)"
        case .valueNotFound(let type, let ctx):
            return "\(path(ctx.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let ctx):
            return "\(path(ctx.codingPath + [key])): required field is missing"
        case .dataCorrupted(let ctx):
            let underlying = ctx.underlyingError.map { ": \($0)" } ?? ""
            return "\(path(ctx.codingPath)): \(ctx.debugDescription)\(underlying)"
        @unknown default:
            return "\(error)"
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        let n = String(describing: t)
        switch n {
        case "String": return "a string"
        case "Bool": return "a boolean"
        case "Int", "Int64", "UInt32", "UInt64", "Int32", "UInt16": return "a number (\(n))"
        default:
            if n.hasPrefix("Array") { return "an array" }
            if n.hasPrefix("Dictionary") { return "an object" }
            return "an object (\(n))"
        }
    }
}
