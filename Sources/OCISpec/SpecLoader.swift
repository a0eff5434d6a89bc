/// Why a configuration could not be read: the message names the JSON path of the field.
public struct SpecError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Decodes config.json, process.json and LinuxResources. The runtime uses the hand-written
/// reader (FastJSON.swift, SpecMapper.swift): no Codable machinery and no Foundation in the
/// binary. The Codable decoder lives in OCISpecCodable, for tests and tools, and tests hold
/// the two to the same results.
public enum SpecLoader {}
