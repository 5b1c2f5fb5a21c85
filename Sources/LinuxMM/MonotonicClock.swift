#if canImport(Glibc)
import Glibc
#endif

/// A monotonic clock for phase timings.
public enum MonotonicClock {
    /// Seconds since an arbitrary start. The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Nanoseconds since an arbitrary start, for intervals too short for a `Double` of seconds
    /// to add without rounding. The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// The clock's resolution in seconds, as the kernel states it (1 ns with a TSC clock source;
    /// a jiffy with a coarse one). The corresponding C function is `clock_getres(CLOCK_MONOTONIC)`.
    public static func resolution() -> Double {
        var time = timespec()
        guard clock_getres(CLOCK_MONOTONIC, &time) == 0 else { return 0 }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// CLOCK_REALTIME minus this clock, read back to back: turns another program's wall-clock time
    /// stamp (QEMU's trace log) into this clock's seconds. Good to a few microseconds over a run
    /// that no one sets the clock in.
    public static func wallOffset() -> Double {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        return Double(wall.tv_sec) + Double(wall.tv_nsec) / 1e9 - now()
    }

    /// Sleeps until this clock reads `deadline` (at once if it has passed). Cheaper than
    /// Foundation's `Thread.sleep` for a thread that wakes every millisecond: one system call, no
    /// conversion through the wall clock. The corresponding C function is
    /// `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`.
    public static func sleep(until deadline: Double) throws(SystemCallError) {
        let seconds = deadline.rounded(.down)
        var time = timespec(tv_sec: Int(seconds), tv_nsec: min(Int((deadline - seconds) * 1e9), 999_999_999))
        // It returns the error number itself. EINTR: a signal came; the deadline stands.
        var result: CInt
        repeat { result = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) } while result == EINTR
        if result != 0 { throw SystemCallError(call: "clock_nanosleep", errno: result) }
    }

    /// Sleeps for `seconds` (not at all when it is not positive). `sleep(until:)` fails only on a
    /// malformed deadline, which a finite number of seconds from now cannot be.
    public static func sleep(seconds: Double) {
        guard seconds > 0, seconds.isFinite else { return }
        do { try sleep(until: now() + seconds) } catch { preconditionFailure("\(error)") }
    }
}
