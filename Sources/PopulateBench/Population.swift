import LinuxMM

/// Makes pages present before write-protection.
public enum Population {
    /// Reads one byte every `stride` bytes (a page, for QEMU's `populate_read_range`).
    public static func touch(_ range: Mapping, stride: Int) {
        range.readEvery(stride: stride)
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
