import CLinuxMM
import LinuxMM

/// Makes pages present before write-protection.
public enum Population {
    /// Reads one byte per page, as QEMU's `populate_read_range` does; the volatile load keeps the
    /// optimizer from deleting a loop whose result is unused. Returns a checksum of what was read
    /// so that callers can consume it.
    @discardableResult
    public static func touch(_ range: Mapping, pageSize: Int) -> UInt64 {
        var sum: UInt64 = 0
        var offset = 0
        let base = UnsafeRawPointer(range.base)
        while offset < range.length {
            sum &+= UInt64(clmm_load_volatile(base + offset))
            offset += pageSize
        }
        return sum
    }

    /// `MADV_POPULATE_READ`: the kernel faults every page of the range in for reading.
    public static func adviseRead(_ range: Mapping) throws {
        try range.advise(.populateRead)
    }

    public static func populate(_ range: Mapping, pageSize: Int, method: Strategy.PopulateMethod) throws {
        switch method {
        case .touch: touch(range, pageSize: pageSize)
        case .madvise: try adviseRead(range)
        }
    }
}
