/// The raw CSV: one row per trial and phase, columns named in docs/cli.md (added ones last).
import LinuxMM

public enum ResultTable {
    public static let identityColumns = [
        "run_id", "host", "kernel", "backend", "page_bytes", "region_bytes", "block_bytes", "layout", "thp",
        "plugged_fraction", "resident_fraction", "strategy", "repetition", "phase",
    ]
    public static let measureColumns = [
        "pte_bytes", "rss_bytes", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes", "hugetlb_bytes",
        "sys_shmem_bytes", "sys_pagetables_bytes", "touched_bytes", "seconds", "cpu_seconds", "minor_faults",
        "expected_pte_bytes", "expected_data_bytes",
    ]
    public static let columns = identityColumns + ["status", "reason"] + measureColumns + [
        "wp_faults", "inconsistent_pages", "peak_rss_bytes", "peak_pte_bytes", "numa_pages",
        "sys_hugetlb_bytes", "seed", "numa_policy", "populate_node", "guest_node", "writes", "written_pages", "tracking",
        "writers", "write_rate", "sample_interval_seconds",
        "fault_service", "stalled_writes", "stall_p50_us", "stall_p99_us", "stall_max_us", "peak_rss_delta_bytes",
        "peak_pte_delta_bytes", "register_seconds", "writeprotect_seconds", "thp_enabled", "thp_shmem_enabled",
        "thp_use_zero_page", "anon_huge_bytes", "shmem_pmd_mapped_bytes", "overhead_seconds",
    ]
    /// Identity columns added after docs/cli.md's: part of what makes a config distinct. The
    /// snapshot's writers, write rate, sampling and fault service change what it measures, so they
    /// are identity too.
    public static let extraIdentityColumns = [
        "numa_policy", "populate_node", "guest_node", "tracking", "writers", "write_rate", "sample_interval_seconds",
        "fault_service",
    ]
    /// Columns whose values the summary reduces to statistics.
    public static let statisticColumns = measureColumns + [
        "sys_hugetlb_bytes", "wp_faults", "inconsistent_pages", "peak_rss_bytes", "peak_pte_bytes", "writes", "written_pages",
        "stalled_writes", "stall_p50_us", "stall_p99_us", "stall_max_us", "peak_rss_delta_bytes", "peak_pte_delta_bytes",
        "register_seconds", "writeprotect_seconds", "anon_huge_bytes", "shmem_pmd_mapped_bytes", "overhead_seconds",
    ]

    public static let sampleColumns = [
        "trial", "phase", "t_seconds", "rss_bytes", "pte_bytes", "rss_shmem_bytes", "hugetlb_bytes",
    ]

    /// The sampler's readings of a trial's snapshot phase, for `<out>-samples.csv`.
    public static func sampleRows(_ result: TrialResult, repetition: Int) -> [[String: String]] {
        let config = result.config
        let label = "\(config.backend.rawValue)/\(config.strategy.rawValue)/\(ByteSize.format(config.regionBytes))"
            + "/plugged=\(config.pluggedFraction)/rep\(repetition)"
        return result.phases.flatMap { phase in
            (phase.samples ?? []).map { sample in
                ["trial": label, "phase": phase.phase.rawValue, "t_seconds": formatSeconds(sample.seconds),
                 "rss_bytes": "\(sample.rssBytes)", "pte_bytes": "\(sample.pteBytes)",
                 "rss_shmem_bytes": "\(sample.rssShmemBytes)", "hugetlb_bytes": "\(sample.hugetlbBytes)"]
            }
        }
    }

    public struct RunInfo: Sendable {
        public var runID: String
        public var host: String
        public var kernel: String
        public init(runID: String, host: String, kernel: String) {
            self.runID = runID
            self.host = host
            self.kernel = kernel
        }
    }

