import LinuxMM

/// Makes pages present before write-protection.
public enum Population {
    /// Reads one byte every `stride` bytes (a page, for QEMU's `populate_read_range`); the volatile load keeps the
    /// optimizer from deleting a loop whose result is unused. Returns a checksum of what was read
    /// so that callers can consume it.
    @discardableResult
    public static func touch(_ range: Mapping, stride: Int) -> UInt64 {
        var sum: UInt64 = 0
        var offset = 0
        let base = UnsafeRawPointer(range.base)
        while offset < range.length {
            sum &+= UInt64(VolatileLoad.byte(at: base + offset))
            offset += stride
        }
        return sum
    }

    /// `MADV_POPULATE_READ`: the kernel faults every page of the range in for reading.
    public static func adviseRead(_ range: Mapping) throws {
        try range.advise(.populateRead)
    }

    public static func populate(_ range: Mapping, stride: Int, method: Strategy.PopulateMethod) throws {
        switch method {
        case .touch: touch(range, stride: stride)
        case .madvise: try adviseRead(range)
        }
    }
}
