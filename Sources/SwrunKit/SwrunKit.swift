// SwrunKit: SwrunCore as a library for Swift programs (docs/library.md). The runtime's
// façade (`Runtime`, one function per verb over a state root) with what a program holding
// a configuration value needs on top: create and run from a `Spec`, and the one opt-in
// process-wide step, protecting the calling program's executable (CVE-2019-5736).
//
// Encoding a Spec uses FoundationEssentials' JSONEncoder (OCISpecCodable): that is why this
// lives beside SwrunCore, not in it; the swrun binary links neither.
@_exported import OCISpec
import OCISpecCodable
@_exported import SwrunCore
import SwrunSys

extension Runtime {
    /// `create` from a configuration value: `bundle` is the directory relative paths in it
    /// (root.path, mount sources) are resolved against, and the container's bundle in its
    /// state; nothing is read from or written to it.
    public func create(
        id: String, spec: Spec, bundle: String, pidFile: String? = nil, options: CreateOptions = CreateOptions()
    ) throws(SwrunError) {
        var o = options
        o.config = try SwrunKit.encode(spec)
        try create(id: id, bundle: bundle, pidFile: pidFile, options: o)
    }

    /// `run` from a configuration value: create, start, wait for the container's process,
    /// delete (unless `keep`); returns its exit code (128 + n for a signal), or 0 at once
    /// when `detach`.
    public func run(
        id: String, spec: Spec, bundle: String, pidFile: String? = nil, options: CreateOptions = CreateOptions(),
        detach: Bool = false, keep: Bool = false
    ) throws(SwrunError) -> Int32 {
        var o = options
        o.config = try SwrunKit.encode(spec)
        o.detached = detach
        return try run(id: id, bundle: bundle, pidFile: pidFile, options: o, detach: detach, keep: keep)
    }
}

public enum SwrunKit {
    /// config.json's bytes for `spec` (what `create` validates and saves for `exec`).
    public static func encode(_ spec: Spec) throws(SwrunError) -> [UInt8] {
        let bytes = SpecLoader.encode(spec)
        if bytes.isEmpty { throw SwrunError.config("the configuration could not be encoded as JSON") }
        return bytes
    }

    /// A program that creates containers is what their processes see before they execute
    /// the container's program (the init waits for `start` as a fork of this program, and
    /// so does an exec'd process until its execve): one that can reopen that executable
    /// through /proc/<pid>/exe could replace it (CVE-2019-5736). swrun re-executes itself
    /// from a view that cannot be written; a library cannot do that behind its caller's
    /// back. Call this first thing in `main` (before any thread exists): it returns when the
    /// program already runs from a sealed copy or a read-only mount, and otherwise
    /// re-executes it, with the same arguments, from such a view (and does not return).
    /// `scratch`: a directory of the caller's for the overlay's empty upper layer.
    public static func protectExecutable(scratch: String) throws(SwrunError) {
        do { try SealedBinary.ensure(scratch: scratch, argv: Proc.arguments) } catch {
            throw SwrunError(.system, "protect the executable (CVE-2019-5736): \(error)", errno: error.errno)
        }
    }
}
