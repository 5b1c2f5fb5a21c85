#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// CPU time and faults of the calling thread (`RUSAGE_THREAD`) or of the whole process (`RUSAGE_SELF`).
public struct ResourceUsage: Equatable, Sendable, Codable {
    public var userSeconds: Double
    public var systemSeconds: Double
    public var minorFaults: Int
    public var majorFaults: Int

    public init(userSeconds: Double = 0, systemSeconds: Double = 0, minorFaults: Int = 0, majorFaults: Int = 0) {
        self.userSeconds = userSeconds
        self.systemSeconds = systemSeconds
        self.minorFaults = minorFaults
        self.majorFaults = majorFaults
    }

    public var cpuSeconds: Double { userSeconds + systemSeconds }

    /// The corresponding C function is `getrusage`.
    public static func currentThread() throws(SystemCallError) -> ResourceUsage {
        try read(who: clmm_rusage_thread, name: "RUSAGE_THREAD")
    }

    /// Every thread of the process together. The corresponding C function is `getrusage`.
    public static func currentProcess() throws(SystemCallError) -> ResourceUsage {
        try read(who: RUSAGE_SELF.rawValue, name: "RUSAGE_SELF")
    }

    private static func read(who: CInt, name: String) throws(SystemCallError) -> ResourceUsage {
        var usage = rusage()
        _ = try valueOrThrow("getrusage(\(name))") { getrusage(__rusage_who_t(who), &usage) }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return ResourceUsage(userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                             minorFaults: usage.ru_minflt, majorFaults: usage.ru_majflt)
    }
}
