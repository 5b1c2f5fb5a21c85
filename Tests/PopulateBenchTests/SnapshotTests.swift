import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// A snapshot trial of 64 MiB, 25% plugged, half of that written by the guest, in a child process.
func snapshotTrial(_ backend: Backend, _ size: Int, _ strategy: Strategy, tracking: SnapshotOptions.Tracking = .sync)
    throws -> (protect: PhaseResult, snapshot: PhaseResult) {
    var trial = config(backend, size, strategy, resident: 0.5)
    trial.snapshot = SnapshotOptions(tracking: tracking, writers: 1)
    let result = try runInChild(trial)
    try #require(result.status == .ok, "\(trial.label): \(result.reason)")
    return (try #require(result.phase(.protect)), try #require(result.phase(.snapshot)))
}

extension KernelTests {
    @Suite(needs(.bench)) struct BackgroundSnapshot {
        @Test(arguments: [Strategy.qemu61, .qemu72, .qemu80])
        func populatedMemoryGivesAConsistentSnapshot(strategy: Strategy) throws {
            try consistent(strategy)
        }

        @Test(needs(.wpUnpopulated)) func markedMemoryGivesAConsistentSnapshot() throws {
            try consistent(.wpUnpopulated)
        }

        func consistent(_ strategy: Strategy) throws {
            let phase = try snapshotTrial(.anonPrivate, 64 << 20, strategy).snapshot
            // Zero inconsistent pages mean something only if the guest wrote during the snapshot.
            #expect((phase.writes ?? 0) > 0, "the writer wrote nothing")
            #expect(phase.inconsistentPages == 0)
            #expect(phase.touchedBytes == 16 << 20, "every plugged page copied")
            #expect((phase.wpFaults ?? 0) <= (phase.writes ?? 0))
        }

        @Test(arguments: [Strategy.none, .qemu62])
        func unpopulatedAnonymousMemoryLosesWrites(strategy: Strategy) throws {
            // Write-protecting an empty anonymous entry is a no-op: writes there are never reported.
            let phase = try snapshotTrial(.anonPrivate, 64 << 20, strategy).snapshot
            #expect((phase.inconsistentPages ?? 0) > 0, "writes: \(phase.writes ?? 0)")
        }

        /// Protecting shmem puts markers in empty entries: every write is reported, with no population,
        /// at the price of the page tables for the unplugged three quarters.
        @Test func shmemMarkersCatchWritesWithoutPopulation() throws {
            let (protect, snapshot) = try snapshotTrial(.memfdShmem, 64 << 20, .none)
            #expect((snapshot.writes ?? 0) > 0, "the writer wrote nothing")
            #expect(snapshot.inconsistentPages == 0)
            // The guest's writes built the tables of the 8 plugged 2 MiB blocks; the markers build
            // the other 24, and nothing above them.
            #expect(protect.delta.pteBytes == 24 * table, "protect VmPTE \(protect.delta.pteBytes)")
            // During the snapshot all 32 PTE tables of the region exist, and its PMD and PUD table.
            #expect((snapshot.peakPTEBytes ?? 0) >= 32 * table + upperLevels, "peak VmPTE \(snapshot.peakPTEBytes ?? 0)")
        }

        /// The sampler runs from the phase's start to its end and reads the right counters.
        @Test func samplerRecordsTheWholePhase() throws {
            let phase = try snapshotTrial(.memfdShmem, 64 << 20, .qemu80).snapshot
            let samples = try #require(phase.samples)
            let first = try #require(samples.first), last = try #require(samples.last)
            #expect(samples.count >= 2 && first.seconds < last.seconds && last.seconds <= phase.seconds,
                    "\(samples.count) samples from \(first.seconds) s to \(last.seconds) s of \(phase.seconds) s")
            // qemu-8.0 populated the 16 MiB of plugged shmem: every sample sees it resident
            // (less the per-CPU counters' lag).
            #expect(samples.allSatisfy { $0.rssShmemBytes >= 15 << 20 },
                    "RssShmem \(samples.map(\.rssShmemBytes).min() ?? 0)")
            #expect(phase.peakRSSBytes == samples.map(\.rssBytes).max())
            // The sampler's thread read status once a sample: some CPU, and never more than the
            // phase's wall time (one thread).
            let cpu = try #require(phase.samplerCPUSeconds)
            #expect(cpu > 0 && cpu <= phase.seconds, "sampler CPU \(cpu) s of a \(phase.seconds) s phase")
        }
    }
}

extension KernelTests.BackgroundSnapshot {
    /// WP_ASYNC never makes a writer wait, so nothing copies a page before it changes: the scan
    /// finds the written pages, and the oracle finds the copies that are no longer point-in-time.
    @Test(needs(.wpAsync))
    func asyncTrackingReportsWrittenPagesWithoutFaults() throws {
        let phase = try snapshotTrial(.memfdShmem, 64 << 20, .qemu80, tracking: .async).snapshot
        let writes = try #require(phase.writes)
        let written = try #require(phase.writtenPages)
        #expect(writes > 0, "the writer wrote nothing")
        // Every write lands on a plugged page, so PAGEMAP_SCAN must find at least one written page
        // and at most as many as there were writes, or plugged pages.
        #expect(written > 0, "PAGEMAP_SCAN found none of \(writes) writes")
        #expect(written <= min(writes, 4096), "\(written) written pages of \(writes) writes, 4096 plugged")
        #expect((phase.inconsistentPages ?? 0) <= written, "only written pages can differ")
    }
}
