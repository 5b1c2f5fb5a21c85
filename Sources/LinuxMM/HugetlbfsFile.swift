#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM
import SystemPackage

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
        let fd = try FileDescriptor.open(path: path, .readWrite, options: [.create, .exclusiveCreate],
                                         permissions: [.ownerReadWrite])
        _ = try valueOrThrow("unlink(\(path))") { unlink(path) }
        return fd
    }
}
