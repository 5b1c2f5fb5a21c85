/// What first principles say a phase costs: the page tables the kernel must build for the pages
/// and markers it installs, and the data pages it must allocate. It follows the region through a
/// trial (guest writes, discards, reads, protection) so each phase's expectation counts only
/// what is new.
public struct CostModel: Sendable {
    public struct Cost: Equatable, Sendable, Codable {
        public var pageTableBytes = 0
        public var dataBytes = 0
        public init(pageTableBytes: Int = 0, dataBytes: Int = 0) {
            self.pageTableBytes = pageTableBytes
            self.dataBytes = dataBytes
        }
        static func + (lhs: Cost, rhs: Cost) -> Cost {
            Cost(pageTableBytes: lhs.pageTableBytes + rhs.pageTableBytes, dataBytes: lhs.dataBytes + rhs.dataBytes)
        }
    }

    /// How the kernel backs the region's pages, which decides the unit of allocation and the
    /// lowest table level a mapping needs.
    public struct Backing: Equatable, Sendable {
        public var backend: Backend
        public var pageSize: Int
        /// Transparent huge pages back the region (`enabled` and the `--thp` advice, or shmem_enabled).
        public var transparentHuge: Bool
        /// THP's huge zeropage serves reads of absent anonymous memory (`use_zero_page`).
        public var hugeZeroPage: Bool

        public init(backend: Backend, pageSize: Int, transparentHuge: Bool = false, hugeZeroPage: Bool = true) {
            self.backend = backend
            self.pageSize = pageSize
            self.transparentHuge = transparentHuge
            self.hugeZeroPage = hugeZeroPage
        }
    }

    public let geometry: PageTableGeometry
    public let backing: Backing
    public let regionSize: Int
    private var pteTables: PageSet
    private var pmdTables: PageSet
    private var pudTables: PageSet
    private var present: PageSet
    /// Pages of shmem that huge PMDs map: write-protection unmaps them (see `protect`).
    private var pmdMappedShmem: PageSet
    /// Pages of shmem still in the file that protection unmapped with their PMD: a read maps each
    /// back, 4 KiB at a time, through the markers now in the entries.
    private var unmappedShmem: PageSet

    /// A region at the start of a window of its own, so no table it needs exists before it.
    public init(backing: Backing, regionSize: Int, geometry: PageTableGeometry = .x86_64) {
        self.geometry = geometry
        self.backing = backing
        self.regionSize = regionSize
        pteTables = PageSet(capacity: (regionSize + geometry.pteSpan - 1) / geometry.pteSpan)
        pmdTables = PageSet(capacity: (regionSize + geometry.pmdSpan - 1) / geometry.pmdSpan)
        pudTables = PageSet(capacity: (regionSize + geometry.pudSpan - 1) / geometry.pudSpan)
        present = PageSet(capacity: regionSize / backing.pageSize)
        pmdMappedShmem = PageSet(capacity: regionSize / backing.pageSize)
        unmappedShmem = PageSet(capacity: regionSize / backing.pageSize)
        let memory = backing.backend.memory
        mapsShmemByPMD = backing.transparentHuge && memory == .shmem
        leafNeedsPTETable = backing.pageSize < geometry.pteSpan && (!backing.transparentHuge || memory == .privateAnonymous)
    }

    /// shmem THP is mapped by a huge PMD when it is faulted in (a region aligned to the PMD size).
    /// Stored, as `leafNeedsPTETable`: both are asked for every page the guest writes.
    private let mapsShmemByPMD: Bool

    /// The bytes of the region whose data pages exist.
    public var presentBytes: Int { present.count * backing.pageSize }

    /// The pages (of `backing.pageSize`) whose data exist.
    public var presentPages: PageSet { present }

    /// THP allocates, maps and frees a PMD-sized span at once.
    private var allocationUnit: Int {
        backing.transparentHuge ? max(geometry.pteSpan, backing.pageSize) : backing.pageSize
    }

    /// Anonymous THP deposits a PTE table with every huge PMD (to split it later without
    /// allocating), so it costs the same table as 512 small pages; shmem THP and hugetlb do not.
    private let leafNeedsPTETable: Bool

    /// The guest writes the page at `offset`: the page (or its THP) is allocated and mapped.
    public mutating func guestWrite(offset: Int) -> Cost {
        let unit = alignedUnit(containing: offset)
        if mapsShmemByPMD { _ = pmdMappedShmem.insert(pageIndices(unit)) }
        return Cost(pageTableBytes: mapTables(unit, needsPTE: leafNeedsPTETable),
                    dataBytes: present.insert(pageIndices(unit)) * backing.pageSize)
    }

