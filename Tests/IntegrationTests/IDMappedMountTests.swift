import Foundation
import Testing

/// Id-mapped bind mounts (mounts[].options idmap/ridmap, mounts[].uidMappings/gidMappings;
/// mount_setattr MOUNT_ATTR_IDMAP), as runc 1.2 and crun make them, checked from inside the
/// container: who owns what it sees, and who owns on the host what it writes.
@Suite("id-mapped mounts", .enabled(if: Harness.enabled))
struct IDMappedMountTests {
    /// A volume on the host with files owned by 0 and by 1000 (as an image's files are, on
    /// disk), and a submount (a tmpfs) with a file of its own.
    static func volume(_ s: Sandbox) throws -> String {
        let vol = s.dir + "/vol"
        try FileManager.default.createDirectory(atPath: vol + "/sub", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: vol + "/root0", contents: nil)
        FileManager.default.createFile(atPath: vol + "/u1000", contents: nil)
        chown(vol + "/u1000", 1000, 1000)
        return vol
    }

    static func mount(_ s: Sandbox, _ m: [String: Any]) throws {
        var mounts = s.config["mounts"] as? [[String: Any]] ?? []
        mounts.append(m)
        s.config["mounts"] = mounts
        if let d = m["destination"] as? String {
            try FileManager.default.createDirectory(atPath: s.rootfs + d, withIntermediateDirectories: true)
        }
    }

    /// "uid:gid name" for each file of `dir`, from ls -ln.
    static let list = #"ls -ln DIR | awk 'NR>1 {print $3":"$4" "$9}'"#

    /// idmap with the container's user namespace (0 -> 100000): the volume's files are owned
    /// inside as they are on disk, where a plain bind shows them unmapped (nobody); a file
    /// the container's root makes is root's on disk; `ro` still applies.
    @Test func idmapTakesTheContainersUserNamespace() throws {
        let s = try Sandbox()
        UserNamespaceTests.userns(s)
        s.config["root"] = ["path": "rootfs", "readonly": false]
        let vol = try Self.volume(s)
        try Self.mount(s, ["destination": "/idm", "type": "bind", "source": vol, "options": ["rbind", "idmap"]])
        try Self.mount(s, ["destination": "/plain", "type": "bind", "source": vol, "options": ["rbind"]])
        try Self.mount(s, ["destination": "/ro", "type": "bind", "source": vol, "options": ["rbind", "idmap", "ro"]])
        let script = [
            Self.list.replacingOccurrences(of: "DIR", with: "/idm"), "echo --",
            Self.list.replacingOccurrences(of: "DIR", with: "/plain"),
            "echo --", "touch /idm/made-inside && echo made", "touch /ro/x 2>/dev/null || echo ro-refused",
            "grep ' /idm ' /proc/self/mountinfo | grep -c idmapped",
        ].joined(separator: "; ")
        s.args(["/bin/sh", "-c", script])
        let r = try s.runContainer()
        let out = r.stdout.split(separator: "\n").map(String.init)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(
            out == [
                "0:0 root0", "0:0 sub", "1000:1000 u1000", "--", "65534:65534 root0", "65534:65534 sub",
                "65534:65534 u1000",
                "--", "made", "ro-refused", "1",
            ], "\(r.stdout) \(r.stderr)")
        let st = try FileManager.default.attributesOfItem(atPath: vol + "/made-inside")
        #expect((st[.ownerAccountID] as? Int) == 0, "the container's root wrote as the volume's root: \(st)")
    }

