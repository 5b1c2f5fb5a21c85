#if canImport(Glibc)
import Glibc
#endif

/// What a progress display needs to know of the terminal on a file descriptor.
public enum Terminal {
    /// The corresponding C function is `isatty`.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The terminal's width in columns, or nil where `fd` is no terminal. The corresponding C
    /// function is `ioctl(TIOCGWINSZ)`.
    public static func columns(_ fd: Int32) -> Int? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    public static let standardError: Int32 = STDERR_FILENO
}