    /// The range is discarded: its pages are freed and its tables kept. (Since Linux 6.13,
    /// CONFIG_PT_RECLAIM lets MADV_DONTNEED free a last-level table it empties; a trial discards
    /// only blocks the guest never wrote, whose tables do not exist yet, so that never applies.)
    public mutating func discard(_ range: Range<Int>) {
        present.remove(pageIndices(range))
        pmdMappedShmem.remove(pageIndices(range))
        unmappedShmem.remove(pageIndices(range))
    }

    /// One read per page of `range`: private anonymous memory maps the (huge) zeropage, every
    /// other backend allocates what is absent.
    public mutating func read(_ range: Range<Int>) -> Cost {
        guard !range.isEmpty else { return Cost() }
        let allocates = backing.backend.readAllocatesPages || (backing.transparentHuge && !backing.hugeZeroPage)
        // Pages a protection unmapped come back one by one, only those read.
        let remapped = unmappedShmem.remove(pageIndices(range)) * backing.pageSize
        // A read faults in the whole allocation unit (a THP) around each page it touches.
        let units = alignedUnit(containing: range.lowerBound).lowerBound
            ..< alignedUnit(containing: range.upperBound - 1).upperBound
        if mapsShmemByPMD && remapped == 0 { _ = pmdMappedShmem.insert(pageIndices(units)) }
        return Cost(pageTableBytes: mapTables(units, needsPTE: leafNeedsPTETable),
                    dataBytes: remapped + (allocates ? present.insert(pageIndices(units)) * backing.pageSize : 0))
    }

    /// Write-protecting `range`. Where empty entries get markers (shmem and hugetlb, or anonymous
    /// memory with `WP_UNPOPULATED`), the kernel builds the tables for the whole range, down to
    /// the level of the base page or hugetlb page; otherwise only present entries change.
    ///
    /// A uffd-wp bit or marker cannot sit on a file PMD, so protecting shmem that a huge PMD maps
    /// splits the PMD first (mm/mprotect.c, `change_pmd_range` with `pgtable_split_needed`); for
    /// a file THP the split only drops the PMD mapping. The pages stay in the page cache (system
    /// Shmem does not move) but leave RssShmem, and come back 4 KiB at a time as they are touched
    /// again, through the markers now in the empty entries. Anonymous THP keeps its PMD.
    public mutating func protect(_ range: Range<Int>, marksEmptyEntries: Bool) -> Cost {
        guard marksEmptyEntries else { return Cost() }
        let needsPTE = backing.pageSize < geometry.pteSpan
        var unmapped = 0
        if mapsShmemByPMD {
            let pmds = range.lowerBound / geometry.pteSpan * geometry.pteSpan
                ..< min(regionSize, (range.upperBound + geometry.pteSpan - 1) / geometry.pteSpan * geometry.pteSpan)
            // Only the pages the PMD mapped leave the mapping (a discard may have freed some).
            for page in pageIndices(pmds) where pmdMappedShmem.contains(page) {
                _ = pmdMappedShmem.remove(page ..< page + 1)
                _ = unmappedShmem.insert(page ..< page + 1)
                unmapped += backing.pageSize
            }
        }
        return Cost(pageTableBytes: mapTables(range, needsPTE: needsPTE), dataBytes: -unmapped)
    }

    private func alignedUnit(containing offset: Int) -> Range<Int> {
        let start = offset / allocationUnit * allocationUnit
        return start ..< min(start + allocationUnit, regionSize)
    }

    private func pageIndices(_ range: Range<Int>) -> Range<Int> {
        range.lowerBound / backing.pageSize ..< (range.upperBound + backing.pageSize - 1) / backing.pageSize
    }

    /// Adds the tables that map `range` and returns the bytes of those that are new.
    private mutating func mapTables(_ range: Range<Int>, needsPTE: Bool) -> Int {
        guard !range.isEmpty else { return 0 }
        func spans(_ span: Int) -> Range<Int> { range.lowerBound / span ..< (range.upperBound - 1) / span + 1 }
        var tables = 0
        if needsPTE { tables += pteTables.insert(spans(geometry.pteSpan)) }
        if backing.pageSize < geometry.pmdSpan { tables += pmdTables.insert(spans(geometry.pmdSpan)) }
        tables += pudTables.insert(spans(geometry.pudSpan))
        return tables * geometry.tableBytes
    }
}
