#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Reads small kernel text files (`/proc`, `/sys`) whole, without Foundation: their size is
/// reported as 0, and a sampler reads them every millisecond.
public enum ProcFile {
    /// The corresponding C functions are `open` and `read`.
    public static func read(_ path: String) throws(SystemCallError) -> String {
        let fd = try FileDescriptor.open(path: path, .readOnly)
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = try systemCall("read(\(path))") { try chunk.withUnsafeMutableBytes { try fd.read(into: $0) } }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0 ..< count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The file's first line without its newline, or nil when it cannot be read.
    public static func firstLine(_ path: String) -> String? {
        guard let text = try? read(path) else { return nil }
        return text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
    }

    /// The file's content as an integer, or nil when it cannot be read or is not a number.
    public static func integer(_ path: String) -> Int? {
        firstLine(path).flatMap { line in line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } }
    }

    /// The names in a directory, without `.` and `..`. The corresponding C function is `readdir`.
    public static func list(directory path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// What each descriptor of a process refers to (its `/proc/PID/fd/N` links: a path, or a kind
    /// such as `anon_inode:[userfaultfd]`); those that close meanwhile are left out. The
    /// corresponding C function is `readlink`.
    public static func descriptorTargets(pid: Int32) -> [String] {
        list(directory: "/proc/\(pid)/fd").compactMap { name in
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBufferPointer { raw in
                raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) {
                    readlink("/proc/\(pid)/fd/\(name)", $0, raw.count)
                }
            }
            return count > 0 ? String(decoding: buffer[0 ..< count], as: UTF8.self) : nil
        }
    }
}
