import Foundation
import LinuxMM

/// One reading of a process's memory (`/proc/<pid>/status`) and, when asked for, of the system's
/// (`/proc/meminfo`) and of the process's pages per NUMA node (`/proc/<pid>/numa_maps`).
public struct ProcessSample: Sendable, Equatable, Codable {
    /// Seconds since sampling began.
    public var seconds: Double
    public var status: ProcStatus
    public var system: SystemMemory?
    /// Bytes of the process's pages per node.
    public var nodeBytes: [Int: Int]?

    public init(seconds: Double, status: ProcStatus, system: SystemMemory? = nil, nodeBytes: [Int: Int]? = nil) {
        self.seconds = seconds
        self.status = status
        self.system = system
        self.nodeBytes = nodeBytes
    }
}

/// The system-wide counters of a sample: they see shmem and hugetlb pages that no process maps.
public struct SystemMemory: Sendable, Equatable, Codable {
    public var shmemBytes: Int
    public var pageTablesBytes: Int
    /// Pages of the default huge page size in use: (`HugePages_Total` − `HugePages_Free`) × size.
    public var hugetlbBytes: Int

    public init(shmemBytes: Int, pageTablesBytes: Int, hugetlbBytes: Int) {
        self.shmemBytes = shmemBytes
        self.pageTablesBytes = pageTablesBytes
        self.hugetlbBytes = hugetlbBytes
    }

    public init(_ info: MemInfo) {
        self.init(shmemBytes: info.shmem, pageTablesBytes: info.pageTables,
                  hugetlbBytes: (info.hugePagesTotal - info.hugePagesFree) * info.hugePageSize)
    }
}

/// The sampler: `bench watch`, `bench qemu` and the snapshot phase all read memory through it,
/// each reading one `pread` of a status file kept open (`ProcStatusReader`). It reads any process it may (as root, or as the process's owner); reading
/// changes nothing in the process read.
public struct ProcessSampler: Sendable {
    public struct Counters: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `/proc/meminfo`'s Shmem, PageTables and hugetlb pool.
        public static let system = Counters(rawValue: 1)
        /// `/proc/<pid>/numa_maps`: it walks the process's page tables, so it is not for 1 ms intervals.
        public static let numaMaps = Counters(rawValue: 2)
    }

    /// Why sampling ended.
    public enum Ending: Equatable, Sendable {
        case stopped
        case processExited
        case failed(String)
    }

    /// nil: the calling process.
    public var pid: Int32?
    public var interval: Double
    public var counters: Counters

    public init(pid: Int32?, interval: Double, counters: Counters = []) {
        self.pid = pid
        self.interval = interval
        self.counters = counters
    }

    /// One sample, its time measured from `start` (a `MonotonicClock` reading), read through
    /// `reader` (kept open between samples: the fast path) or, without one, a reader of its own.
    public func take(since start: Double, reader: ProcStatusReader? = nil) throws -> ProcessSample {
        let status = try (reader ?? ProcStatusReader(pid: pid)).read()
        let seconds = MonotonicClock.now() - start
        return ProcessSample(seconds: seconds, status: status,
                             system: counters.contains(.system) ? SystemMemory(try MemInfo.current()) : nil,
                             nodeBytes: counters.contains(.numaMaps) ? try NUMAMaps.read(pid: pid) : nil)
    }

    /// Whether `error` from `take` means the process is gone: reaped (`/proc/<pid>` absent) or a
    /// zombie (its status has no memory lines once its address space is released).
    public static func meansExited(_ error: Error) -> Bool {
        if error is ProcStatus.MissingField { return true }
        if let error = error as? SystemCallError { return error.errno == ENOENT || error.errno == ESRCH }
        return false
    }

    /// Samples every `interval`, the first at once, handing each to `record`, until `stop` says so
    /// or the process exits. `stop` is asked at least every 50 ms, so a long interval does not
    /// delay a stop.
    public func run(since start: Double, stop: () -> Bool, record: (ProcessSample) -> Void) -> Ending {
        let reader: ProcStatusReader
        do {
            reader = try ProcStatusReader(pid: pid)
        } catch {
            return Self.meansExited(error) ? .processExited : .failed("\(error)")
        }
        var next = MonotonicClock.now()
        while !stop() {
            do {
                record(try take(since: start, reader: reader))
            } catch {
                if Self.meansExited(error) { return .processExited }
                // The snapshot phase's own process never exits: a failed read there is skipped,
                // as a missed sample; another process's unreadable status ends the watch.
                if pid != nil { return .failed("\(error)") }
            }
            next = max(next + interval, MonotonicClock.now())
            while !stop() {
                let now = MonotonicClock.now()
                if now >= next { break }
                do {
                    try MonotonicClock.sleep(until: min(next, now + 0.05))
                } catch {
                    return .failed("\(error)")
                }
            }
        }
        return .stopped
    }
}

extension MemorySample {
    /// The snapshot samples' columns of a sample.
    init(_ sample: ProcessSample) {
        self.init(seconds: sample.seconds, rssBytes: sample.status.vmRSS, pteBytes: sample.status.vmPTE,
                  rssShmemBytes: sample.status.rssShmem, hugetlbBytes: sample.status.hugetlbPages)
    }
}
