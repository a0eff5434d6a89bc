/// User and group ids as runc takes them: 0 to 2147483647. Above that, 4294967295 is -1 to
/// setresuid(2) and setgroups(2), "leave unchanged", which would run the process as the
/// runtime's own root; the rest of the top half are not ids the kernel hands out.
public enum IDs {
    public static let max: UInt32 = 2_147_483_647

    static func check(_ id: UInt32, _ field: @autoclosure () -> String) throws(SwrunError) {
        guard id <= max else { throw SwrunError.config("\(field()): \(id) is out of range (0 to \(max))") }
    }
}
