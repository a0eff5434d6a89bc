import OCISpec
import SwrunSys

public enum Timestamp {
    /// RFC 3339 time in UTC: `2026-11-23T11:30:23Z`, or with nanoseconds as runc's state has
    /// them (Go's RFC3339Nano: trailing zeros of the fraction dropped, no fraction for 0).
    public static func rfc3339(nanoseconds: Bool) -> String {
        rfc3339(Clock.utcNow(), nanoseconds: nanoseconds)
    }

    public static func rfc3339(_ t: Clock.UTC, nanoseconds: Bool) -> String {
        var s = Digits.decimal(t.year, width: 4)
        s += "-" + Digits.decimal(t.month, width: 2) + "-" + Digits.decimal(t.day, width: 2)
        s += "T" + Digits.decimal(t.hour, width: 2) + ":" + Digits.decimal(t.minute, width: 2)
        s += ":" + Digits.decimal(t.second, width: 2)
        if nanoseconds, t.nanosecond > 0 {
            var fraction = t.nanosecond, width = 9
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            s += "." + Digits.decimal(fraction, width: width)
        }
        return s + "Z"
    }
}
