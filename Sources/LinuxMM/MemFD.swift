#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// Anonymous memory files: shmem, or hugetlb with `MFD_HUGETLB` (no hugetlbfs mount needed).
public enum MemFD {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let closeOnExec = Flags(rawValue: clmm_mfd_cloexec)
        public static let hugeTLB = Flags(rawValue: clmm_mfd_hugetlb)

        /// `MFD_HUGE_2MB`, `MFD_HUGE_1GB`: the huge page size, log2 in the flag's upper bits.
        public static func hugePageSize(_ bytes: Int) -> Flags {
            Flags(rawValue: UInt32(bytes.trailingZeroBitCount) << clmm_mfd_huge_shift)
        }
    }

    /// The corresponding C function is `memfd_create`.
    public static func create(name: String, flags: Flags) throws(SystemCallError) -> FileDescriptor {
        let fd = try valueOrThrow("memfd_create") { clmm_memfd_create(name, flags.rawValue) }
        return FileDescriptor(rawValue: fd)
    }
}

/// A file on a hugetlbfs mount, unlinked as soon as it is open so that nothing outlives the process.
public enum HugetlbfsFile {
    public static let fileSystemMagic = Int(clmm_hugetlbfs_magic)

    /// The huge page size of the hugetlbfs mount at `path`, or nil when `path` is not on one.
    /// The corresponding C function is `statfs`.
    public static func pageSize(ofMount path: String) -> Int? {
        var type = 0
        var blockSize = 0
        guard clmm_statfs_info(path, &type, &blockSize) == 0, type == fileSystemMagic else { return nil }
        return blockSize
    }

    /// Creates and unlinks an empty file under `directory`.
    /// The corresponding C functions are `open(O_CREAT|O_EXCL)` and `unlink`.
    public static func createUnlinked(in directory: String) throws(SystemCallError) -> FileDescriptor {
        let path = "\(directory)/populatebench-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = try valueOrThrow("open(\(path))") {
            open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        _ = try valueOrThrow("unlink(\(path))") { unlink(path) }
        return FileDescriptor(rawValue: fd)
    }
}
