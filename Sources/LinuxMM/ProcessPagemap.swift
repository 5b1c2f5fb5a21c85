import SystemPackage

/// Which pages of another process's mapping are in memory, from `/proc/<pid>/pagemap`: 8 bytes
/// per base page, bit 63 present, bit 56 mapped exclusively. Root reads any process's.
public enum ProcessPagemap {
    /// The runs of present pages in `start ..< start + length`, as byte offsets from `start`.
    /// With `exclusiveOnly`, a page mapped by others too (the shared zeropage) does not count.
    /// The corresponding C functions are `open` and `pread`.
    public static func presentRuns(pid: Int32, start: UInt, length: Int, exclusiveOnly: Bool,
                                   pageSize: Int = 4096) throws(SystemCallError) -> [Range<Int>] {
        let fd = try FileDescriptor.open(path: "/proc/\(pid)/pagemap", .readOnly)
        defer { try? fd.close() }
        let pages = length / pageSize
        let batch = 65536
        var runs: [Range<Int>] = []
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
            guard read == count * 8 else { break }
            for index in 0 ..< count {
                let entry = entries[index]
                let present = entry >> 63 & 1 == 1 && (!exclusiveOnly || entry >> 56 & 1 == 1)
                guard present else { continue }
                let byte = (first + index) * pageSize
                if let last = runs.last, last.upperBound == byte {
                    runs[runs.count - 1] = last.lowerBound ..< byte + pageSize
                } else {
                    runs.append(byte ..< byte + pageSize)
                }
            }
            first += count
        }
        return runs
    }
}
