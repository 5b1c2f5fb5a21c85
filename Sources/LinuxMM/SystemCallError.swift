#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, and the errno it left.
public struct SystemCallError: Error, Equatable, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: CInt

    public init(call: String, errno: CInt) {
        self.call = call
        self.errno = errno
    }

    /// The symbolic name of `errno` (`ENOMEM`), or its number when it has no common name.
    public var errnoName: String { Self.names[errno] ?? "errno \(errno)" }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (\(errnoName))"
    }

    private static let names: [CInt: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT",
        EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EINVAL: "EINVAL", EMFILE: "EMFILE", ENOSPC: "ENOSPC", ESPIPE: "ESPIPE", EROFS: "EROFS",
        ERANGE: "ERANGE", ENOSYS: "ENOSYS", EOPNOTSUPP: "EOPNOTSUPP", ENOTTY: "ENOTTY",
        EFBIG: "EFBIG", E2BIG: "E2BIG", ECHILD: "ECHILD", ENXIO: "ENXIO",
    ]
}

/// Runs a call that returns -1 and sets errno on failure; retries on EINTR, as swift-system's
/// `valueOrErrno(retryOnInterrupt:)` does.
@inline(__always)
func valueOrThrow<I: FixedWidthInteger>(
    _ call: String, retryOnInterrupt: Bool = true, _ body: () -> I
) throws(SystemCallError) -> I {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if retryOnInterrupt && code == EINTR { continue }
        throw SystemCallError(call: call, errno: code)
    }
}
