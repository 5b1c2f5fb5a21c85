import PopulateBench

/// One sampler reading as a row of a samples CSV: a trial's snapshot phase (`bench run
/// --snapshot`), a watched process (`bench watch`) or a QEMU process (`bench qemu`). The fields
/// after the snapshot's own are those `bench watch` and `bench qemu` add; nil where they do not apply.
public struct SampleRecord: Sendable {
    public var trial: String
    public var phase: String
    public var seconds: Double
    public var rssBytes: Int
    public var pteBytes: Int
    public var rssShmemBytes: Int
    public var hugetlbBytes: Int
    public var pid: Int32?
    public var rssAnonBytes: Int?
    public var rssFileBytes: Int?
    public var system: SystemMemory?
    public var nodeBytes: [Int: Int]?
    /// `bench qemu`: QEMU's trace events that fell by this sample, as `LABEL@SECONDS;...`.
    public var qemuEvents = ""

    /// A trial's snapshot sample.
    public init(trial: String, phase: String, _ sample: MemorySample) {
        self.trial = trial
        self.phase = phase
        seconds = sample.seconds
        rssBytes = sample.rssBytes
        pteBytes = sample.pteBytes
        rssShmemBytes = sample.rssShmemBytes
        hugetlbBytes = sample.hugetlbBytes
    }

    /// A watched process's sample.
    public init(trial: String, phase: String, pid: Int32, _ sample: ProcessSample) {
        self.trial = trial
        self.phase = phase
        seconds = sample.seconds
        rssBytes = sample.status.vmRSS
        pteBytes = sample.status.vmPTE
        rssShmemBytes = sample.status.rssShmem
        hugetlbBytes = sample.status.hugetlbPages
        self.pid = pid
        rssAnonBytes = sample.status.rssAnon
        rssFileBytes = sample.status.rssFile
        system = sample.system
        nodeBytes = sample.nodeBytes
    }
}

/// One bucket of a trial's write-stall histogram, as a row of `<out>-stalls.csv`.
public struct StallRecord: Sendable {
    public var trial: String
    public var config: TrialConfig
    public var repetition: Int
    public var bucket: StallDistribution.Bucket
}

/// The columns of the CSVs beside the raw one, declared as the raw CSV's are: each reads its
/// cell from a typed record, and docs/cli.md and docs/columns.json are made from them.
public enum SideColumns {
    typealias SampleColumn = Column<SampleRecord>

    /// The snapshot samples' columns: what every samples CSV starts with.
    public static let samples: [Column<SampleRecord>] = [
        SampleColumn("trial", .identity, .text, "which trial: `backend/strategy/size/plugged=F/repN`") { $0.trial },
        SampleColumn("phase", .identity, .text, "`snapshot`") { $0.phase },
        SampleColumn("t_seconds", .measure, .seconds, "time since the phase began") { CellFormat.seconds($0.seconds) },
        SampleColumn("rss_bytes", .measure, .bytes, "the process's `VmRSS` at that moment (absolute)") { "\($0.rssBytes)" },
        SampleColumn("pte_bytes", .measure, .bytes, "its `VmPTE` (absolute)") { "\($0.pteBytes)" },
        SampleColumn("rss_shmem_bytes", .measure, .bytes, "its `RssShmem` (absolute)") { "\($0.rssShmemBytes)" },
        SampleColumn("hugetlb_bytes", .measure, .bytes, "its `HugetlbPages` (absolute)") { "\($0.hugetlbBytes)" },
    ]

