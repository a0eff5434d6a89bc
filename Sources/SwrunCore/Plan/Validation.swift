import OCISpec
import SwrunSys

/// The checks `create` makes before anything exists, as calls that make nothing: decode
/// config.json, map cgroupsPath, build the plan (which checks every field, the resources,
/// the seccomp profile). Launcher.create goes through here, and so does the config fuzzer
/// (Fuzz/), so what is fuzzed is what create runs. `swrun check` (Validation.check) runs the
/// same code collecting every error (Findings), then predicts what create would only find
/// later, in the container's init (Preflight).
public enum Validation {
    public static func spec(_ bytes: [UInt8]) throws(SwrunError) -> Spec {
        do { return try SpecLoader.decodeSpecFast(bytes) } catch {
            throw SwrunError.config("config.json: \(error.message)")
        }
    }

    /// config.json's bytes, as create reads them (a regular file, bounded).
    public static func configBytes(_ bundle: String) throws(SwrunError) -> [UInt8] {
        do {
            return try Files.readRegular(bundle + "/config.json", max: Limits.configBytes, display: "config.json")
        } catch  where error.errno == Errno.ENOENT {
            throw SwrunError.config("JSON specification file config.json not found in \(bundle)")
        } catch {
            throw SwrunError.config(error.description)
        }
    }

    public static func plan(_ spec: Spec, bundle: String, id: String, layout: CgroupLayout, options: CreateOptions)
        throws(SwrunError) -> LaunchPlan
    {
        try planAndDriver(spec, bundle: bundle, id: id, layout: layout, options: options).plan
    }

    /// The plan, and the cgroup driver that will make the container's cgroups (chosen and
    /// named here; nothing exists yet).
    static func planAndDriver(_ spec: Spec, bundle: String, id: String, layout: CgroupLayout, options: CreateOptions)
        throws(SwrunError) -> (plan: LaunchPlan, driver: any CgroupDriver)
    {
        let driver = try CgroupDrivers.forCreate(
            layout: layout, systemd: options.systemdCgroup, cgroupsPath: spec.linux?.cgroupsPath, id: id,
            rootless: options.rootlessCgroups, resources: spec.linux?.resources)
        var plan = try PlanBuilder.build(
            spec: spec, bundle: bundle, id: id, options: options, layout: layout, cgroupLeaves: driver.handle.leaves)
        plan.cgroupSkipped = driver.handle.skipped
        return (plan, driver)
    }

    /// What linux.resources turns into on v1 and on v2, computed without touching a file
    /// (every v2 interface file taken to exist), and the v2 device program.
    public static func resourceWrites(_ r: LinuxResources, layout: CgroupLayout) throws(SwrunError) -> [CgroupWrite] {
        try ResourceCheck.validate(r, layout: layout)
        let v1 = try V1Writes.writes(
            r, controllers: ["memory", "cpu", "cpuset", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "devices"],
            devices: true)
        let v2 = try V2Writes.writes(r, existing: { _ in true })
        let program = DeviceFilter.program(DeviceFilter.rules(r.devices ?? []))
        return v1 + v2 + [CgroupWrite("devices.bpf", String(program.count))]
    }

    /// The hooks create checks besides the two kinds the plan holds (Launcher.create):
    /// prestart, createRuntime, poststart, poststop.
    static func otherHooks(_ spec: Spec, _ f: inout Findings) throws(SwrunError) {
        let h = spec.hooks ?? Hooks()
        for (list, field) in [
            (h.prestart, "hooks.prestart"), (h.createRuntime, "hooks.createRuntime"), (h.poststart, "hooks.poststart"),
            (h.poststop, "hooks.poststop"),
        ] {
            try f.step { _ = try PlanBuilder.validHooks(list, field) }
        }
    }

    /// `swrun check`: every problem `create` would hit with this bundle, none of them made.
    /// The config is decoded and planned by create's own code, collecting (SpecLoader
    /// .diagnose, Findings); Preflight adds what create finds only in the init (the
    /// executable, cwd, bind sources, the host's namespaces and controllers, LSM profiles,
    /// hooks). Errors are what create would stop at; warnings are what it lets pass.
    public static func check(bundle: String, options: CreateOptions = CreateOptions(), id: String = "swrun-check")
        -> [Finding]
    {
        var f = Findings(collecting: true)
        let bundlePath: String
        do throws(SyscallError) {
            bundlePath = try Files.realpath(bundle)
            guard try Files.stat(bundlePath).isDirectory else {
                throw SyscallError("stat", bundle, errno: Errno.ENOTDIR)
            }
        } catch {
            f.error(
                "bundle", error.description,
                hint: "pass the bundle's directory with --bundle (it holds config.json and the rootfs)")
            return f.list
        }
        let bytes: [UInt8]
        do { bytes = try configBytes(bundlePath) } catch {
            f.error("config.json", error.message, hint: "write one with `swrun spec --bundle \(bundle)` and edit it")
            return f.list
        }
        let d = SpecLoader.diagnose(bytes)
        var decoded = Findings(collecting: true)
        for e in d.errors { decoded.add(Finding(SwrunError.config(e.message))) }
        for u in d.unknownFields {
            let last = u.path.split(separator: ".").last.map(String.init) ?? u.path
            if ["windows", "solaris", "vm", "zos", "freebsd"].contains(u.path) {
                decoded.warning(
                    u.path, "settings for another platform: swrun ignores them",
                    hint: "remove them, or leave them for that platform's runtime")
            } else if let s = u.suggestion {
                decoded.warning(
                    u.path, "unknown field \(Quote.short(last)): swrun ignores it",
                    hint: "did you mean \(Quote.short(s))?")
            } else {
                decoded.warning(
                    u.path, "a field swrun does not know: it is ignored",
                    hint: "remove it, or check that this version of swrun supports it (`swrun features`)")
            }
        }
        guard let spec = d.spec else { return decoded.list }
        var layout = CgroupLayout(hierarchies: [])
        do { layout = try CgroupLayout.discover() } catch {
            f.error("host", error.message, hint: "mount the cgroup file systems (/sys/fs/cgroup)")
        }
        var leaves: [String] = []
        // The driver create would choose (--systemd-cgroup included) names the leaves.
        try? f.step {
            leaves = try CgroupDrivers.forCreate(
                layout: layout, systemd: options.systemdCgroup, cgroupsPath: spec.linux?.cgroupsPath, id: id
            ).handle.leaves
        }
        var plan = LaunchPlan(id: id, bundle: bundlePath, rootfs: "")
        // Collecting, nothing throws: every step's error is in `f`.
        if let p = try? PlanBuilder.build(
            spec: spec, bundle: bundlePath, id: id, options: options, layout: layout, cgroupLeaves: leaves, findings: &f
        ) {
            plan = p
        }
        try? otherHooks(spec, &f)
        Preflight.run(spec, plan, leaves: leaves, &f)
        // What the plan says about a field that failed to decode repeats the decode error.
        f.dropWithin(d.failedPaths)
        return decoded.list + f.list
    }
}
