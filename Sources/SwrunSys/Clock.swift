import CSwrun
import Glibc

public enum Clock {
    /// The wall clock in UTC, broken down (formatted by SwrunCore's Timestamp).
    public struct UTC: Sendable {
        public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanosecond: Int

        public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanosecond: Int) {
            (self.year, self.month, self.day, self.hour, self.minute, self.second, self.nanosecond) = (
                year, month, day, hour, minute, second, nanosecond
            )
        }
    }

    public static func utcNow() -> UTC {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return UTC(
            year: Int(tmv.tm_year) + 1900, month: Int(tmv.tm_mon) + 1, day: Int(tmv.tm_mday),
            hour: Int(tmv.tm_hour), minute: Int(tmv.tm_min), second: Int(tmv.tm_sec), nanosecond: ts.tv_nsec)
    }

    public static func monotonicMilliseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
    }
}
