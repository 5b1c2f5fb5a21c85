import LinuxMM

/// How RAM is made ready for write-protection: what is populated, how, and what is protected.
/// The presets reproduce QEMU versions (migration/ram.c).
public enum Strategy: String, CaseIterable, Codable, Sendable {
    // The order of the cases is the order of every list of strategies: the default matrix, the
    // tables, `bench doctor`, the charts (`docs/columns.json`). What each is lives in `declaration`.
    case none
    case fullTouch = "full-touch"
    case discardTouch = "discard-touch"
    case fullMadvise = "full-madvise"
    case discardMadvise = "discard-madvise"
    case qemu61 = "qemu-6.1"
    case qemu62 = "qemu-6.2"
    case qemu720 = "qemu-7.2.0"
    case qemu72 = "qemu-7.2"
    case qemu80 = "qemu-8.0"
    case qemu81 = "qemu-8.1"
    case wpUnpopulated = "wp-unpopulated"
    case qemu72WPUnpopulated = "qemu-7.2-wp-unpopulated"
    case qemu72CancelFix = "qemu-7.2-cancel-fix"
    case qemu81Madvise = "qemu-8.1-madvise"

    /// Everything the harness holds of one strategy, in one place: adding a strategy is a case and
    /// its declaration (then `bench columns --update-docs docs` for the charts' copy).
    public struct Declaration: Sendable {
        public var populate: PopulateScope
        public var method: PopulateMethod = .touch
        /// A touching population that steps by the host's base page even over huge pages, as QEMU
        /// before 6.2 did (the same pages end up present; the time is not the same).
        public var touchesEveryBasePage = false
        public var protect: ProtectScope = .wholeRegion
        /// Features the userfaultfd must grant beyond what the backend needs.
        public var requiredFeatures: Userfaultfd.Features = []
        /// Runs when `--strategy` names none.
        public var inDefaultMatrix = true
        /// The full population the table measures its saving against, for a discard-aware one.
        public var savesAgainst: Strategy?
        /// What it stands for: the QEMU versions, or the idea.
        public var standsFor: String
        /// What a cancelled snapshot leaves: QEMU before 8.1 left its write tracking armed.
        public var onCancel: CancelEnd = .stopsTracking
        /// Where it stands among QEMU's programs: an idea, an upstream release, or a change on one.
        public var lineage: QEMULineage = .idea
    }

    /// What happens to write tracking when a background snapshot is cancelled (or fails) before
    /// its copy is done.
    public enum CancelEnd: String, Codable, Sendable {
        /// Nothing: the pages the copy had not reached stay write-protected and registered, with
        /// nobody left to serve a fault, so the guest's next write to one of them waits forever.
        /// QEMU before 8.1 stopped tracking (`ram_write_tracking_stop`) on the success path only.
        case leavesTrackingArmed = "leaves-tracking-armed"
        /// Every range is un-protected and unregistered (QEMU 8.1's "stop tracking ram writes when
        /// cancelling background migration").
        case stopsTracking = "stops-tracking"
    }

