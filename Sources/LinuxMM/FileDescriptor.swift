#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// An open file descriptor. A value: closing it is explicit, like swift-system's `FileDescriptor`.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: CInt

    public init(rawValue: CInt) { self.rawValue = rawValue }

    public struct OpenFlags: OptionSet, Sendable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }
        public static let readOnly = OpenFlags([])
        public static let writeOnly = OpenFlags(rawValue: O_WRONLY)
        public static let readWrite = OpenFlags(rawValue: O_RDWR)
        public static let create = OpenFlags(rawValue: O_CREAT)
        public static let truncate = OpenFlags(rawValue: O_TRUNC)
    }

    /// Opens `path`, close-on-exec. The corresponding C function is `open`.
    public static func open(_ path: String, flags: OpenFlags, permissions: mode_t = 0o644) throws(SystemCallError)
        -> FileDescriptor {
        FileDescriptor(rawValue: try valueOrThrow("open(\(path))") {
            Glibc.open(path, flags.rawValue | O_CLOEXEC, permissions)
        })
    }

    /// The corresponding C function is `close`.
    public func close() throws(SystemCallError) {
        // EINTR on close must not be retried on Linux: the descriptor is already gone.
        _ = try valueOrThrow("close", retryOnInterrupt: false) { Glibc.close(rawValue) }
    }

    /// Sets the file's size. The corresponding C function is `ftruncate`.
    public func truncate(to size: Int) throws(SystemCallError) {
        _ = try valueOrThrow("ftruncate") { ftruncate(rawValue, off_t(size)) }
    }

    /// Frees the file's pages in `offset..<offset+length` and keeps its size, as QEMU's
    /// `ram_block_discard_range` does for fd-backed RAM.
    /// The corresponding C function is `fallocate` with `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`.
    public func punchHole(offset: Int, length: Int) throws(SystemCallError) {
        _ = try valueOrThrow("fallocate(PUNCH_HOLE|KEEP_SIZE)") {
            clmm_fallocate(rawValue, clmm_falloc_punch_hole | clmm_falloc_keep_size, Int64(offset), Int64(length))
        }
    }

}
