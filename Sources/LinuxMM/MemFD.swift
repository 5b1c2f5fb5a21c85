#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM
import SystemPackage

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
