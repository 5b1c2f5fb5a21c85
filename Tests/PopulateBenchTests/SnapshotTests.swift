import Testing
@testable import PopulateBench

func snapshotTrial(_ backend: Backend, _ size: Int, _ strategy: Strategy) throws -> PhaseResult {
    var trial = config(backend, size, strategy, resident: 0.5)
    trial.snapshot = SnapshotOptions(writers: 1)
    let result = Trial(config: trial, host: HostCapabilities.probe()).run()
    try #require(result.status == .ok, "\(trial.label): \(result.reason)")
    return try #require(result.phase(.snapshot))
}

extension KernelTests {
    @Suite struct BackgroundSnapshot {
        @Test(arguments: [Strategy.qemu61, .qemu72, .qemu80, .wpUnpopulated])
        func populatedOrMarkedMemoryGivesAConsistentSnapshot(strategy: Strategy) throws {
            if strategy == .wpUnpopulated, host.userfaultfdFeatures?.contains(.wpUnpopulated) != true { return }
            let phase = try snapshotTrial(.anonPrivate, 64 << 20, strategy)
            #expect(phase.inconsistentPages == 0)
            #expect(phase.touchedBytes == 16 << 20, "every plugged page copied")
            #expect((phase.wpFaults ?? 0) <= (phase.writes ?? 0))
        }

        @Test(arguments: [Strategy.none, .qemu62])
        func unpopulatedAnonymousMemoryLosesWrites(strategy: Strategy) throws {
            // Write-protecting an empty anonymous entry is a no-op: writes there are never reported.
            let phase = try snapshotTrial(.anonPrivate, 64 << 20, strategy)
            #expect((phase.inconsistentPages ?? 0) > 0, "writes: \(phase.writes ?? 0)")
        }

        @Test func shmemMarkersCatchWritesWithoutPopulation() throws {
            let phase = try snapshotTrial(.memfdShmem, 64 << 20, .none)
            #expect(phase.inconsistentPages == 0)
            #expect((phase.peakPTEBytes ?? 0) > 0)
        }

        @Test func samplerRecordsTheWholePhase() throws {
            let phase = try snapshotTrial(.memfdShmem, 64 << 20, .qemu80)
            let samples = try #require(phase.samples)
            #expect(!samples.isEmpty)
            #expect(samples.map(\.seconds) == samples.map(\.seconds).sorted())
        }
    }
}

extension KernelTests.BackgroundSnapshot {
    /// WP_ASYNC never makes a writer wait, so nothing copies a page before it changes: the scan
    /// finds the written pages, and the oracle finds the copies that are no longer point-in-time.
    @Test(.enabled(if: host.userfaultfdFeatures?.contains(.wpAsync) == true, "kernel lacks WP_ASYNC"))
    func asyncTrackingReportsWrittenPagesWithoutFaults() throws {
        var trial = config(.memfdShmem, 64 << 20, .qemu80, resident: 0.5)
        trial.snapshot = SnapshotOptions(tracking: .async, writers: 1)
        let result = Trial(config: trial, host: HostCapabilities.probe()).run()
        try #require(result.status == .ok, "\(result.reason)")
        let phase = try #require(result.phase(.snapshot))
        #expect(phase.wpFaults == 0)
        let written = try #require(phase.writtenPages)
        #expect(written <= 4096, "at most the 16 MiB of plugged pages")
        #expect((phase.inconsistentPages ?? 0) <= written, "only written pages can differ")
    }
}
