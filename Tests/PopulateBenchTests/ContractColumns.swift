/// The raw CSV's columns as the contract (docs/cli.md) names them (Identity, Outcome, Deltas, Work and time,
/// Model, Snapshot phase, NUMA), copied here as text: scripts depend on these names and this order,
/// so a test compares a real CSV's header with this list, never with `ResultTable.columns`.
let contractColumns = [
    "run_id", "host", "kernel", "backend", "page_bytes", "region_bytes", "block_bytes", "layout", "thp",
    "plugged_fraction", "resident_fraction", "strategy", "repetition", "phase",
    "status", "reason",
    "pte_bytes", "rss_bytes", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes", "hugetlb_bytes",
    "sys_shmem_bytes", "sys_pagetables_bytes",
    "touched_bytes", "seconds", "cpu_seconds", "minor_faults",
    "expected_pte_bytes", "expected_data_bytes",
    "wp_faults", "inconsistent_pages", "peak_rss_bytes", "peak_pte_bytes",
    "numa_pages",
]

