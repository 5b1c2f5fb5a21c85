import LinuxMM
import PopulateBench

/// The raw CSV's columns, in the file's order: the contract's first, added ones after. Adding a
/// measured column is one entry here; the CSV, summary, exports, docs and schema follow.
public enum TrialColumns {
    public typealias TrialColumn = Column<PhaseRecord>

    /// A number measured over the phase: empty unless the trial was ok.
    static func measure(_ name: String, _ unit: TrialColumn.Unit, contract: Bool = false, _ description: String,
                        _ value: @escaping @Sendable (PhaseRecord) -> String?) -> TrialColumn {
        TrialColumn(name, .measure, unit, contract: contract, description) { record in
            record.isOK ? value(record) ?? "" : ""
        }
    }

    static func bytes(_ name: String, contract: Bool = false, _ description: String,
                      _ value: @escaping @Sendable (PhaseRecord) -> Int?) -> TrialColumn {
        measure(name, .bytes, contract: contract, description) { value($0).map { "\($0)" } }
    }

    static func count(_ name: String, contract: Bool = false, _ description: String,
                      _ value: @escaping @Sendable (PhaseRecord) -> Int?) -> TrialColumn {
        measure(name, .count, contract: contract, description) { value($0).map { "\($0)" } }
    }

    static func seconds(_ name: String, contract: Bool = false, _ description: String,
                        _ value: @escaping @Sendable (PhaseRecord) -> Double?) -> TrialColumn {
        measure(name, .seconds, contract: contract, description) { value($0).map(CellFormat.seconds) }
    }

    static func stall(_ name: String, _ description: String,
                      _ value: @escaping @Sendable (StallDistribution) -> UInt64) -> TrialColumn {
        measure(name, .microseconds, description) { $0.phase.stalls.map { CellFormat.microseconds(value($0)) } }
    }

    public static let all: [TrialColumn] = recorded + monitored

    /// The change of each default `/proc/vmstat` counter, then any other counter `--monitor` names.
    static let monitored: [TrialColumn] = VMStatMonitor.defaults.map { counter, meaning in
        count("vmstat_\(counter)", "change of /proc/vmstat `\(counter)` over the phase: \(meaning), system-wide "
              + "(its own unit; empty with `--monitor none`)") { $0.phase.delta.vmstat?.system[counter] }
    } + [
        TrialColumn("vmstat_other", .context, .text,
                    "the change of each other counter `--monitor vmstat:NAME,...` named: `NAME:DELTA;...`") { record in
            guard record.isOK, let deltas = record.phase.delta.vmstat?.system else { return "" }
            return deltas.keys.filter { !VMStatMonitor.defaultCounters.contains($0) }.sorted()
                .map { "\($0):\(deltas[$0]!)" }.joined(separator: ";")
        },
        TrialColumn("vmstat_nodes", .context, .text,
                    "where there are two or more NUMA nodes, the change of each monitored counter that a node keeps "
                        + "(its page counts, and NUMA events such as `numa_hit`; not `pgfault` or the `thp_*` events, which "
                        + "only the system has) per node, from `/sys/devices/system/node/nodeN/vmstat`: "
                        + "`NODE:NAME:DELTA;...`; empty on one node") { record in
            guard record.isOK, let byNode = record.phase.delta.vmstat?.nodes else { return "" }
            return VMStat.formatNodes(byNode)
        },
    ]

