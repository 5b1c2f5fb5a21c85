#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

extension Pagemap {
    /// What `PAGEMAP_SCAN` can say about a page (`PAGE_IS_*` in uapi linux/fs.h).
    public struct PageCategories: OptionSet, Hashable, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let present = PageCategories(rawValue: clmm_page_is_present)
        /// Mapped to the shared zeropage or, since the fix in Linux 6.16, the huge zeropage.
        /// (A constant of the stable uAPI; Swift can spell it, so it is not in CLinuxMM.)
        public static let pfnZero = PageCategories(rawValue: 1 << 5)
    }

    /// A run of pages that share their categories.
    public struct CategoryRun: Equatable, Sendable {
        public var addresses: Range<UInt>
        public var categories: PageCategories
        public init(addresses: Range<UInt>, categories: PageCategories) {
            self.addresses = addresses
            self.categories = categories
        }
    }

    /// The pages of `ranges`, as runs of equal categories (only `reporting`'s bits kept) in the
    /// ranges' order; within a mapping, holes come as runs with no category. The kernel walks
    /// only the page tables that exist, so a range whose tables were never built costs next to
    /// nothing, and equal neighbours leave the kernel as one run.
    /// The corresponding C function is `ioctl(PAGEMAP_SCAN)`.
    public func categoryRuns(in ranges: [Mapping], reporting: PageCategories) throws(SystemCallError) -> [CategoryRun] {
        var runs: [CategoryRun] = []
        // One buffer for every range: a map of many small plugged runs makes many calls.
        var regions = [clmm_page_region](repeating: clmm_page_region(), count: 4096)
        for range in ranges {
            var start = UInt64(range.address)
            let end = UInt64(range.address) + UInt64(range.length)
            // Where the runs reported so far end. The kernel (6.12, 6.18 and 7.3 here) may set
            // `walk_end` short of a region it has already reported, with room left in the buffer:
            // a call from `walk_end` reports those pages again, and they would count twice.
            var covered = start
            while start < end {
                var walkEnd: UInt64 = 0
                let count = try valueOrThrow("ioctl(PAGEMAP_SCAN)") {
                    regions.withUnsafeMutableBufferPointer { buffer in
                        clmm_pagemap_scan(fileDescriptor.rawValue, start, end, 0, 0, reporting.rawValue,
                                          buffer.baseAddress, UInt64(buffer.count), &walkEnd)
                    }
                }
                for region in regions.prefix(Int(count)) where region.end > covered {
                    let run = CategoryRun(addresses: UInt(max(region.start, covered)) ..< UInt(region.end),
                                          categories: PageCategories(rawValue: region.categories))
                    covered = region.end
                    // The kernel merges within one call; a full buffer splits a run across two.
                    if let last = runs.last, last.categories == run.categories,
                       last.addresses.upperBound == run.addresses.lowerBound {
                        runs[runs.count - 1].addresses = last.addresses.lowerBound ..< run.addresses.upperBound
                    } else {
                        runs.append(run)
                    }
                }
                let next = max(walkEnd, covered)
                if next <= start { break }
                start = next
            }
        }
        return runs
    }

    /// Whether this kernel has `PAGEMAP_SCAN` (Linux 6.7): an empty scan of one page.
    public var hasScan: Bool {
        let page = UInt64(KernelInfo.pageSize)
        var region = clmm_page_region()
        var walkEnd: UInt64 = 0
        // Address 0 is never mapped; the walk finds a hole and reports nothing.
        return clmm_pagemap_scan(fileDescriptor.rawValue, page, 2 * page, 0, 0, clmm_page_is_present, &region, 1,
                                 &walkEnd) >= 0
    }
}