    public var declaration: Declaration {
        switch self {
        case .none:
            Declaration(populate: .nothing, standsFor: "no population: the floor the others add to")
        case .fullTouch:
            Declaration(populate: .wholeRegion, standsFor: "the whole region, a byte read per page")
        case .discardTouch:
            Declaration(populate: .pluggedRuns, savesAgainst: .fullTouch,
                        standsFor: "the plugged runs, byte reads: the 6.2 patch's idea")
        case .fullMadvise:
            Declaration(populate: .wholeRegion, method: .madvise,
                        standsFor: "the whole region, MADV_POPULATE_READ (Linux 5.14)")
        case .discardMadvise:
            Declaration(populate: .pluggedRuns, method: .madvise, savesAgainst: .fullMadvise,
                        standsFor: "the plugged runs, MADV_POPULATE_READ")
        // `ram_block_populate_pages` reads the whole used length, one byte per
        // `qemu_real_host_page_size` (4 KiB, even on hugetlb): `touchStride`.
        case .qemu61:
            Declaration(populate: .wholeRegion, touchesEveryBasePage: true, standsFor: "QEMU 6.0 and 6.1, before the patch",
                        onCancel: .leavesTrackingArmed,
                        lineage: .upstream(since: QEMURelease(6, 0), commit: nil,
                                           does: "populates the whole RAM block (before the RamDiscardManager patch of 6.2)"))
        // The RamDiscardManager patch: `populate_read_range` with its loop bound `offset < size`, one
        // byte per `block->page_size`.
        case .qemu62:
            Declaration(populate: .pluggedRunsQEMU62Bound, standsFor: "QEMU 6.2 up to 7.2.0",
                        onCancel: .leavesTrackingArmed,
                        lineage: .upstream(since: QEMURelease(6, 2), commit: .handleRamDiscardManager,
                                           does: "has 6.2's populate loop bound offset < size (fixed in 7.2.1 and 8.0)"))
        case .qemu720:
            Declaration(populate: .pluggedRunsQEMU62Bound,
                        standsFor: "QEMU 7.2.0 by its own name: 6.2's code (the bound was fixed in 7.2.1)",
                        onCancel: .leavesTrackingArmed, lineage: .sameCodeAs(.qemu62))
        // "migration/ram: Fix populate_read_range()"; the whole block still protected.
        case .qemu72:
            Declaration(populate: .pluggedRuns, savesAgainst: .qemu61,
                        standsFor: "QEMU 7.2.1 and later 7.2.x (Debian 12's 7.2.22)", onCancel: .leavesTrackingArmed,
                        lineage: .upstream(since: QEMURelease(7, 2, 1), commit: .fixPopulateReadRange,
                                           does: "has the populate_read_range() bound fixed (7.2.1 stable)"))
        // "Optimize ram_write_tracking_start() for RamDiscardManager".
        case .qemu80:
            Declaration(populate: .pluggedRuns, protect: .pluggedRuns, savesAgainst: .qemu61,
                        standsFor: "QEMU 8.0", onCancel: .leavesTrackingArmed,
                        lineage: .upstream(since: QEMURelease(8, 0), commit: .optimizeWriteTrackingStart,
                                           does: "populates and protects plugged runs only (8.0)"))
        // "migration: stop tracking ram writes when cancelling background migration": what 8.0
        // does until a snapshot ends early; a cancelled or failed one stops tracking too.
        case .qemu81:
            Declaration(populate: .pluggedRuns, protect: .pluggedRuns, inDefaultMatrix: false, savesAgainst: .qemu61,
                        standsFor: "QEMU 8.1 and later (Debian's 10.0.2 and 10.2.2)",
                        lineage: .upstream(since: QEMURelease(8, 1), commit: .stopTrackingOnCancel,
                                           does: "populates and protects plugged runs only (8.0) and stops tracking "
                                               + "writes when a snapshot is cancelled (8.1)"))
        case .wpUnpopulated:
            Declaration(populate: .nothing, protect: .pluggedRuns, requiredFeatures: .wpUnpopulated,
                        savesAgainst: .qemu61,
                        standsFor: "what QEMU could do: UFFD_FEATURE_WP_UNPOPULATED (Linux 6.4) on the plugged runs",
                        lineage: .branch(of: .qemu80, change: "UFFD_FEATURE_WP_UNPOPULATED",
                                         does: "no population, protection marks empty entries (wp-unpopulated)"))
        // 7.2's protection of the whole block: markers, and the page tables that hold them, cover
        // unplugged memory too.
        case .qemu72WPUnpopulated:
            Declaration(populate: .nothing, requiredFeatures: .wpUnpopulated, inDefaultMatrix: false,
                        standsFor: "QEMU 7.2.x with patches/qemu/wp-unpopulated-7.2.patch", onCancel: .leavesTrackingArmed,
                        lineage: .branch(of: .qemu72, change: "UFFD_FEATURE_WP_UNPOPULATED",
                                         does: "no population, protection marks empty entries (qemu-7.2-wp-unpopulated)"))
        // 7.2's population and protection, with 8.1's stop of tracking at every end of a snapshot.
        case .qemu72CancelFix:
            Declaration(populate: .pluggedRuns, inDefaultMatrix: false, savesAgainst: .qemu61,
                        standsFor: "QEMU 7.2.x with patches/qemu/cancel-stops-tracking-7.2.patch",
                        lineage: .branch(of: .qemu72, change: "a backport of \(QEMUCommit.stopTrackingOnCancel.hash)",
                                         does: "a cancelled or failed snapshot stops tracking writes, as "
                                             + QEMUCommit.stopTrackingOnCancel.text))
        // 8.1 with its read per page replaced by one MADV_POPULATE_READ per plugged run: what the
        // kernel's population costs QEMU's migration thread without a trap per page.
        case .qemu81Madvise:
            Declaration(populate: .pluggedRuns, method: .madvise, protect: .pluggedRuns, inDefaultMatrix: false,
                        savesAgainst: .qemu61, standsFor: "what QEMU 8.1 could do: MADV_POPULATE_READ (Linux 5.14) on the plugged runs",
                        lineage: .branch(of: .qemu81, change: "MADV_POPULATE_READ",
                                         does: "the plugged runs populated by MADV_POPULATE_READ, not a read per page"))
        }
    }