    static let recorded: [TrialColumn] = [
        TrialColumn(Name.runID, .run, .text, contract: true, "identifies one `bench run` invocation") { $0.run.runID },
        TrialColumn(Name.host, .identity, .text, contract: true, "host name") { $0.run.host },
        TrialColumn(Name.kernel, .identity, .text, contract: true, "kernel release") { $0.run.kernel },
        TrialColumn(Name.backend, .identity, .text, contract: true, "see `--backend`") { $0.config.backend.rawValue },
        TrialColumn(Name.pageBytes, .identity, .bytes, contract: true, "the backend's page size (base page or huge page)") {
            "\($0.config.pageBytes)"
        },
        TrialColumn(Name.regionBytes, .identity, .bytes, contract: true, "the region's size") { "\($0.config.regionBytes)" },
        TrialColumn(Name.blockBytes, .identity, .bytes, contract: true, "the discard (virtio-mem block) size") {
            "\($0.config.blockBytes)"
        },
        TrialColumn(Name.layout, .identity, .text, contract: true,
                    "see `--layout`: the layout's name, or the plugged ranges themselves") { $0.config.layoutText },
        TrialColumn(Name.thp, .identity, .text, contract: true, "see `--thp`") { $0.config.thp.rawValue },
        TrialColumn(Name.pluggedFraction, .identity, .fraction, contract: true, "see `--plugged`") {
            "\($0.pluggedFraction)"
        },
        TrialColumn(Name.residentFraction, .identity, .fraction, contract: true, "see `--resident`") {
            "\($0.config.residentFraction)"
        },
        TrialColumn(Name.strategy, .identity, .text, contract: true,
                    "see `--strategy`; `bench qemu`'s real snapshots: `qemu-real` (virtio-mem) and `qemu-real-ram` (the "
                        + "control)") { $0.strategyName },
        TrialColumn(Name.repetition, .run, .count, contract: true, "1, 2, ... within the configuration") { "\($0.repetition)" },
        TrialColumn(Name.phase, .identity, .text, contract: true, "`populate`, `protect` or `snapshot`") {
            $0.phase.phase.rawValue
        },
        TrialColumn(Name.status, .outcome, .text, contract: true, "`ok`, `skipped` or `failed`") { $0.result.status.rawValue },
        TrialColumn(Name.reason, .outcome, .text, contract: true,
                    "why it was skipped or failed (a missing kernel feature, an empty hugetlb pool, the signal that "
                        + "killed the child and its likely cause); empty when ok") { $0.result.reason },
        bytes("pte_bytes", contract: true, "change of `VmPTE` (page tables) over the phase") { $0.phase.delta.pteBytes }
            .compared(.memory(floor: 16 * 1024)),
        bytes("rss_bytes", contract: true, "change of `VmRSS` over the phase") { $0.phase.delta.rssBytes },
        bytes("rss_anon_bytes", contract: true, "change of `RssAnon` over the phase") { $0.phase.delta.rssAnonBytes }
            .compared(.memory(floor: 512 * 1024)),
        bytes("rss_file_bytes", contract: true, "change of `RssFile` over the phase") { $0.phase.delta.rssFileBytes },
        bytes("rss_shmem_bytes", contract: true, "change of `RssShmem` over the phase") { $0.phase.delta.rssShmemBytes }
            .compared(.memory(floor: 512 * 1024)),
        bytes("hugetlb_bytes", contract: true, "change of `HugetlbPages` over the phase") { $0.phase.delta.hugetlbBytes }
            .compared(.memory(floor: 0)),
        bytes("sys_shmem_bytes", contract: true, "change of `/proc/meminfo` `Shmem` over the phase (the whole system)") {
            $0.phase.delta.sysShmemBytes
        },
        bytes("sys_pagetables_bytes", contract: true,
              "change of `/proc/meminfo` `PageTables` over the phase (the whole system)") { $0.phase.delta.sysPageTablesBytes },
        bytes("touched_bytes", contract: true, "bytes the phase populated or protected") {
            $0.seenFromInside ? $0.phase.touchedBytes : nil
        },
        seconds("seconds", contract: true, "wall time of the phase alone") { $0.phase.seconds }
            .compared(.timing),
        seconds("cpu_seconds", contract: true,
                "CPU time of the thread that ran the phase; for the snapshot, of every thread of the trial") {
            $0.seenFromInside ? $0.phase.cpuSeconds : nil
        },
        count("minor_faults", contract: true, "minor page faults of the thread that ran the phase") {
            $0.seenFromInside ? $0.phase.minorFaults : nil
        },
        // The model predicts population and protection, and a snapshot without writers (the copy
        // only reads the plugged runs); with writers the cost depends on where random writes land,
        // so the expectation is left empty rather than claimed to be zero.
        bytes("expected_pte_bytes", contract: true,
              "page tables the model predicts for the phase; empty for a snapshot with writers") {
            $0.modelsPhase ? $0.phase.expected.pageTableBytes : nil
        },
        bytes("expected_data_bytes", contract: true,
              "the backend's data counter as the model predicts it for the phase; empty for a snapshot with writers") {
            $0.modelsPhase ? $0.phase.expected.dataBytes : nil
        },
        count("wp_faults", contract: true, "snapshot: write-protect faults served") { $0.phase.wpFaults },
        count("inconsistent_pages", contract: true,
              "snapshot: copied pages that differ from what they held when protection began (0 = consistent)") {
            $0.phase.inconsistentPages
        }.compared(CompareRule(floor: 0, phases: ["snapshot"], zeroCrossingOnly: true)),
        bytes("peak_rss_bytes", contract: true, "snapshot: highest `VmRSS` the sampler saw (absolute)") { $0.phase.peakRSSBytes },
        bytes("peak_pte_bytes", contract: true, "snapshot: highest `VmPTE` the sampler saw (absolute)") { $0.phase.peakPTEBytes },
        TrialColumn(Name.numaPages, .context, .text, contract: true,
                    "the region's pages per node after the phase: `0:N;1:N`, plus `zero:N` (the shared or huge "
                        + "zeropage) and `none:N` (not present); they add up to the region") { record in
            record.isOK && record.seenFromInside ? record.phase.numaPages : ""
        },
        bytes("sys_hugetlb_bytes", "change of the used pages of the region's hugetlb pool, in bytes") {
            $0.phase.delta.sysHugetlbBytes
        },
        TrialColumn("seed", .context, .count, "see `--seed`") { "\($0.config.seed)" },
        TrialColumn(Name.numaPolicy, .identity, .text, "see `--numa`") { NUMAPolicyText.format($0.config.numaPolicy) },
        TrialColumn("populate_node", .identity, .count, "see `--populate-node`; empty when not set") {
            Column<PhaseRecord>.integer($0.config.populateNode)
        },
        TrialColumn("guest_node", .identity, .count, "see `--guest-node`; empty when not set") {
            Column<PhaseRecord>.integer($0.config.guestNode)
        },
        count("writes", "snapshot: page writes the writers made (with `--cancel-at`, those that ended before the cancel)") { $0.phase.writes },
        count("written_pages", "snapshot with `--tracking async`: pages `PAGEMAP_SCAN` found written") {
            $0.phase.writtenPages
        },
        TrialColumn("tracking", .identity, .text, "`sync` or `async` with `--snapshot`, else empty") {
            $0.config.snapshot?.tracking.rawValue ?? ""
        },
        TrialColumn("writers", .identity, .count, "see `--writers`; empty without `--snapshot`") {
            Column<PhaseRecord>.integer($0.config.snapshot?.writers)
        },
        TrialColumn("write_rate", .identity, .count, "see `--write-rate` (pages per second); empty without `--snapshot`") {
            $0.config.snapshot.map { CellFormat.rate($0.writeRate) } ?? ""
        },
        TrialColumn("sample_interval_seconds", .identity, .seconds,
                    "see `--sample-interval`; empty without `--snapshot`") {
            $0.config.snapshot.map { CellFormat.seconds($0.sampleInterval) } ?? ""
        },
        TrialColumn("fault_service", .identity, .text,
                    "`migration-thread` or `handler-thread` for a sync snapshot, else empty") { record in
            record.config.snapshot.map { $0.tracking == .sync ? $0.faultService.rawValue : "" } ?? ""
        },
        count("stalled_writes", "snapshot: writes that hit a write-protected page and waited for it (with `--cancel-at`, of those that ended before the cancel)") {
            $0.phase.stalls?.stalledWrites
        },
        stall("stall_p50_us", "snapshot: median wait of a stalled write (HdrHistogram, 3 significant digits)") {
            $0.p50Nanoseconds
        },
        stall("stall_p99_us", "snapshot: 99th percentile wait of a stalled write") { $0.p99Nanoseconds },
        stall("stall_max_us", "snapshot: longest wait of a stalled write") { $0.maxNanoseconds },
        bytes("peak_rss_delta_bytes", "snapshot: the peak `VmRSS` less its value when the phase began") {
            $0.phase.peakRSSDeltaBytes
        },
        bytes("peak_pte_delta_bytes", "snapshot: the peak `VmPTE` less its value when the phase began") {
            $0.phase.peakPTEDeltaBytes
        },
        seconds("register_seconds", "protect: opening the userfaultfd and `UFFDIO_REGISTER` of the whole region") {
            $0.phase.registerSeconds
        },
        seconds("writeprotect_seconds", "protect: `UFFDIO_WRITEPROTECT` of the strategy's ranges") {
            $0.phase.writeProtectSeconds
        },
        TrialColumn("thp_enabled", .context, .text,
                    "the anonymous THP setting that applied when the trial ran (the PMD size's own control unless "
                        + "it is `inherit`, else the global one)") { $0.result.thp?.effectiveEnabled ?? "" },
        TrialColumn("thp_shmem_enabled", .context, .text, "the shmem THP setting that applied, likewise") {
            $0.result.thp?.effectiveShmemEnabled ?? ""
        },
        TrialColumn("thp_use_zero_page", .context, .count, "`1` when reads of THP-backed memory map the huge zeropage") {
            $0.result.thp.map { $0.useZeroPage ? "1" : "0" } ?? ""
        },
        bytes("anon_huge_bytes", "change of `AnonHugePages` (smaps_rollup) over the phase; empty where THP cannot back the region") {
            $0.phase.delta.anonHugeBytes
        },
        bytes("shmem_pmd_mapped_bytes", "change of `ShmemPmdMapped` (smaps_rollup) over the phase; empty where THP cannot back the region") {
            $0.phase.delta.shmemPmdMappedBytes
        },
        seconds("overhead_seconds",
                "the trial's wall time as the parent saw it, less its phases' `seconds`: child start, allocation, "
                    + "plug, discard, placement reads, teardown, the result's way back; the same on each of its rows") {
            $0.seenFromInside ? $0.result.overheadSeconds : nil
        },
        bytes("peak_hugetlb_bytes", "snapshot: highest `HugetlbPages` the sampler saw (absolute): the peak of the "
              + "hugetlb backends, whose pages `peak_rss_bytes` does not count; empty on `bench qemu`'s real rows") { record in
            record.phase.samples.flatMap { $0.map(\.hugetlbBytes).max() }
        },
        bytes("region_data_bytes",
              "snapshot: bytes of the region that became present in the trial's mapping (`/proc/self/pagemap`; on "
                  + "anon-private pages of its own, not the shared zeropage): the copy's and writers' data without "
                  + "the copier's own allocations") { $0.phase.regionDataBytes },
        bytes("mid_populated_bytes",
              "snapshot: bytes of the plugged runs present (the shared zeropage included) as the copy starts, from "
                  + "the pagemap (`bench qemu`: QEMU's, with the copy held back)") { $0.phase.protectionMap?.populatedBytes },
        bytes("mid_protected_bytes",
              "snapshot: bytes of the plugged runs write-protected as the copy starts (pagemap bit 57, markers included; "
                  + "empty on a kernel without bit 57, before Linux 5.13)") {
            $0.phase.protectionMap.flatMap { $0.showsProtection ? $0.protectedBytes : nil }
        },
        bytes("unprotected_plugged_bytes",
              "snapshot: plugged bytes neither present nor protected as the copy starts: a write there is not "
                  + "tracked, and the image gets the new data (a lost write); empty before Linux 5.13") {
            $0.phase.protectionMap.flatMap { $0.showsProtection ? $0.unprotectedEmptyBytes : nil }
        },
        count("image_lost_writes",
              "snapshot: pages of the image holding what the guest wrote after the snapshot began (`bench qemu`'s "
                  + "real rows: found in QEMU's own image; its emulation: the pages its oracle says are lost, of "
                  + "the same writes); 0 = consistent") { $0.phase.imageLostWrites },
        seconds("sampler_cpu_seconds",
                "snapshot: CPU time of the sampler's thread over the phase (`RUSAGE_THREAD`), what it can take from "
                    + "the phase's work when they share a CPU; divided by `seconds`, the share of a core it used") {
            $0.phase.samplerCPUSeconds
        },
        seconds("setup_seconds",
                "of `overhead_seconds`: the region's allocation, the guest's writes (the plug) and the discards of the "
                    + "unplugged blocks, before the first phase; the same on each of the trial's rows") {
            $0.result.setupSeconds
        },
        seconds("teardown_seconds",
                "of `overhead_seconds`: unmapping the region and closing its file (where a memfd's or hugetlbfs "
                    + "file's pages are freed) after the last phase; the same on each of the trial's rows") {
            $0.result.teardownSeconds
        },
        TrialColumn("cancel_at", .identity, .fraction,
                    "see `--cancel-at`: the fraction of the plugged pages copied when the snapshot was cancelled; empty "
                        + "when it ran to its end") { $0.config.snapshot?.cancelAt.map { "\($0)" } ?? "" },
        bytes("cancel_copied_bytes", "snapshot with `--cancel-at`: plugged bytes the copy had saved when the cancel was asked for, counted "
              + "from the copy's first reading: its start in the emulation; on a real QEMU the held copy's first hold "
              + "(`mid_protected_bytes`), so what QEMU saved before it is not in it") {
            $0.phase.cancel?.copiedBytes
        },
        bytes("after_cancel_protected_bytes",
              "snapshot with `--cancel-at`: bytes of the memory under test still write-protected (pagemap bit 57, "
                  + "markers included) a fixed time after the cancel; empty before Linux 5.13") { $0.phase.cancel?.protectedBytes },
        bytes("after_cancel_protected_model_bytes",
              "snapshot with `--cancel-at`: what the strategy predicts for `after_cancel_protected_bytes`: 0 where "
                  + "tracking stops (QEMU 8.1 on), else the pages protected as the copy began that it had not copied") {
            $0.phase.cancel?.modelProtectedBytes
        },
        count("after_cancel_uffd_registered",
              "snapshot with `--cancel-at`: 1 when a userfaultfd still has the memory registered for write-protection "
                  + "after the cancel (smaps `VmFlags: uw`), else 0") { $0.phase.cancel.map { $0.uffdRegistered ? 1 : 0 } },
        count("after_cancel_guest_alive",
              "snapshot with `--cancel-at`: 1 when a guest writer wrote once to every plugged page within the bound "
                  + "after the cancel (docs/cancel.md), 0 when it was still waiting on a protected page: a hung guest") {
            $0.phase.cancel.map { $0.guestAlive ? 1 : 0 }
        },
        seconds("after_cancel_guest_wait_seconds",
                "snapshot with `--cancel-at`: how long that writer took, or the bound where it hung") {
            $0.phase.cancel?.guestWaitSeconds
        },
    ]

    public static let names = all.map(\.name)

    /// The names of the columns that readers of files (compare, export, the summary's headings)
    /// refer to by name: declared here, beside the columns, and nowhere else.
    public enum Name {
        public static let runID = "run_id"
        public static let host = "host"
        public static let kernel = "kernel"
        public static let backend = "backend"
        public static let pageBytes = "page_bytes"
        public static let regionBytes = "region_bytes"
        public static let blockBytes = "block_bytes"
        public static let layout = "layout"
        public static let thp = "thp"
        public static let pluggedFraction = "plugged_fraction"
        public static let residentFraction = "resident_fraction"
        public static let strategy = "strategy"
        public static let repetition = "repetition"
        public static let phase = "phase"
        public static let status = "status"
        public static let reason = "reason"
        public static let numaPolicy = "numa_policy"
        public static let numaPages = "numa_pages"
    }

    /// The cells of a record, by column name.
    public static func row(_ record: PhaseRecord) -> [String: String] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.cell(record)) })
    }
}
