import Foundation
import Testing

/// Each seccomp action and comparison operator, observed from inside a container.
@Suite("seccomp actions and operators", .enabled(if: Harness.enabled))
struct SeccompTests {
    func run(_ s: Sandbox, _ rules: [[String: Any]], defaultAction: String = "SCMP_ACT_ALLOW", _ script: String) throws
        -> String
    {
        var linux = s.linux
        linux["seccomp"] = ["defaultAction": defaultAction, "architectures": ["SCMP_ARCH_X86_64"], "syscalls": rules]
        s.linux = linux
        s.config["root"] = ["path": "rootfs", "readonly": false]
        s.args(["/bin/sh", "-c", script])
        let r = try s.runContainer()
        return r.stdout + r.stderr
    }

    /// mkdir under each action; the shell reports what its child saw.
    @Test(arguments: [
        ("SCMP_ACT_ERRNO", "Permission denied", "rc=1"), // errnoRet 13 below
        ("SCMP_ACT_KILL", "", "rc=159"), // SIGSYS (31): 128 + 31
        ("SCMP_ACT_KILL_THREAD", "", "rc=159"),
        ("SCMP_ACT_KILL_PROCESS", "", "rc=159"),
        ("SCMP_ACT_TRAP", "", "rc=159"), // SIGSYS delivered, default action kills
        ("SCMP_ACT_TRACE", "Function not implemented", "rc=1"), // no tracer: ENOSYS
        ("SCMP_ACT_LOG", "", "rc=0"), // allowed (and logged)
    ])
    func action(name: String, message: String, rc: String) throws {
        let s = try Sandbox()
        var rule: [String: Any] = ["names": ["mkdir", "mkdirat"], "action": name]
        if name == "SCMP_ACT_ERRNO" { rule["errnoRet"] = 13 }
        let out = try run(s, [rule], "mkdir /tmp/d 2>&1; echo rc=$?")
        #expect(out.contains(rc), "\(name): \(out)")
        if !message.isEmpty { #expect(out.contains(message), "\(name): \(out)") }
    }

    /// getpgid(arg0) is refused with EXDEV when the comparison matches, answered otherwise.
    @Test(arguments: [
        ("SCMP_CMP_EQ", 7, 0, 7, true), ("SCMP_CMP_EQ", 7, 0, 8, false),
        ("SCMP_CMP_NE", 7, 0, 8, true), ("SCMP_CMP_NE", 7, 0, 7, false),
        ("SCMP_CMP_LT", 7, 0, 6, true), ("SCMP_CMP_LT", 7, 0, 7, false),
        ("SCMP_CMP_LE", 7, 0, 7, true), ("SCMP_CMP_LE", 7, 0, 8, false),
        ("SCMP_CMP_GT", 7, 0, 8, true), ("SCMP_CMP_GT", 7, 0, 7, false),
        ("SCMP_CMP_GE", 7, 0, 7, true), ("SCMP_CMP_GE", 7, 0, 6, false),
        ("SCMP_CMP_MASKED_EQ", 0xF0, 0x30, 0x3F, true), ("SCMP_CMP_MASKED_EQ", 0xF0, 0x30, 0x4F, false),
    ])
    func op(name: String, value: Int, valueTwo: Int, input: Int, matches: Bool) throws {
        let s = try Sandbox()
        var arg: [String: Any] = ["index": 0, "value": value, "op": name]
        if name == "SCMP_CMP_MASKED_EQ" { arg["valueTwo"] = valueTwo }
        let rule: [String: Any] = ["names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18, "args": [arg]]
        let out = try run(s, [rule], "swrun-probe syscall 121 \(input)")
        #expect(out.contains("EXDEV") == matches, "\(name) \(value) vs \(input): \(out)")
    }

    /// Without no_new_privs the filter goes in before the identity switch, so what swrun does
    /// after it must be allowed by any sane profile: runtime-tools' profile allows neither
    /// openat2 nor close_range (and names landlock, so they get EPERM, not ENOSYS).
    @Test func earlyInstalledProfileWithoutNewerSyscalls() throws {
        let s = try Sandbox()
        s.process["noNewPrivileges"] = false
        s.process["cwd"] = "/tmp"
        let names = try Harness.syscallNames(except: ["openat2", "close_range", "faccessat2", "pidfd_open", "clone3"])
        let out = try run(
            s, [["names": names, "action": "SCMP_ACT_ALLOW"]], defaultAction: "SCMP_ACT_ERRNO",
            "pwd; grep Seccomp: /proc/self/status")
        #expect(out.contains("/tmp") && out.contains("Seccomp:\t2"), "\(out)")
    }

    @Test func dockerStyleDefaultDenyProfileRunsBusybox() throws {
        let names = try Harness.syscallNames(except: Harness.dockerDenied)
        let s = try Sandbox()
        let out = try run(
            s, [["names": names, "action": "SCMP_ACT_ALLOW"]], defaultAction: "SCMP_ACT_ERRNO",
            "ls / >/dev/null && echo ls-ok; mkdir -p /tmp/a && echo mkdir-ok; swrun-probe syscall 163; grep Seccomp: /proc/self/status"
        )
        #expect(
            out.contains("ls-ok") && out.contains("mkdir-ok") && out.contains("EPERM") && out.contains("Seccomp:\t2"),
            "\(out)")
    }
}
