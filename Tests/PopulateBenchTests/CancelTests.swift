import Testing
@testable import PopulateBench

/// A snapshot cancelled once a quarter of the plugged memory is copied: 64 MiB, a quarter plugged
/// (16 MiB, 4096 pages), so the copy has saved 1024 pages (4 MiB) when it stops.
func cancelledTrial(_ backend: Backend, _ strategy: Strategy) throws -> CancelOutcome {
    var trial = config(backend, 64 << 20, strategy, resident: 0.5)
    trial.snapshot = SnapshotOptions(writers: 1, writeRate: 1000)
    trial.snapshot?.cancelAt = 0.25
    let result = try runInChild(trial)
    try #require(result.status == .ok, "\(trial.label): \(result.reason)")
    return try #require(result.phase(.snapshot)?.cancel, "no cancel outcome")
}

extension KernelTests {
    @Suite(needs(.bench), needs(.uffdWP)) struct CancelledSnapshot {
        static let copied = 4 << 20
        static let plugged = 16 << 20

        /// QEMU 8.0 populated and protected the plugged runs; the three quarters the copy never
        /// reached stay protected with nobody to serve a fault, and the guest's writer hangs.
        @Test func before81TheUncopiedPagesStayProtectedAndTheGuestHangs() throws {
            let cancel = try cancelledTrial(.anonPrivate, .qemu80)
            #expect(cancel.copiedBytes == Self.copied)
            #expect(cancel.protectedBytes == Self.plugged - Self.copied)
            #expect(cancel.uffdRegistered)
            #expect(!cancel.guestAlive)
            #expect(cancel.guestWaitSeconds == SnapshotOptions.afterCancelWriteBound)
        }

        /// QEMU 7.2 protected the whole block; on shmem every empty entry got a marker, unplugged
        /// memory included, so all of the region but what was copied stays protected.
        @Test func qemu72LeavesTheWholeShmemBlockProtected() throws {
            let cancel = try cancelledTrial(.memfdShmem, .qemu72)
            #expect(cancel.protectedBytes == (64 << 20) - Self.copied)
            #expect(!cancel.guestAlive)
        }

        /// QEMU 8.1 stops tracking on a cancel: nothing protected, nothing registered, the guest writes on.
        @Test(arguments: [Backend.anonPrivate, .memfdShmem])
        func from81TrackingStops(backend: Backend) throws {
            let cancel = try cancelledTrial(backend, .qemu81)
            #expect(cancel.copiedBytes == Self.copied)
            #expect(cancel.protectedBytes == 0)
            #expect(!cancel.uffdRegistered)
            #expect(cancel.guestAlive)
            #expect(cancel.guestWaitSeconds < SnapshotOptions.afterCancelWriteBound)
        }

        /// The declaration's prediction is the measurement, for every preset with a cancel.
        @Test(arguments: [Strategy.qemu61, .qemu62, .qemu72, .qemu80, .qemu81])
        func theModelPredictsWhatStaysProtected(strategy: Strategy) throws {
            let cancel = try cancelledTrial(.anonPrivate, strategy)
            #expect(cancel.protectedBytes == cancel.modelProtectedBytes)
            #expect(cancel.guestAlive == (strategy.declaration.onCancel == .stopsTracking))
        }
    }
}
