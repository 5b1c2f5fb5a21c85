import LinuxMM

/// One reading of the process's and the system's memory, and of the calling thread's CPU time.
public struct Sample: Sendable, Codable {
    public var time: Double
    public var status: ProcStatus
    public var memInfo: MemInfo
    public var usage: ResourceUsage
    /// Free pages of the region's hugetlb pool, from sysfs (meminfo shows only the default size).
    public var hugePagesFree: Int
    public var hugePageSize: Int
    /// PMD-mapped THP, where THP can back the region (nil elsewhere: the read walks every table).
    public var hugeMappings: SmapsRollup?
    /// The monitored `/proc/vmstat` counters, per node too where asked (nil when none are).
    public var vmstat: VMStatReading?

    /// `vmstatNodes`: the nodes whose own counters are read too (`VMStatMonitor.nodes`).
    public static func take(hugePageSize: Int, readsHugeMappings: Bool = false, vmstat counters: [String] = [],
                            vmstatNodes: [Int] = []) throws -> Sample {
        let usage = try ResourceUsage.currentThread()
        let time = MonotonicClock.now()
        return Sample(time: time, status: try ProcStatusReader().read(), memInfo: try MemInfo.current(),
                      usage: usage,
                      hugePagesFree: SysfsMM.hugePagePool(pageSize: hugePageSize)?.free ?? 0,
                      hugePageSize: hugePageSize,
                      hugeMappings: readsHugeMappings ? try SmapsRollup.current() : nil,
                      vmstat: try VMStatReading.read(counters, nodes: vmstatNodes))
    }
}

/// What changed between two samples: the memory columns of a phase row.
public struct MemoryDelta: Equatable, Sendable, Codable {
    public var pteBytes = 0
    public var rssBytes = 0
    public var rssAnonBytes = 0
    public var rssFileBytes = 0
    public var rssShmemBytes = 0
    public var hugetlbBytes = 0
    public var sysShmemBytes = 0
    public var sysPageTablesBytes = 0
    public var sysHugetlbBytes = 0
    /// What THP did: the change of PMD-mapped anonymous and shmem memory (nil where not read).
    public var anonHugeBytes: Int?
    public var shmemPmdMappedBytes: Int?
    /// The change of each monitored `/proc/vmstat` counter, per node too where read (nil when none are).
    public var vmstat: VMStatReading?

    public init() {}

    /// The process's own counters, from two readings of its status.
    public init(status before: ProcStatus, _ after: ProcStatus) {
        pteBytes = after.vmPTE - before.vmPTE
        rssBytes = after.vmRSS - before.vmRSS
        rssAnonBytes = after.rssAnon - before.rssAnon
        rssFileBytes = after.rssFile - before.rssFile
        rssShmemBytes = after.rssShmem - before.rssShmem
        hugetlbBytes = after.hugetlbPages - before.hugetlbPages
    }

    public init(from before: Sample, to after: Sample) {
        self.init(status: before.status, after.status)
        sysShmemBytes = after.memInfo.shmem - before.memInfo.shmem
        sysPageTablesBytes = after.memInfo.pageTables - before.memInfo.pageTables
        sysHugetlbBytes = (before.hugePagesFree - after.hugePagesFree) * after.hugePageSize
        if let start = before.vmstat, let end = after.vmstat {
            vmstat = end.change(from: start)
        }
        if let start = before.hugeMappings, let end = after.hugeMappings {
            anonHugeBytes = end.anonHugePages - start.anonHugePages
            shmemPmdMappedBytes = end.shmemPmdMapped - start.shmemPmdMapped
        }
    }

    /// Data pages the phase added: RSS (anon + file + shmem) plus hugetlb pages.
    public var dataBytes: Int { rssBytes + hugetlbBytes }

    /// The change of the counter `backend`'s data pages are counted in (`Backend.dataCounter`).
    public func dataBytes(of backend: Backend) -> Int {
        self[keyPath: backend.memory.dataCounter.change]
    }
}
