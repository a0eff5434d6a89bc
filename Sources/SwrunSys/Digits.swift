/// Integers as decimal text, by bytes. Not `String(v)` or "\(v)": the standard library's
/// generic integer printing is a 64 KB stretch of its text that the start path needs for
/// nothing else (docs/performance.md, "Text layout"). Use it where the start path formats
/// an integer: /proc paths, cgroup values, timestamps.
public enum Digits {
    /// `v` in decimal, zero-padded to `width` digits (at most 20).
    @inlinable
    public static func decimal<T: BinaryInteger>(_ v: T, width: Int = 1) -> String {
        v < 0 ? text(UInt64(v.magnitude), negative: true, width: width) : text(UInt64(v), negative: false, width: width)
    }

    public static func text(_ magnitude: UInt64, negative: Bool, width: Int) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buf in
            var n = magnitude, i = buf.count
            repeat {
                i -= 1
                buf[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n % 10)
                n /= 10
            } while n > 0
            while buf.count - i < min(width, 20) {
                i -= 1
                buf[i] = UInt8(ascii: "0")
            }
            if negative {
                i -= 1
                buf[i] = UInt8(ascii: "-")
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[i...]), as: UTF8.self)
        }
    }
}