    /// `bench watch` and `bench qemu` write the samples' columns, then these.
    public static let watchExtra: [Column<SampleRecord>] = [
        SampleColumn("pid", .identity, .count, "the process sampled") { $0.pid.map { "\($0)" } ?? "" },
        SampleColumn("rss_anon_bytes", .measure, .bytes, "its `RssAnon`") { SampleColumn.integer($0.rssAnonBytes) },
        SampleColumn("rss_file_bytes", .measure, .bytes, "its `RssFile`") { SampleColumn.integer($0.rssFileBytes) },
        SampleColumn("sys_shmem_bytes", .measure, .bytes, "`/proc/meminfo` `Shmem` (the whole system)") {
            SampleColumn.integer($0.system?.shmemBytes)
        },
        SampleColumn("sys_pagetables_bytes", .measure, .bytes, "`/proc/meminfo` `PageTables` (the whole system)") {
            SampleColumn.integer($0.system?.pageTablesBytes)
        },
        SampleColumn("sys_hugetlb_bytes", .measure, .bytes,
                     "pages of the default huge page size in use ((`HugePages_Total` − `HugePages_Free`) × size)") {
            SampleColumn.integer($0.system?.hugetlbBytes)
        },
        SampleColumn("node_bytes", .context, .text,
                     "the process's bytes per NUMA node from `numa_maps`: `0:B;1:B` (empty with `--no-numa-maps` and in `bench qemu`)") {
            record in record.nodeBytes.map { nodes in nodes.keys.sorted().map { "\($0):\(nodes[$0]!)" }.joined(separator: ";") } ?? ""
        },
        SampleColumn("qemu_events", .context, .text,
                     "`bench qemu`: QEMU's own trace events (population, protection, copy) that happened by this sample and "
                         + "after the one before (the last sample also takes those after it), as `EVENT@T_SECONDS;...` at their "
                         + "own times (`migrate_set_state:setup@1.2034`); empty in `bench watch`") { $0.qemuEvents },
    ]

    /// `bench watch`'s and `bench qemu`'s samples CSV.
    public static let watch = samples + watchExtra

    public static let stalls: [Column<StallRecord>] = [
        Column("trial", .identity, .text, "as in the samples CSV") { $0.trial },
        Column("backend", .identity, .text, "the trial's backend") { $0.config.backend.rawValue },
        Column("strategy", .identity, .text, "the trial's strategy") { $0.config.strategy.rawValue },
        Column("fault_service", .identity, .text, "the snapshot's fault service") {
            $0.config.snapshot?.faultService.rawValue ?? ""
        },
        Column("repetition", .run, .count, "the trial's repetition") { "\($0.repetition)" },
        Column("stall_us", .measure, .microseconds, "a value the histogram recorded (the upper end of its bucket)") {
            CellFormat.microseconds($0.bucket.nanoseconds)
        },
        Column("count", .measure, .count, "how many stalled writes fell there; a trial's counts add up to its `stalled_writes`") {
            "\($0.bucket.count)"
        },
    ]

    public static let watchSummary: [Column<WatchSummary.Counter>] = [
        Column("counter", .identity, .text,
               "`VmRSS`, `RssAnon`, `RssFile`, `RssShmem`, `VmPTE`, `HugetlbPages`, `sys Shmem`, `sys PageTables`, "
                   + "`sys hugetlb in use`, `node N`, then `vmstat NAME` (and `vmstat nodeN NAME`) for each `--monitor vmstat:NAME`") {
            $0.name
        },
        Column("start_bytes", .measure, .bytes, "the first sample's value (in `unit`)") { "\($0.start)" },
        Column("peak_bytes", .measure, .bytes,
               "the highest sample (in `unit`); empty for a vmstat counter, read only at the start and end") {
            Column<WatchSummary.Counter>.integer($0.peak)
        },
        Column("end_bytes", .measure, .bytes, "the last sample's value (in `unit`)") { "\($0.end)" },
        Column("delta_bytes", .measure, .bytes, "end minus start (in `unit`)") { "\($0.delta)" },
        Column("unit", .context, .text,
               "`bytes`, or `count` for a `/proc/vmstat` counter, whose `*_bytes` cells then hold its own unit (pages or events)") {
            $0.unit.rawValue
        },
    ]
}
