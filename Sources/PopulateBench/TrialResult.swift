import LinuxMM

/// The measurements of one phase.
public struct PhaseResult: Codable, Sendable, Equatable {
    public var phase: Phase
    public var delta = MemoryDelta()
    public var touchedBytes = 0
    public var seconds = 0.0
    public var cpuSeconds = 0.0
    public var minorFaults = 0
    public var expected = CostModel.Cost()
    /// Pages of the region per node after the phase, as `0:1234;zero:5;none:6`.
    public var numaPages = ""
    public var wpFaults: Int?
    public var inconsistentPages: Int?
    public var peakRSSBytes: Int?
    public var peakPTEBytes: Int?
    /// Writes the guest writers made during the snapshot.
    public var writes: Int?
    /// Pages `PAGEMAP_SCAN` found written (async tracking).
    public var writtenPages: Int?
    public var samples: [MemorySample]?
    /// VmRSS and VmPTE when the phase began: the peaks' deltas are taken from them.
    public var startRSSBytes = 0
    public var startPTEBytes = 0
    /// The protect phase in its two steps: `UFFDIO_REGISTER` (with opening the userfaultfd) and
    /// `UFFDIO_WRITEPROTECT` of the strategy's ranges.
    public var registerSeconds: Double?
    public var writeProtectSeconds: Double?
    /// How long the guest's writes that hit protected pages waited (snapshot, sync tracking).
    public var stalls: StallDistribution?
    /// Of `wpFaults`, those the copier served between pages (the migration-thread service).
    public var faultsServedByCopier: Int?
    /// The snapshot: CPU time of the sampler's thread.
    public var samplerCPUSeconds: Double?
    /// The snapshot: bytes of the region that became present in this mapping (for anonymous
    /// memory, pages of its own, not the shared zeropage), from `/proc/self/pagemap`; unlike
    /// `delta`, nothing of the copier's own allocations.
    public var regionDataBytes: Int?
    /// The snapshot: write protection over the plugged runs as the copy starts (pagemap).
    public var protectionMap: ProtectionMap?
    /// The snapshot: pages of the image that hold what the guest wrote after the snapshot began
    /// (`bench qemu`: counted in QEMU's image, or, for the emulation, its oracle on the same writes).
    public var imageLostWrites: Int?
    /// The snapshot with `cancelAt`: what the cancel left behind.
    public var cancel: CancelOutcome?

    public var peakRSSDeltaBytes: Int? { peakRSSBytes.map { $0 - startRSSBytes } }
    public var peakPTEDeltaBytes: Int? { peakPTEBytes.map { $0 - startPTEBytes } }

    public init(phase: Phase) { self.phase = phase }
}

/// What a trial produced: its phases, or why it has none.
public struct TrialResult: Codable, Sendable {
    public var config: TrialConfig
    public var status: TrialStatus
    public var reason: String
    public var phases: [PhaseResult]
    /// The host's THP settings when the trial ran (nil for a trial that never reached a child).
    public var thp: SysfsMM.TransparentHugePages?
    /// The trial's wall time as the parent saw it, from starting the child to its decoded result
    /// (nil for a trial that never reached a child); see `overheadSeconds`.
    public var wallSeconds: Double?
    /// In the child: the region's allocation, the guest's writes and the discards before the first
    /// phase; and the region's unmapping after the last.
    public var setupSeconds: Double?
    public var teardownSeconds: Double?

    public init(config: TrialConfig, status: TrialStatus, reason: String = "", phases: [PhaseResult] = []) {
        self.config = config
        self.status = status
        self.reason = reason
        self.phases = phases
    }

    public func phase(_ phase: Phase) -> PhaseResult? { phases.first { $0.phase == phase } }
}