    /// The rows of one trial: a row per phase it has, or, skipped or failed, per phase it would have had.
    public static func rows(_ result: TrialResult, repetition: Int, run: RunInfo) -> [[String: String]] {
        let config = result.config
        let phases = result.phases.isEmpty
            ? ([.populate, .protect] + (config.snapshot == nil ? [] : [.snapshot])).map { PhaseResult(phase: $0) }
            : result.phases
        return phases.map { phase in
            var row: [String: String] = [
                "run_id": run.runID, "host": run.host, "kernel": run.kernel, "backend": config.backend.rawValue,
                "page_bytes": "\(config.pageBytes)", "region_bytes": "\(config.regionBytes)",
                "block_bytes": "\(config.blockBytes)", "layout": config.layoutText, "thp": config.thp.rawValue,
                "plugged_fraction": "\(config.pluggedFraction)", "resident_fraction": "\(config.residentFraction)",
                "strategy": config.strategy.rawValue, "repetition": "\(repetition)", "phase": phase.phase.rawValue,
                "status": result.status.rawValue, "reason": result.reason, "seed": "\(config.seed)",
                "numa_policy": NUMAPolicyText.format(config.numaPolicy),
                "populate_node": config.populateNode.map(String.init) ?? "",
                "guest_node": config.guestNode.map(String.init) ?? "",
                "tracking": config.snapshot?.tracking.rawValue ?? "",
                "writers": config.snapshot.map { "\($0.writers)" } ?? "",
                "write_rate": config.snapshot.map { formatRate($0.writeRate) } ?? "",
                "sample_interval_seconds": config.snapshot.map { formatSeconds($0.sampleInterval) } ?? "",
                "thp_enabled": result.thp?.effectiveEnabled ?? "",
                "thp_shmem_enabled": result.thp?.effectiveShmemEnabled ?? "",
                "thp_use_zero_page": result.thp.map { $0.useZeroPage ? "1" : "0" } ?? "",
                "fault_service": config.snapshot.map { $0.tracking == .sync ? $0.faultService.rawValue : "" } ?? "",
            ]
            guard result.status == .ok else { return row }
            let delta = phase.delta
            row.merge(deltaColumns(delta)) { _, new in new }
            row["anon_huge_bytes"] = delta.anonHugeBytes.map { "\($0)" } ?? ""
            row["shmem_pmd_mapped_bytes"] = delta.shmemPmdMappedBytes.map { "\($0)" } ?? ""
            row["touched_bytes"] = "\(phase.touchedBytes)"
            row["seconds"] = formatSeconds(phase.seconds)
            row["cpu_seconds"] = formatSeconds(phase.cpuSeconds)
            row["minor_faults"] = "\(phase.minorFaults)"
            // The model predicts population and protection; a snapshot's cost depends on where
            // random writes land, so its expectation is left empty rather than claimed to be zero.
            if phase.phase != .snapshot {
                row["expected_pte_bytes"] = "\(phase.expected.pageTableBytes)"
                row["expected_data_bytes"] = "\(phase.expected.dataBytes)"
            }
            row["numa_pages"] = phase.numaPages
            row["wp_faults"] = phase.wpFaults.map { "\($0)" } ?? ""
            row["inconsistent_pages"] = phase.inconsistentPages.map { "\($0)" } ?? ""
            row["peak_rss_bytes"] = phase.peakRSSBytes.map { "\($0)" } ?? ""
            row["peak_pte_bytes"] = phase.peakPTEBytes.map { "\($0)" } ?? ""
            row["writes"] = phase.writes.map { "\($0)" } ?? ""
            row["written_pages"] = phase.writtenPages.map { "\($0)" } ?? ""
            row["peak_rss_delta_bytes"] = phase.peakRSSDeltaBytes.map { "\($0)" } ?? ""
            row["peak_pte_delta_bytes"] = phase.peakPTEDeltaBytes.map { "\($0)" } ?? ""
            row["register_seconds"] = phase.registerSeconds.map(formatSeconds) ?? ""
            row["writeprotect_seconds"] = phase.writeProtectSeconds.map(formatSeconds) ?? ""
            row["overhead_seconds"] = result.overheadSeconds.map(formatSeconds) ?? ""
            if let stalls = phase.stalls {
                row["stalled_writes"] = "\(stalls.stalledWrites)"
                row["stall_p50_us"] = formatMicroseconds(stalls.p50Nanoseconds)
                row["stall_p99_us"] = formatMicroseconds(stalls.p99Nanoseconds)
                row["stall_max_us"] = formatMicroseconds(stalls.maxNanoseconds)
            }
            return row
        }
    }

    /// Pages per second: a whole number as one (`20000`), else as Swift prints it.
    static func formatRate(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }

    /// The memory-delta columns of a row, shared by every table that reports a phase's gains.
    static func deltaColumns(_ delta: MemoryDelta) -> [String: String] {
        ["pte_bytes": "\(delta.pteBytes)", "rss_bytes": "\(delta.rssBytes)",
         "rss_anon_bytes": "\(delta.rssAnonBytes)", "rss_file_bytes": "\(delta.rssFileBytes)",
         "rss_shmem_bytes": "\(delta.rssShmemBytes)", "hugetlb_bytes": "\(delta.hugetlbBytes)",
         "sys_shmem_bytes": "\(delta.sysShmemBytes)", "sys_pagetables_bytes": "\(delta.sysPageTablesBytes)",
         "sys_hugetlb_bytes": "\(delta.sysHugetlbBytes)"]
    }

    static func formatSeconds(_ value: Double) -> String {
        ByteSize.formatDecimal(value, digits: 6)
    }

    static func formatMicroseconds(_ nanoseconds: UInt64) -> String {
        ByteSize.formatDecimal(Double(nanoseconds) / 1000, digits: 3)
    }

    public static let stallColumns = [
        "trial", "backend", "strategy", "fault_service", "repetition", "stall_us", "count",
    ]

    /// Every stall value a trial's snapshot recorded and how often, for `<out>-stalls.csv`: the
    /// whole distribution, from which a CDF per strategy is drawn.
    public static func stallRows(_ result: TrialResult, repetition: Int) -> [[String: String]] {
        let config = result.config
        guard let stalls = result.phase(.snapshot)?.stalls else { return [] }
        let label = "\(config.backend.rawValue)/\(config.strategy.rawValue)/\(ByteSize.format(config.regionBytes))"
            + "/plugged=\(config.pluggedFraction)/rep\(repetition)"
        return stalls.buckets.map { bucket in
            ["trial": label, "backend": config.backend.rawValue, "strategy": config.strategy.rawValue,
             "fault_service": config.snapshot?.faultService.rawValue ?? "", "repetition": "\(repetition)",
             "stall_us": formatMicroseconds(bucket.nanoseconds), "count": "\(bucket.count)"]
        }
    }
}
