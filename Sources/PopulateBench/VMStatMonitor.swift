import LinuxMM

/// The `/proc/vmstat` counters a trial records per phase (`--monitor`): their change over the
/// phase, in the counter's own unit. System-wide, so what else runs on the host counts too; on a
/// quiet host `nr_page_table_pages` × 4 KiB is the trial's `VmPTE` change.
public enum VMStatMonitor {
    /// The default set, each with what it tells (lkp-tests' default `proc-vmstat` monitor reads
    /// them all; these explain this harness's figures).
    public static let defaults: [(counter: String, meaning: String)] = [
        ("nr_page_table_pages", "page-table pages"),
        ("pgfault", "page faults"),
        ("thp_fault_alloc", "THPs allocated at a fault"),
        ("thp_zero_page_alloc", "huge zeropages allocated"),
        ("thp_split_pmd", "PMD mappings of a THP split into PTEs"),
        ("nr_shmem", "shmem and tmpfs pages"),
        ("nr_anon_pages", "anonymous pages"),
        ("nr_anon_transparent_hugepages", "anonymous THPs"),
        ("nr_shmem_hugepages", "shmem THPs"),
    ]

    public static var defaultCounters: [String] { defaults.map(\.counter) }

    /// The nodes whose own counters a monitor reads: every memory node, where there are two or
    /// more (on one node its counters are the system's).
    public static func nodes(of host: [NUMA.Node]) -> [Int] {
        host.count > 1 ? host.map(\.id) : []
    }
}
