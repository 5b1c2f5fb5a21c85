import PopulateBench

/// The samples CSV of `bench watch` and `bench qemu`: the snapshot samples' columns first, so one
/// reader takes all three, then the watched process and the system counters (docs/cli.md).
public enum WatchTable {
    public static let columns = ResultTable.sampleColumns + ColumnCatalog.watchExtraColumns.map(\.name)

    /// A row per sample; `trial` names what was watched, `phase` when (`watch`, or the steps of `bench qemu`).
    public static func rows(_ samples: [ProcessSample], pid: Int32, trial: String, phase: String) -> [[String: String]] {
        samples.map { sample in
            var row = [
                "trial": trial, "phase": phase, "t_seconds": CellFormat.seconds(sample.seconds),
                "pid": "\(pid)",
                "rss_bytes": "\(sample.status.vmRSS)", "pte_bytes": "\(sample.status.vmPTE)",
                "rss_shmem_bytes": "\(sample.status.rssShmem)", "hugetlb_bytes": "\(sample.status.hugetlbPages)",
                "rss_anon_bytes": "\(sample.status.rssAnon)", "rss_file_bytes": "\(sample.status.rssFile)",
            ]
            if let system = sample.system {
                row["sys_shmem_bytes"] = "\(system.shmemBytes)"
                row["sys_pagetables_bytes"] = "\(system.pageTablesBytes)"
                row["sys_hugetlb_bytes"] = "\(system.hugetlbBytes)"
            }
            if let nodes = sample.nodeBytes {
                row["node_bytes"] = nodes.keys.sorted().map { "\($0):\(nodes[$0]!)" }.joined(separator: ";")
            }
            return row
        }
    }
}
