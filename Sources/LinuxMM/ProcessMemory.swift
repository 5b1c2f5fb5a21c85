#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Another process's memory through `/proc/<pid>/mem` (root, or a tracer, may). The kernel reads
/// and writes it as the target would, except that a fault it cannot take remotely fails: a write
/// to a page write-protected by userfaultfd is refused (`EFAULT`, `EIO`) instead of waiting for the
/// target's handler.
public final class ProcessMemory {
    private let fd: FileDescriptor
    public let pid: Int32

    /// The corresponding C function is `open`.
    public init(pid: Int32) throws(SystemCallError) {
        self.pid = pid
        fd = try FileDescriptor.open(path: "/proc/\(pid)/mem", .readWrite)
    }

    deinit { try? fd.close() }

    /// Reads `buffer.count` bytes at `address`. The corresponding C function is `pread`.
    public func read(at address: UInt, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) {
        var done = 0
        while done < buffer.count {
            let count = try systemCall("pread(/proc/\(pid)/mem)") {
                try fd.read(fromAbsoluteOffset: Int64(address) + Int64(done),
                            into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            }
            guard count > 0 else { throw SystemCallError(call: "pread(/proc/\(pid)/mem)", errno: EIO) }
            done += count
        }
    }

    /// Writes `bytes` at `address`; false when the kernel refuses the page (see above). The
    /// corresponding C function is `pwrite`.
    public func write(_ bytes: UnsafeRawBufferPointer, at address: UInt) throws(SystemCallError) -> Bool {
        do {
            let count = try fd.write(toAbsoluteOffset: Int64(address), bytes, retryOnInterrupt: true)
            return count == bytes.count
        } catch let error as Errno where error == .badAddress || error == .ioError {
            return false
        } catch let error as Errno {
            throw SystemCallError(call: "pwrite(/proc/\(pid)/mem)", errno: error.rawValue)
        } catch {
            throw SystemCallError(call: "pwrite(/proc/\(pid)/mem): \(error)", errno: EIO)
        }
    }
}
