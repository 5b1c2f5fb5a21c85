import LinuxMM

/// The region's `numa_pages` through a trial, at a cost that follows what each phase changed
/// rather than the region's size. The region is read once after plugging and discarding (with
/// `PAGEMAP_SCAN` that costs what the guest wrote: the scan skips page tables that were never
/// built); each phase then names the ranges it can change, those are read before and after it,
/// and the rest of the region keeps its counts. The counts stay exact (docs/cli.md): every page
/// is accounted for, and a phase's ranges cover every page it can move, allocate or map.
///
/// Not re-read: pages outside a phase's ranges that the kernel itself moves meanwhile (NUMA
/// balancing, which migrates between nodes while a trial runs, or swap-out): the ledger is
/// therefore not used where `numa_balancing` is on, and every phase re-reads the whole region.
final class PlacementLedger {
    let region: Region
    private let reader: PagemapPlacement
    private(set) var placement: NUMA.Placement
    private var pending: (ranges: [Range<Int>], before: NUMA.Placement)?
    /// Re-read the whole region after every phase (NUMA balancing may move any page).
    let readsWholeRegion: Bool

    init(region: Region, readsWholeRegion: Bool = PlacementLedger.kernelMovesPages) throws {
        self.region = region
        self.readsWholeRegion = readsWholeRegion
        reader = try PagemapPlacement.open()
        do {
            placement = try reader.placement(of: region.mapping, pageSize: region.pageSize)
        } catch {
            try? reader.close()
            throw error
        }
    }

    deinit { try? reader.close() }

    /// Automatic NUMA balancing (`/proc/sys/kernel/numa_balancing` non-zero on a host with more
    /// than one node) migrates pages behind the trial's back.
    static var kernelMovesPages: Bool {
        (ProcFile.integer("/proc/sys/kernel/numa_balancing") ?? 0) != 0 && NUMA.nodes().count > 1
    }

    /// Before a phase that can change `ranges` of the region (disjoint, in bytes): what they
    /// hold now.
    func begin(changing ranges: [Range<Int>]) throws {
        let ranges = readsWholeRegion ? [0 ..< region.size] : ranges
        let before = covers(ranges) ? placement : try read(ranges)
        pending = (ranges, before)
    }

    /// After the phase: its ranges read again, the rest of the region as it was.
    func end() throws -> NUMA.Placement {
        guard let phase = pending else { return placement }
        pending = nil
        placement = placement - phase.before + (try read(phase.ranges))
        return placement
    }

    private func covers(_ ranges: [Range<Int>]) -> Bool {
        ranges.reduce(0) { $0 + $1.count } == region.size
    }

    private func read(_ ranges: [Range<Int>]) throws -> NUMA.Placement {
        try reader.placement(of: ranges.map(region.slice), pageSize: region.pageSize)
    }

    /// The ranges a protect phase can change placement in. `UFFDIO_WRITEPROTECT` rewrites
    /// entries and fills empty ones with markers: no page is allocated, freed or moved, and an
    /// anonymous THP keeps its PMD, so private anonymous memory keeps every page where it was.
    /// Protecting shmem that huge PMDs map unmaps it (`CostModel.protect`); the other backends
    /// are re-read over the protected ranges.
    static func rangesChanged(byProtecting ranges: [Range<Int>], backend: Backend) -> [Range<Int>] {
        backend.memory == .privateAnonymous ? [] : ranges
    }
}