    /// Maps of the mount's own: on-disk 1000 (containerID) is seen as host 100000 (hostID),
    /// the container's root; what the maps leave out is nobody's.
    @Test func idmapWithTheMountsOwnMaps() throws {
        let s = try Sandbox()
        UserNamespaceTests.userns(s)
        let vol = try Self.volume(s)
        try Self.mount(
            s,
            [
                "destination": "/expl", "type": "bind", "source": vol, "options": ["rbind"],
                "uidMappings": [["containerID": 1000, "hostID": 100_000, "size": 1]],
                "gidMappings": [["containerID": 1000, "hostID": 100_000, "size": 1]],
            ])
        s.args(["/bin/sh", "-c", Self.list.replacingOccurrences(of: "DIR", with: "/expl")])
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout == "65534:65534 root0\n65534:65534 sub\n0:0 u1000\n", "\(r.stdout) \(r.stderr)")
    }

    /// ridmap: the submounts of an rbind are id-mapped too; idmap maps the top mount only.
    @Test func ridmapMapsSubmounts() throws {
        let s = try Sandbox()
        UserNamespaceTests.userns(s)
        let vol = try Self.volume(s)
        let tmpfs = Harness.run(["/bin/mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", vol + "/sub"])
        #expect(tmpfs.code == 0, "\(tmpfs.stderr)")
        defer { _ = Harness.run(["/bin/umount", vol + "/sub"]) }
        FileManager.default.createFile(atPath: vol + "/sub/subfile", contents: nil)
        try Self.mount(s, ["destination": "/r", "type": "bind", "source": vol, "options": ["rbind", "ridmap"]])
        try Self.mount(s, ["destination": "/i", "type": "bind", "source": vol, "options": ["rbind", "idmap"]])
        s.args(["/bin/sh", "-c", "stat -c '%u %n' /r/sub/subfile /i/sub/subfile"])
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout == "0 /r/sub/subfile\n65534 /i/sub/subfile\n", "\(r.stdout) \(r.stderr)")
    }

    /// Without a user namespace of its own, a container can still have a mount with maps of
    /// its own (the container's root is the host's: it sees on-disk 1000 as host 0 here).
    @Test func idmapWithoutAContainerUserNamespace() throws {
        let s = try Sandbox()
        let vol = try Self.volume(s)
        try Self.mount(
            s,
            [
                "destination": "/expl", "type": "bind", "source": vol, "options": ["bind"],
                "uidMappings": [["containerID": 1000, "hostID": 0, "size": 1]],
                "gidMappings": [["containerID": 1000, "hostID": 0, "size": 1]],
            ])
        s.args(["/bin/stat", "-c", "%u:%g", "/expl/u1000"])
        let r = try s.runContainer()
        #expect(r.code == 0 && r.stdout == "0:0\n", "\(r.stdout) \(r.stderr)")
    }

    /// What cannot be id-mapped is refused before anything exists, naming the mount.
    @Test(arguments: ["tmpfs", "noUserNamespace", "halfMaps", "emptyRange"])
    func refused(_ what: String) throws {
        let s = try Sandbox()
        let vol = try Self.volume(s)
        let expected: String
        switch what {
        case "tmpfs":
            UserNamespaceTests.userns(s)
            try Self.mount(s, ["destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]])
            expected = "mounts[7]: id-mapped mounts are only supported for bind mounts"
        case "noUserNamespace":
            try Self.mount(s, ["destination": "/v", "type": "bind", "source": vol, "options": ["rbind", "idmap"]])
            expected =
                "mounts[7].options: idmap without uidMappings/gidMappings takes the container's user namespace, and there is none"
        case "halfMaps":
            try Self.mount(
                s,
                [
                    "destination": "/v", "type": "bind", "source": vol, "options": ["rbind"],
                    "gidMappings": [["containerID": 0, "hostID": 1, "size": 1]],
                ])
            expected = "mounts[7]: id-mapped mounts must have both uid and gid mappings specified"
        default:
            try Self.mount(
                s,
                [
                    "destination": "/v", "type": "bind", "source": vol, "options": ["rbind"],
                    "uidMappings": [["containerID": 0, "hostID": 1, "size": 0]],
                    "gidMappings": [["containerID": 0, "hostID": 1, "size": 1]],
                ])
            expected = "mounts[7].uidMappings[0].size: must be greater than 0"
        }
        let r = try s.runContainer()
        #expect(r.code == 1 && r.stderr.contains(expected), "\(r.stderr)")
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: s.root)) ?? []).filter { !$0.hasPrefix(".") }.isEmpty
        )
    }
}
