#if canImport(Glibc)
import Glibc
#endif

/// What identifies the host and kernel in a result row.
public enum KernelInfo {
    /// The kernel release, like `6.18.44`. The corresponding C function is `uname`.
    public static var release: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: names.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    public static var hostName: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: names.nodename) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    public static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    public static var onlineCPUs: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

}
