import LinuxMM

/// Everything that defines one trial; it crosses to the child process as JSON.
public struct TrialConfig: Codable, Hashable, Sendable {
    /// The seed of the random layouts and the guest's writes when none is given: runs of any
    /// command (and the benchmarks) draw the same blocks.
    public static let defaultSeed: UInt64 = 20211013

    public var backend: Backend
    public var regionBytes: Int
    public var pageBytes: Int
    public var blockBytes: Int
    public var layout: TrialLayout
    public var thp: THPMode
    public var pluggedFraction: Double
    /// What the guest wrote of the plugged pages before the trial.
    public var resident: Resident
    public var strategy: Strategy
    public var seed: UInt64
    public var hugetlbfsPath: String?
    public var numaPolicy: NUMA.Policy = .local
    /// The node whose CPUs run population (a snapshot thread far from the guest); nil: anywhere.
    public var populateNode: Int?
    /// The node whose CPUs run the guest's writes; nil: anywhere.
    public var guestNode: Int?
    /// The background-snapshot phase after protection; nil: no snapshot phase.
    public var snapshot: SnapshotOptions?
    /// Map hugetlb memory `MAP_NORESERVE`, as QEMU's `reserve=off`: huge pages are taken when
    /// touched, not all at mmap (`bench qemu` emulates a device larger than the pool this way).
    public var noReserve = false

    public init(backend: Backend, regionBytes: Int, pageBytes: Int, blockBytes: Int, layout: TrialLayout,
                thp: THPMode, pluggedFraction: Double, residentFraction: Double, strategy: Strategy,
                seed: UInt64, hugetlbfsPath: String? = nil, numaPolicy: NUMA.Policy = .local,
                populateNode: Int? = nil, guestNode: Int? = nil, snapshot: SnapshotOptions? = nil) {
        self.backend = backend
        self.regionBytes = regionBytes
        self.pageBytes = pageBytes
        self.blockBytes = blockBytes
        self.layout = layout
        self.thp = thp
        self.pluggedFraction = pluggedFraction
        resident = .share(residentFraction)
        self.strategy = strategy
        self.seed = seed
        self.hugetlbfsPath = hugetlbfsPath
        self.numaPolicy = numaPolicy
        self.populateNode = populateNode
        self.guestNode = guestNode
        self.snapshot = snapshot
    }

    public var discardMap: DiscardMap {
        switch layout {
        case let .ranges(ranges):
            DiscardMap(regionSize: regionBytes, blockSize: blockBytes, pluggedRanges: ranges)
        case let .named(named):
            DiscardMap(regionSize: regionBytes, blockSize: blockBytes, pluggedFraction: pluggedFraction,
                       layout: named, seed: seed)
        }
    }

    /// The `layout` column: the layout's name, or the ranges themselves.
    public var layoutText: String { layout.text }

    public var guestPattern: GuestPattern {
        GuestPattern(seed: seed ^ 0xA5A5_5A5A_0F0F_F0F0, residentFraction: resident.share, residentPages: resident.pages)
    }

    /// The `resident_fraction` column: what share of the plugged pages the guest had written.
    public var residentFraction: Double { resident.share }

    /// A short label for progress lines and tables.
    public var label: String {
        "\(backend.rawValue) \(ByteSize.format(regionBytes)) \(strategy.rawValue) plugged=\(pluggedFraction)"
            + " resident=\(residentFraction) block=\(ByteSize.format(blockBytes)) \(layoutText) thp=\(thp.rawValue)"
            + (numaPolicy == .local ? "" : " numa=\(NUMAPolicyText.format(numaPolicy))")
            + (snapshot.map { " snapshot=\($0.tracking.rawValue)" } ?? "")
            + (populateNode.map { " populate-node=\($0)" } ?? "") + (guestNode.map { " guest-node=\($0)" } ?? "")
    }
}

/// The phases of a trial that produce a row.
public enum Phase: String, Codable, CaseIterable, Sendable {
    case populate, protect, snapshot
}

public enum TrialStatus: String, Codable, CaseIterable, Sendable {
    case ok, skipped, failed
}

/// What the guest wrote of the plugged pages before a trial: a seeded choice of a share of them, or
/// exactly the pages a real guest wrote (`bench qemu` reads QEMU's pagemap), with the share they
/// make of the plugged memory for the `resident_fraction` column. One value, so a trial cannot
/// have both a share and pages that disagree about which rule applies.
public enum Resident: Hashable, Sendable {
    case share(Double)
    /// Page indices of the region.
    case pages([Range<Int>], share: Double)

    public var share: Double {
        switch self {
        case let .share(share), let .pages(_, share): share
        }
    }

    public var pages: [Range<Int>]? {
        if case let .pages(pages, _) = self { pages } else { nil }
    }
}
