import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A FIFO in the file system: what `bench qemu` hands QEMU as the snapshot's sink, so that the copy
/// waits until the harness opens it for reading.
public enum NamedPipe {
    /// Makes a FIFO at `path`, readable and writable by the owner only. The corresponding C
    /// function is `mkfifo`.
    public static func make(at path: String) throws(SystemCallError) {
        _ = try valueOrThrow("mkfifo(\(path))") { mkfifo(path, 0o600) }
    }

    /// The read end, opened without waiting for a writer (`O_NONBLOCK`): until one comes, a read
    /// says `.noWriter`, which a blocking FIFO could not tell from the end.
    // Unchecked: a reader is handed to one thread, which alone reads it.
    public final class Reader: @unchecked Sendable {
        private let fd: FileDescriptor
        public let path: String
        private var sawWriter = false

        /// The corresponding C function is `open` (`O_RDONLY | O_NONBLOCK`).
        public init(path: String) throws(SystemCallError) {
            self.path = path
            fd = try FileDescriptor.open(path: path, .readOnly, options: [.nonBlocking])
        }

        deinit { try? fd.close() }

        public enum Read: Equatable {
            case bytes(Int)
            /// A writer has the FIFO open and nothing is there yet.
            case wouldBlock
            /// No writer has opened it yet.
            case noWriter
            /// The writer that came has closed it.
            case end
        }

        /// Waits until the FIFO has data or its writer closed it, at most `timeout` seconds. The
        /// corresponding C function is `poll`.
        public func waitReadable(timeout: Double) throws(SystemCallError) {
            var entry = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
            _ = try valueOrThrow("poll(\(path))") { poll(&entry, 1, Int32(timeout * 1000)) }
        }

        /// One `read`. The corresponding C function is `read`.
        public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Read {
            do {
                let count = try fd.read(into: buffer, retryOnInterrupt: true)
                if count > 0 {
                    sawWriter = true
                    return .bytes(count)
                }
                return sawWriter ? .end : .noWriter
            } catch let error as Errno {
                guard error == .wouldBlock else { throw SystemCallError(call: "read(\(path))", errno: error.rawValue) }
                sawWriter = true
                return .wouldBlock
            } catch {
                throw SystemCallError(call: "read(\(path)): \(error)", errno: EIO)
            }
        }
    }
}
