/// Where the pages of a range are, with the same answer as `NUMA.placement(of:pageSize:)` (nodes,
/// `zero`, `none`) for a fraction of its cost: `move_pages` looks every page up on its own
/// (about 200 ns each here, present or not), while this reads what the page tables say.
///
/// - `PAGEMAP_SCAN` (Linux 6.7) hands out runs of present, zeropage and absent pages; it walks
///   only the tables that exist, so unpopulated memory costs next to nothing, and runs of the
///   zeropage are counted without a look at each page.
/// - The other present pages' frame numbers come from pagemap (8 bytes a page), and the
///   memory-block table of sysfs names each frame's node. Frames of the zeropages, learnt once,
///   count as `zero` (the fallback reads every page this way, and older kernels' scans took the
///   huge zeropage for a data page).
/// - A page whose node this cannot tell (frame numbers hidden without CAP_SYS_ADMIN, a frame in
///   no single block) is asked of `move_pages`, so the counts are exact in every case.
public struct PagemapPlacement: Sendable {
    public let pagemap: Pagemap
    public let blocks: MemoryBlocks?
    public let zeroFrames: ZeroPageFrames
    /// False before Linux 6.7: every page of a range is read from pagemap.
    public let scans: Bool

    public init(pagemap: Pagemap, blocks: MemoryBlocks?, zeroFrames: ZeroPageFrames, scans: Bool) {
        self.pagemap = pagemap
        self.blocks = blocks
        self.zeroFrames = zeroFrames
        self.scans = scans
    }

    /// Opens `/proc/self/pagemap`, reads the memory-block table and learns the zeropages.
    public static func open() throws(SystemCallError) -> PagemapPlacement {
        let pagemap = try Pagemap.open()
        do {
            return PagemapPlacement(pagemap: pagemap, blocks: MemoryBlocks.current(),
                                    zeroFrames: try ZeroPageFrames.learn(pagemap: pagemap), scans: pagemap.hasScan)
        } catch {
            try? pagemap.close()
            throw error
        }
    }

    public func close() throws(SystemCallError) { try pagemap.close() }

    /// Pages of `pageSize` bytes in `ranges` (disjoint), by node, zeropage and absence.
    public func placement(of ranges: [Mapping], pageSize: Int) throws(SystemCallError) -> NUMA.Placement {
        let pageCount = ranges.reduce(0) { $0 + $1.length / pageSize }
        guard scans else { return try readFrames(of: ranges, pageSize: pageSize) }
        var placement = NUMA.Placement()
        var presentPages = 0
        var dataRuns: [Mapping] = []
        for run in try pagemap.categoryRuns(in: ranges, reporting: [.present, .pfnZero])
        where run.categories.contains(.present) {
            let pages = run.addresses.count / pageSize
            presentPages += pages
            if run.categories.contains(.pfnZero) {
                placement.zeroPages += pages
            } else {
                dataRuns.append(Mapping(address: run.addresses.lowerBound, length: run.addresses.count))
            }
        }
        placement.absentPages += pageCount - presentPages
        // One node: every data page is on it, and reading each one's frame (a pread per run of
        // pages, thousands for a scattered guest) would only say so.
        if let node = blocks?.soleNode {
            let dataPages = dataRuns.reduce(0) { $0 + $1.length / pageSize }
            if dataPages > 0 { placement.pagesPerNode[node, default: 0] += dataPages }
            return placement
        }
        return placement + (try readFrames(of: dataRuns, pageSize: pageSize))
    }

    public func placement(of range: Mapping, pageSize: Int) throws(SystemCallError) -> NUMA.Placement {
        try placement(of: [range], pageSize: pageSize)
    }

    /// Classifies each page of `ranges` by its pagemap entry; the pages it cannot place go to
    /// `move_pages`.
    func readFrames(of ranges: [Mapping], pageSize: Int) throws(SystemCallError) -> NUMA.Placement {
        var placement = NUMA.Placement()
        var unresolved: [UInt] = []
        let basePage = KernelInfo.pageSize
        func classify(_ entry: PagemapEntry, address: UInt) {
            guard let frame = entry.frame else {
                placement.absentPages += 1
                return
            }
            if frame != 0, zeroFrames.contains(frame) {
                placement.zeroPages += 1
            } else if frame != 0, let node = blocks?.node(ofFrame: frame, pageSize: basePage) {
                placement.pagesPerNode[node, default: 0] += 1
            } else {
                unresolved.append(address)
            }
        }
        let chunk = 65536
        var entries = [UInt64](repeating: 0, count: pageSize == basePage
            ? min(chunk, ranges.reduce(0) { max($0, $1.length / basePage) }) : 0)
        for range in ranges {
            let pageCount = range.length / pageSize
            if pageSize == basePage {
                var first = 0
                while first < pageCount {
                    let count = min(chunk, pageCount - first)
                    let start = range.address + UInt(first * pageSize)
                    try entries.withUnsafeMutableBufferPointer { buffer throws(SystemCallError) in
                        try pagemap.readEntries(at: start, into: UnsafeMutableBufferPointer(rebasing: buffer[0 ..< count]))
                    }
                    for index in 0 ..< count {
                        classify(PagemapEntry(rawValue: entries[index]), address: start + UInt(index * pageSize))
                    }
                    first += count
                }
            } else {
                // A huge page's first base page names its frame; its other entries say the same.
                for index in 0 ..< pageCount {
                    let address = range.address + UInt(index * pageSize)
                    classify(try pagemap.entry(at: address), address: address)
                }
            }
        }
        if !unresolved.isEmpty {
            placement = placement + (try NUMA.placement(ofPages: unresolved.count) { unresolved[$0] })
        }
        return placement
    }
}
