import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Which pages of another process's mapping are in memory, from `/proc/<pid>/pagemap`: a
/// `PagemapEntry` per base page. Root reads any process's.
public enum ProcessPagemap {
    /// Calls `visit(pageIndex, entry)` for each base page of `start ..< start + length`, reading
    /// in batches. The corresponding C functions are `open` and `pread`.
    static func forEachEntry(pid: Int32, start: UInt, length: Int, pageSize: Int,
                             _ visit: (Int, PagemapEntry) -> Void) throws(SystemCallError) {
        let fd = try FileDescriptor.open(path: "/proc/\(pid)/pagemap", .readOnly)
        defer { try? fd.close() }
        let pages = length / pageSize
        let batch = 65536
        var entries = [UInt64](repeating: 0, count: batch)
        var first = 0
        while first < pages {
            let count = min(batch, pages - first)
            let offset = Int64((Int(start) / pageSize + first) * 8)
            let read = try systemCall("pread(/proc/\(pid)/pagemap)") {
                try entries.withUnsafeMutableBytes { buffer in
                    try fd.read(fromAbsoluteOffset: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< count * 8]))
                }
            }
            guard read == count * 8 else {
                throw SystemCallError(call: "pread(/proc/\(pid)/pagemap): \(read) of \(count * 8) bytes", errno: EIO)
            }
            for index in 0 ..< count { visit(first + index, PagemapEntry(rawValue: entries[index])) }
            first += count
        }
    }

    /// The runs of present pages in `start ..< start + length`, as byte offsets from `start`.
    /// With `exclusiveOnly`, a page mapped by others too (the shared zeropage) does not count.
    public static func presentRuns(pid: Int32, start: UInt, length: Int, exclusiveOnly: Bool,
                                   pageSize: Int = 4096) throws(SystemCallError) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        try forEachEntry(pid: pid, start: start, length: length, pageSize: pageSize) { index, entry in
            guard entry.isPresent, !exclusiveOnly || entry.isMappedExclusively else { return }
            let byte = index * pageSize
            if let last = runs.last, last.upperBound == byte {
                runs[runs.count - 1] = last.lowerBound ..< byte + pageSize
            } else {
                runs.append(byte ..< byte + pageSize)
            }
        }
        return runs
    }

    /// What write protection covers of `runs` (byte offsets from `start`), base page by base page.
    public static func protectionMap(pid: Int32, start: UInt, runs: [Range<Int>],
                                     pageSize: Int = 4096) throws(SystemCallError) -> ProtectionMap {
        var map = ProtectionMap()
        for run in runs {
            try forEachEntry(pid: pid, start: start + UInt(run.lowerBound), length: run.count, pageSize: pageSize) { index, entry in
                let isPresent = entry.isPresent, isProtected = entry.isWriteProtectedByUserfaultfd
                if isPresent { map.populatedBytes += pageSize }
                if isPresent && entry.isMappedExclusively { map.exclusiveBytes += pageSize }
                if isProtected { map.protectedBytes += pageSize }
                guard !isPresent, !isProtected else { return }
                let byte = run.lowerBound + index * pageSize
                map.unprotectedEmptyBytes += pageSize
                if let last = map.unprotectedEmptyRuns.last, last.upperBound == byte {
                    map.unprotectedEmptyRuns[map.unprotectedEmptyRuns.count - 1] = last.lowerBound ..< byte + pageSize
                } else {
                    map.unprotectedEmptyRuns.append(byte ..< byte + pageSize)
                }
            }
        }
        return map
    }
}

/// Write protection over some runs of a mapping, from its pagemap: what is present (populated,
/// the shared zeropage included), what carries the uffd-wp bit or marker, and what is neither, so
/// that a write there is not tracked: it faults in a fresh page that no protection covers.
public struct ProtectionMap: Codable, Sendable, Equatable {
    public var populatedBytes = 0
    /// Of those, pages this process alone maps: on private anonymous memory, its data (the shared
    /// zeropage is not).
    public var exclusiveBytes = 0
    public var protectedBytes = 0
    public var unprotectedEmptyBytes = 0
    /// False where the kernel has no pagemap bit 57 (before Linux 5.13): protection cannot be
    /// read there, and `protectedBytes` and the unprotected counts mean nothing.
    public var showsProtection = true
    /// Where those untracked pages are, as byte offsets into the mapping.
    public var unprotectedEmptyRuns: [Range<Int>] = []

    public init() {}
}
