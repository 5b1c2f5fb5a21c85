import LinuxMM
import PopulateBench

/// The raw CSV (one row per trial and phase, its columns those of `TrialColumns`) and the samples
/// and stalls CSVs beside it.
public enum ResultTable {
    /// Every column, in the file's order (`TrialColumns`).
    public static let columns = TrialColumns.names
    /// The contract's identity columns (which run, repetition and configuration), in order.
    public static let identityColumns = TrialColumns.all
        .filter { ($0.kind == .run || $0.kind == .identity) && $0.isContract }.map(\.name)
    /// The outcome of a trial: `status`, then `reason`.
    public static let outcomeColumns = TrialColumns.all.filter { $0.kind == .outcome }.map(\.name)

    /// A column's unit as its registry declares it (the trial's, then `bench qemu`'s); nil for a
    /// column neither has.
    public static func unit(of column: String) -> ColumnUnit? {
        units[column]
    }

    private static let units: [String: ColumnUnit] = Dictionary(
        TrialColumns.all.map { ($0.name, $0.unit) } + VMMColumns.all.map { ($0.name, $0.unit) },
        uniquingKeysWith: { first, _ in first })

    /// The contract's measured columns of every phase (its "Deltas", "Work and time" and "Model").
    public static let measureColumns = TrialColumns.all
        .filter { $0.kind == .measure && $0.isContract && !snapshotContractColumns.contains($0.name) }.map(\.name)
    /// Identity columns added after the contract: part of what makes a config distinct (the
    /// snapshot's writers, write rate, sampling and fault service change what it measures). A file
    /// of an older bench lacks them.
    public static let extraIdentityColumns = TrialColumns.all.filter { $0.kind == .identity && !$0.isContract }.map(\.name)
    /// Columns whose values the summary reduces to statistics, in the summary CSV's order: the
    /// contract's measures, then `sys_hugetlb_bytes` (its place in summaries written before the
    /// registry), then the others as the raw CSV has them.
    public static let statisticColumns: [String] = {
        let summarized = TrialColumns.all.filter(\.isSummarized).map(\.name)
        let contract = summarized.filter(measureColumns.contains)
        return contract + ["sys_hugetlb_bytes"] + summarized.filter { !contract.contains($0) && $0 != "sys_hugetlb_bytes" }
    }()

    /// The contract's columns of the snapshot phase alone.
    static let snapshotContractColumns: Set = ["wp_faults", "inconsistent_pages", "peak_rss_bytes", "peak_pte_bytes"]

    public static let sampleColumns = SideColumns.samples.map(\.name)

    /// The sampler's readings of a trial's snapshot phase, for `<out>-samples.csv`.
    public static func sampleRows(_ result: TrialResult, repetition: Int) -> [[String: String]] {
        let trial = trialLabel(result.config, repetition: repetition)
        return result.phases.flatMap { phase in
            (phase.samples ?? []).map { Column.cells(SideColumns.samples, of: SampleRecord(trial: trial, phase: phase.phase.rawValue, $0)) }
        }
    }

    /// `backend/strategy/size/plugged=F/repN`: a trial in the samples and stalls CSVs.
    static func trialLabel(_ config: TrialConfig, repetition: Int) -> String {
        "\(config.backend.rawValue)/\(config.strategy.rawValue)/\(ByteSize.format(config.regionBytes))"
            + "/plugged=\(config.pluggedFraction)/rep\(repetition)"
    }

    /// The rows of one trial: a row per phase it has, or, skipped or failed, per phase it would have had.
    public static func rows(_ result: TrialResult, repetition: Int, run: RunInfo) -> [[String: String]] {
        PhaseRecord.records(result, repetition: repetition, run: run).map(TrialColumns.row)
    }

    public static let stallColumns = SideColumns.stalls.map(\.name)

    /// Every stall value a trial's snapshot recorded and how often, for `<out>-stalls.csv`: the
    /// whole distribution, from which a CDF per strategy is drawn.
    public static func stallRows(_ result: TrialResult, repetition: Int) -> [[String: String]] {
        guard let stalls = result.phase(.snapshot)?.stalls else { return [] }
        let trial = trialLabel(result.config, repetition: repetition)
        return stalls.buckets.map { bucket in
            Column.cells(SideColumns.stalls, of: StallRecord(trial: trial, config: result.config, repetition: repetition, bucket: bucket))
        }
    }
}

extension Backend {
    /// The raw CSV's column of the backend's data counter's change (`dataCounter`).
    public var dataColumn: String {
        switch memory {
        case .privateAnonymous: "rss_anon_bytes"
        case .shmem: "rss_shmem_bytes"
        case .hugetlb: "hugetlb_bytes"
        }
    }
}