    /// The first idea that populates the whole region and asks nothing of the kernel beyond what
    /// the backend needs: what tells whether a backend can run here at all (`bench doctor`, the
    /// recommendation's backends).
    public static let backendProbe = allCases.first { strategy in
        strategy.declaration.lineage == .idea && strategy.declaration.populate == .wholeRegion
            && strategy.requiredFeatures.isEmpty
    }!

    public static let defaultMatrix = allCases.filter(\.declaration.inDefaultMatrix)

    /// Each discard-aware strategy and the full population its saving is measured against.
    public static let savings = allCases.compactMap { strategy in
        strategy.declaration.savesAgainst.map { (discardAware: strategy, full: $0) }
    }

    public enum PopulateScope: String, Codable, Sendable {
        case nothing, wholeRegion, pluggedRuns
        /// Plugged runs with QEMU 6.2's bound: each run `[offset, offset+size)` is read only over
        /// `[offset, size)`, so runs starting at or beyond their own length get nothing.
        case pluggedRunsQEMU62Bound
    }

    public enum PopulateMethod: String, Codable, Sendable {
        /// One volatile byte read per page, a fault each (`populate_read_range`).
        case touch
        /// `MADV_POPULATE_READ` (Linux 5.14): the kernel faults the range in without a trap per page.
        case madvise
    }

    public enum ProtectScope: String, Codable, Sendable {
        case wholeRegion, pluggedRuns
    }

    public var populateScope: PopulateScope { declaration.populate }

    public var populateMethod: PopulateMethod { declaration.method }

    /// The distance between two reads of a touching population: one per page of the region, but
    /// QEMU before 6.2 stepped by the host's base page even over huge pages (the same pages end
    /// up present; the time is not the same).
    public func touchStride(pageSize: Int, basePageSize: Int) -> Int {
        declaration.touchesEveryBasePage ? min(pageSize, basePageSize) : pageSize
    }

    public var protectScope: ProtectScope { declaration.protect }

    /// Features the userfaultfd must grant beyond what the backend needs.
    public var requiredFeatures: Userfaultfd.Features { declaration.requiredFeatures }

    /// The byte ranges of the region this strategy populates.
    public func populateRanges(regionSize: Int, map: DiscardMap) -> [Range<Int>] {
        switch populateScope {
        case .nothing: []
        case .wholeRegion: [0 ..< regionSize]
        case .pluggedRuns: map.pluggedRuns
        case .pluggedRunsQEMU62Bound:
            map.pluggedRuns.compactMap { run in
                let size = run.count
                return run.lowerBound < size ? run.lowerBound ..< min(size, run.upperBound) : nil
            }
        }
    }

    /// The byte ranges of the region this strategy write-protects.
    public func protectRanges(regionSize: Int, map: DiscardMap) -> [Range<Int>] {
        switch protectScope {
        case .wholeRegion: [0 ..< regionSize]
        case .pluggedRuns: map.pluggedRuns
        }
    }
}
