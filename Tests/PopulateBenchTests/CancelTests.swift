import Testing
@testable import PopulateBench

/// A snapshot of 64 MiB cancelled once a quarter of the plugged memory is copied. The first
/// 16 MiB are plugged (`prefix`), nothing was written before, and no writer runs during the copy,
/// so the copy saves the plugged pages in address order: [0, 4 MiB) when it stops.
func cancelledTrial(_ backend: Backend, _ strategy: Strategy, writers: Int = 0,
                    faultService: SnapshotOptions.FaultService = .migrationThread) throws -> (CancelOutcome, PhaseResult) {
    var trial = config(backend, 64 << 20, strategy, resident: 0, layout: .prefix)
    // Writers as fast as they can: the copy of 4 MiB takes milliseconds.
    trial.snapshot = SnapshotOptions(faultService: faultService, writers: writers, writeRate: 0)
    trial.snapshot?.cancelAt = 0.25
    let result = try runInChild(trial)
    try #require(result.status == .ok, "\(trial.label): \(result.reason)")
    let phase = try #require(result.phase(.snapshot), "no snapshot phase")
    return (try #require(phase.cancel, "no cancel outcome"), phase)
}

extension KernelTests {
    @Suite(needs(.bench), needs(.uffdWP), needs(.pagemapWP)) struct CancelledSnapshot {
        static let region = 64 << 20
        static let plugged = 16 << 20
        static let copied = 4 << 20

        /// What each preset leaves protected, from what it populates and protects (anonymous memory
        /// has an entry to protect only where it was populated; shmem gets a marker on every empty
        /// entry) and whether its cancel stops tracking.
        static let leftProtected: [(Strategy, Backend, Int)] = [
            // The whole region read, then protected: every page has an entry.
            (.qemu61, .anonPrivate, region - copied),
            // The plugged run starts at 0, below its own size: 6.2's loop bound reads all of it.
            (.qemu62, .anonPrivate, plugged - copied),
            (.qemu720, .anonPrivate, plugged - copied),
            (.qemu72, .anonPrivate, plugged - copied),
            (.qemu72, .memfdShmem, region - copied),
            (.qemu80, .anonPrivate, plugged - copied),
            (.qemu80, .memfdShmem, plugged - copied),
            (.qemu81, .anonPrivate, 0),
            (.qemu81, .memfdShmem, 0),
            (.qemu72CancelFix, .anonPrivate, 0),
            (.qemu72CancelFix, .memfdShmem, 0),
            (.fullTouch, .anonPrivate, 0),
        ]

        @Test(arguments: leftProtected)
        func whatStaysProtected(strategy: Strategy, backend: Backend, protected: Int) throws {
            let (cancel, _) = try cancelledTrial(backend, strategy)
            #expect(cancel.copiedBytes == Self.copied)
            #expect(cancel.protectedBytes == protected)
            #expect(cancel.modelProtectedBytes == protected)
            #expect(cancel.uffdRegistered == (strategy.declaration.onCancel == .leavesTrackingArmed))
            // A page left protected with nobody to serve its fault hangs the guest's writer.
            #expect(cancel.guestAlive == (protected == 0))
        }

        /// 7.2 with WP_UNPOPULATED populates nothing and protects the whole block: a marker on every
        /// page, and the cancel leaves all but the copied ones.
        @Test(needs(.wpUnpopulated)) func qemu72WithMarkersLeavesTheWholeBlock() throws {
            let (cancel, _) = try cancelledTrial(.anonPrivate, .qemu72WPUnpopulated)
            #expect(cancel.protectedBytes == Self.region - Self.copied)
            #expect(cancel.modelProtectedBytes == Self.region - Self.copied)
            #expect(cancel.uffdRegistered)
            #expect(!cancel.guestAlive)
        }

        /// A guest that writes on after 8.1's cancel takes far less than the bound (0.2 s per GiB
        /// here against 2 s and 2 s per GiB); the snapshot's own writers are counted once joined,
        /// each write once, stalled or not.
        @Test(arguments: SnapshotOptions.FaultService.allCases)
        func from81TheGuestWritesOnWellWithinTheBound(service: SnapshotOptions.FaultService) throws {
            let (cancel, phase) = try cancelledTrial(.anonPrivate, .qemu81, writers: 2, faultService: service)
            #expect(cancel.guestAlive)
            #expect(cancel.guestWaitSeconds > 0)
            #expect(cancel.guestWaitSeconds < SnapshotOptions.afterCancelWriteBound(pluggedBytes: Self.plugged) / 2)
            // The copy of 4 MiB can be over before a write ends (then none counts: each ended after
            // the cancel); whatever counted is in the stall distribution exactly once.
            let writes = try #require(phase.writes)
            let stalls = try #require(phase.stalls)
            #expect(stalls.stalledWrites + stalls.unstalledWrites == writes)
        }

        /// After 8.0's cancel the guest's writer waits on the first page nobody releases: it is
        /// called hung at its bound for 16 MiB plugged (2 s + 2 s × 16/1024), then let go, and the
        /// trial ends with its writers joined (a writer left blocked would fail it or crash it).
        /// With a handler thread, faults the handler read as the cancel came stay unserved too.
        @Test(arguments: SnapshotOptions.FaultService.allCases)
        func before81TheHungGuestIsLetGoAtItsBound(service: SnapshotOptions.FaultService) throws {
            let (cancel, phase) = try cancelledTrial(.anonPrivate, .qemu80, writers: 2, faultService: service)
            #expect(!cancel.guestAlive)
            #expect(cancel.guestWaitSeconds == 2.0 + 2.0 * 16 / 1024)
            // A writer's fault served before the cancel copies (and releases) a page beyond the
            // copy's own quarter: what stays protected is what neither saved.
            // Beyond its own quarter the copy saves only pages whose fault it served.
            #expect(cancel.copiedBytes >= Self.copied)
            #expect(cancel.copiedBytes - Self.copied <= (phase.wpFaults ?? 0) * 4096)
            #expect(cancel.protectedBytes == Self.plugged - cancel.copiedBytes)
            #expect(cancel.modelProtectedBytes == cancel.protectedBytes)
            let stalls = try #require(phase.stalls)
            #expect(stalls.stalledWrites + stalls.unstalledWrites == phase.writes)
        }
    }
}
