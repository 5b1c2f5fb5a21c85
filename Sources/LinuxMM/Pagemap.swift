#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM
import SystemPackage

/// `/proc/self/pagemap` and its `PAGEMAP_SCAN` ioctl (Linux 6.7): with `UFFD_FEATURE_WP_ASYNC`
/// the kernel clears a page's write-protection itself on a write, and the scan finds those pages.
public struct Pagemap: Sendable {
    public let fileDescriptor: FileDescriptor

    /// The corresponding C function is `open("/proc/self/pagemap")`.
    public static func open() throws(SystemCallError) -> Pagemap {
        Pagemap(fileDescriptor: try FileDescriptor.open(path: "/proc/self/pagemap", .readOnly))
    }

    public func close() throws(SystemCallError) { try fileDescriptor.close(naming: "close(pagemap)") }

    /// The runs of `range` that were written since they were write-protected (async mode), in
    /// address order. With `reprotect`, the scan write-protects them again in the same walk.
    /// The corresponding C function is `ioctl(PAGEMAP_SCAN)`.
    public func writtenRuns(in range: Mapping, reprotect: Bool = false) throws(SystemCallError) -> [Range<UInt>] {
        var runs: [Range<UInt>] = []
        var regions = [clmm_page_region](repeating: clmm_page_region(), count: 1024)
        var start = UInt64(range.address)
        let end = UInt64(range.address) + UInt64(range.length)
        let flags = clmm_pm_scan_check_wpasync | (reprotect ? clmm_pm_scan_wp_matching : 0)
        // As in `categoryRuns`: a `walk_end` short of what was reported must not count it twice.
        var covered = start
        while start < end {
            var walkEnd: UInt64 = 0
            let count = try valueOrThrow("ioctl(PAGEMAP_SCAN)") {
                regions.withUnsafeMutableBufferPointer { buffer in
                    clmm_pagemap_scan(fileDescriptor.rawValue, start, end, flags, clmm_page_is_written,
                                      clmm_page_is_written, buffer.baseAddress, UInt64(buffer.count), &walkEnd)
                }
            }
            for region in regions.prefix(Int(count)) where region.end > covered {
                runs.append(UInt(max(region.start, covered)) ..< UInt(region.end))
                covered = region.end
            }
            let next = max(walkEnd, covered)
            if next <= start { break }
            start = next
        }
        return runs
    }
}
