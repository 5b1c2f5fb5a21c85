#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM
import SystemPackage

/// swift-system's descriptor: open, close, read and write come from there, with its `Errno`.
/// LinuxMM adds what swift-system does not cover (fallocate, ftruncate) and, at its own API,
/// names the call in every error (`SystemCallError`), as the rest of this layer does.
public typealias FileDescriptor = SystemPackage.FileDescriptor

extension FileDescriptor {
    /// Opens `path`, always close-on-exec. The corresponding C function is `open`.
    public static func open(path: String, _ mode: AccessMode, options: OpenOptions = [],
                            permissions: FilePermissions? = nil) throws(SystemCallError) -> FileDescriptor {
        try systemCall("open(\(path))") {
            try FileDescriptor.open(FilePath(path), mode, options: options.union(.closeOnExec), permissions: permissions)
        }
    }

    /// Closes the descriptor; the error names `call` (what was open). The corresponding C function is `close`.
    public func close(naming call: String) throws(SystemCallError) {
        try systemCall(call) { try close() }
    }

    /// Writes all of `buffer` at `offset`, whatever the kernel takes per call.
    /// The corresponding C function is `pwrite`.
    public func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: Int, naming call: String)
        throws(SystemCallError) {
        _ = try systemCall(call) { try writeAll(toAbsoluteOffset: Int64(offset), buffer) }
    }

    /// Writes all of `buffer` at the current offset. The corresponding C function is `write`.
    public func writeAll(_ buffer: UnsafeRawBufferPointer, naming call: String) throws(SystemCallError) {
        _ = try systemCall(call) { try writeAll(buffer) }
    }

    /// Whether the descriptor can seek: false for a pipe or a terminal. The corresponding C function is `lseek`.
    public var isSeekable: Bool {
        (try? seek(offset: 0, from: .current)) != nil
    }

    /// Flushes the file's data to its device; a descriptor that cannot be synced (a pipe) is no
    /// error. The corresponding C function is `fsync`.
    public func synchronize(naming call: String) throws(SystemCallError) {
        while fsync(rawValue) != 0 {
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EINVAL || code == EROFS { return }
            throw SystemCallError(call: call, errno: code)
        }
    }

    /// Sets the file's size. The corresponding C function is `ftruncate`.
    public func truncate(to size: Int) throws(SystemCallError) {
        try systemCall("ftruncate") { try resize(to: Int64(size)) }
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

/// Runs a swift-system call and turns its `Errno` into an error that names the call.
@inline(__always)
func systemCall<T>(_ call: @autoclosure () -> String, _ body: () throws -> T) throws(SystemCallError) -> T {
    do {
        return try body()
    } catch let error as Errno {
        throw SystemCallError(call: call(), errno: error.rawValue)
    } catch {
        throw SystemCallError(call: "\(call()): \(error)", errno: EIO)
    }
}
