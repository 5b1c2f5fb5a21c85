import LinuxMM

/// How RAM is made ready for write-protection: what is populated, how, and what is protected.
/// The presets reproduce QEMU versions (migration/ram.c).
public enum Strategy: String, CaseIterable, Codable, Sendable {
    case none
    case fullTouch = "full-touch"
    case fullMadvise = "full-madvise"
    case discardTouch = "discard-touch"
    case discardMadvise = "discard-madvise"
    /// QEMU 6.0 and 6.1: `ram_block_populate_pages` reads the whole used length, one byte per
    /// `qemu_real_host_page_size` (4 KiB, even on hugetlb).
    case qemu61 = "qemu-6.1"
    /// QEMU 6.2 up to 7.2.0: the RamDiscardManager patch, `populate_read_range` with its loop
    /// bound `offset < size`, one byte per `block->page_size`.
    case qemu62 = "qemu-6.2"
    /// QEMU 7.2.0 by its own name: the same code as 6.2 (the bound was fixed in 7.2.1).
    case qemu720 = "qemu-7.2.0"
    /// QEMU 7.2.1 to 7.2.x (Debian 12's 7.2+dfsg is 7.2.22): "migration/ram: Fix populate_read_range()";
    /// the whole block still protected.
    case qemu72 = "qemu-7.2"
    /// "Optimize ram_write_tracking_start() for RamDiscardManager": protect plugged runs only (QEMU 8.0).
    case qemu80 = "qemu-8.0"
    /// No population: `UFFD_FEATURE_WP_UNPOPULATED` (Linux 6.4) marks empty anonymous entries.
    case wpUnpopulated = "wp-unpopulated"
    /// QEMU 7.2.x with the candidate patch `patches/qemu/wp-unpopulated-7.2.patch`: no population
    /// (`UFFD_FEATURE_WP_UNPOPULATED`), but 7.2's protection of the whole block, so markers, and
    /// the page tables that hold them, cover unplugged memory too.
    case qemu72WPUnpopulated = "qemu-7.2-wp-unpopulated"

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

    public var populateScope: PopulateScope {
        switch self {
        case .none, .wpUnpopulated, .qemu72WPUnpopulated: .nothing
        case .fullTouch, .fullMadvise, .qemu61: .wholeRegion
        case .discardTouch, .discardMadvise, .qemu72, .qemu80: .pluggedRuns
        case .qemu62, .qemu720: .pluggedRunsQEMU62Bound
        }
    }

    public var populateMethod: PopulateMethod {
        switch self {
        case .fullMadvise, .discardMadvise: .madvise
        default: .touch
        }
    }

    /// The distance between two reads of a touching population: one per page of the region, but
    /// QEMU before 6.2 stepped by the host's base page even over huge pages (the same pages end
    /// up present; the time is not the same).
    public func touchStride(pageSize: Int, basePageSize: Int) -> Int {
        self == .qemu61 ? min(pageSize, basePageSize) : pageSize
    }

    public var protectScope: ProtectScope {
        switch self {
        case .qemu80, .wpUnpopulated: .pluggedRuns
        default: .wholeRegion
        }
    }

    /// Features the userfaultfd must grant beyond what the backend needs.
    public var requiredFeatures: Userfaultfd.Features {
        self == .wpUnpopulated || self == .qemu72WPUnpopulated ? .wpUnpopulated : []
    }


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
