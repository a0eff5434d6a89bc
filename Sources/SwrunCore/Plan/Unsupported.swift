import OCISpec

/// The one place where a field swrun reads but does not implement is refused. A runtime
/// that parsed a field and then did nothing with it would give the container less than the
/// config asks (an id-mapped mount that is not id-mapped, a cache allocation that is not
/// made) and say nothing; swrun says so and creates nothing. docs/conformance.md lists
/// these fields; `features` does not claim them.
enum Unsupported {
    static func reject(_ spec: Spec, _ f: inout Findings) throws(SwrunError) {
        if let line = spec.process?.commandLine, !line.isEmpty {
            try f.step {
                throw SwrunError.config(
                    "process.commandLine: a Windows field, not supported on Linux (use process.args)")
            }
        }
        guard let linux = spec.linux else { return }
        if let label = linux.mountLabel, !label.isEmpty {
            try f.step {
                throw SwrunError.config(
                    "linux.mountLabel: SELinux mount labels are not supported by this version of swrun")
            }
        }
        if linux.intelRdt != nil {
            try f.step {
                throw SwrunError.config("linux.intelRdt: Intel RDT (resctrl) is not supported by this version of swrun")
            }
        }
        // The resources' own refusals come with ResourceCheck's (it calls `resources`).
    }

    /// Also for `update --resources`.
    static func resources(_ r: LinuxResources?, field: String) throws(SwrunError) {
        guard let r else { return }
        if let rdma = r.rdma, !rdma.isEmpty {
            throw SwrunError.config("\(field).rdma: the rdma controller is not supported by this version of swrun")
        }
        if let k = r.memory?.kernel, k != 0 {
            throw SwrunError.config(
                "\(field).memory.kernel: kernel memory limits are deprecated and not supported (the kernel no longer has them)"
            )
        }
        if r.memory?.useHierarchy == false {
            throw SwrunError.config(
                "\(field).memory.useHierarchy: false is not supported (the kernel's memory cgroups are always hierarchical)"
            )
        }
    }
}
