import OCISpec

/// The checks `create` makes before anything exists, as calls that make nothing: decode
/// config.json, map cgroupsPath, build the plan (which checks every field, the resources,
/// the seccomp profile). Launcher.create goes through here, and so does the config fuzzer
/// (Fuzz/), so what is fuzzed is what create runs.
public enum Validation {
    public static func spec(_ bytes: [UInt8]) throws(SwrunError) -> Spec {
        do { return try SpecLoader.decodeSpecFast(bytes) } catch { throw SwrunError.config("config.json: \(error.message)") }
    }

    public static func plan(_ spec: Spec, bundle: String, id: String, layout: CgroupLayout, options: CreateOptions) throws(SwrunError) -> LaunchPlan {
        try planAndDriver(spec, bundle: bundle, id: id, layout: layout, options: options).plan
    }

    /// The plan, and the cgroup driver that will make the container's cgroups (chosen and
    /// named here; nothing exists yet).
    static func planAndDriver(_ spec: Spec, bundle: String, id: String, layout: CgroupLayout, options: CreateOptions) throws(SwrunError) -> (plan: LaunchPlan, driver: any CgroupDriver) {
        let driver = try CgroupDrivers.forCreate(layout: layout, systemd: options.systemdCgroup, cgroupsPath: spec.linux?.cgroupsPath, id: id,
                                                 rootless: options.rootlessCgroups, resources: spec.linux?.resources)
        var plan = try PlanBuilder.build(spec: spec, bundle: bundle, id: id, options: options, layout: layout, cgroupLeaves: driver.handle.leaves)
        plan.cgroupSkipped = driver.handle.skipped
        return (plan, driver)
    }

    /// What linux.resources turns into on v1 and on v2, computed without touching a file
    /// (every v2 interface file taken to exist), and the v2 device program.
    public static func resourceWrites(_ r: LinuxResources, layout: CgroupLayout) throws(SwrunError) -> [CgroupWrite] {
        try ResourceCheck.validate(r, layout: layout)
        let v1 = try V1Writes.writes(r, controllers: ["memory", "cpu", "cpuset", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "devices"], devices: true)
        let v2 = try V2Writes.writes(r, existing: { _ in true })
        let program = DeviceFilter.program(DeviceFilter.rules(r.devices ?? []))
        return v1 + v2 + [CgroupWrite("devices.bpf", String(program.count))]
    }
}
