#if canImport(Glibc)
import Glibc
#endif

/// Whether this process may use a path, as the kernel decides for its real user (root included).
public enum FileAccess {
    /// The corresponding C function is `access(W_OK)`.
    public static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    /// The corresponding C function is `access(R_OK | W_OK)`.
    public static func isReadWritable(_ path: String) -> Bool { access(path, R_OK | W_OK) == 0 }
}
