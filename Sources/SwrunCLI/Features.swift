import OCISpec
import SwrunCore
import SwrunSys

/// `swrun features`: the runtime-spec features document, listing only what this build does.
enum Features {
    static func json() -> JSON {
        let strings: ([String]) -> JSON = { .array($0.map { .string($0) }) }
        let seccomp: JSON = .object([
            ("enabled", .bool(true)),
            (
                "actions",
                strings([
                    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
                ])
            ),
            (
                "operators",
                strings([
                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                    "SCMP_CMP_NE",
                ])
            ),
            ("archs", strings(SeccompInfo.knownArchitectures.map { "SCMP_ARCH_" + $0.uppercased() })),
            (
                "knownFlags",
                strings([
                    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                ])
            ),
            (
                "supportedFlags",
                strings([
                    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                ])
            ),
        ])
        let linux: JSON = .object([
            ("namespaces", strings(["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"])),
            ("capabilities", strings(CapabilityNames.all)),
            (
                "cgroup",
                .object([
                    ("v1", .bool(true)), ("v2", .bool(true)), ("systemd", .bool(true)), ("systemdUser", .bool(false)),
                    ("rdma", .bool(false)),
                ])
            ),
            ("seccomp", seccomp),
            ("apparmor", .object([("enabled", .bool(true))])),
            ("selinux", .object([("enabled", .bool(true))])),
            ("intelRdt", .object([("enabled", .bool(false))])),
            ("mountExtensions", .object([("idmap", .object([("enabled", .bool(true))]))])),
        ])
        return .object([
            ("ociVersionMin", .string("1.0.0")),
            ("ociVersionMax", .string("1.2.0")),
            (
                "hooks",
                strings(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"])
            ),
            ("mountOptions", strings(MountOptions.names)),
            ("linux", linux),
            (
                "annotations",
                .object([
                    ("io.github.seccomp.libseccomp.version", .string(SeccompInfo.version)),
                    ("org.opencontainers.runc.checkpoint.enabled", .string("true")),
                    ("swrun.version", .string(Help.version)),
                    // Rootless mode (docs/rootless.md): an unprivileged user, or root in a user
                    // namespace, runs containers (newuidmap/newgidmap for more than its own ids,
                    // cgroups where they are delegated).
                    ("swrun.rootless", .string("true")),
                ])
            ),
        ])
    }
}
