#if canImport(Glibc)
import Glibc
#endif

/// A connected `AF_UNIX` stream socket (QEMU's QMP), read and written with deadlines.
public final class UnixSocket {
    private var fd: CInt

    /// Connects to the socket at `path`. The corresponding C functions are `socket` and `connect`.
    public init(path: String) throws(SystemCallError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw SystemCallError(call: "connect(\(path))", errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        fd = try valueOrThrow("socket(AF_UNIX)") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        if result != 0 {
            let code = errno
            _ = Glibc.close(fd)
            throw SystemCallError(call: "connect(\(path))", errno: code)
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Sends all of `bytes`. The corresponding C function is `send` (with `MSG_NOSIGNAL`: a peer
    /// that has gone is an `EPIPE` error, not a signal).
    public func send(_ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let sent = try valueOrThrow("send") {
                bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            offset += sent
        }
    }

    /// What arrives within `timeout` seconds: some bytes, or empty at end of stream; nil when
    /// nothing came in time. The corresponding C functions are `poll` and `recv`.
    public func receive(timeout: Double) throws(SystemCallError) -> [UInt8]? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = try valueOrThrow("poll") { poll(&descriptor, 1, CInt(max(0, timeout * 1000))) }
        guard ready > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = try valueOrThrow("recv") { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
        return Array(buffer[0 ..< count])
    }
}
