#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A process's `/proc/<pid>/status` read the way a sampler needs: the file stays open and each
/// reading is one `pread` at offset 0 (a seq_file regenerates its text when read from the start)
/// into a buffer kept between readings, parsed in place for the six memory fields, with no
/// allocation. About a tenth of `ProcStatus.current()`'s time, so that a 1 ms sampler takes little
/// from the phase it watches (docs/scale.md, "sampler perturbation").
public final class ProcStatusReader {
    private let fileDescriptor: FileDescriptor
    private let path: String
    private var buffer: [UInt8]

    /// The status of `pid`, or of the calling process (nil). The corresponding C function is `open`.
    public init(pid: Int32? = nil) throws(SystemCallError) {
        path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        fileDescriptor = try FileDescriptor.open(path: path, .readOnly)
        buffer = [UInt8](repeating: 0, count: 16384)
    }

    deinit { try? fileDescriptor.close() }

    /// The status now. The corresponding C function is `pread`.
    public func read() throws -> ProcStatus {
        let fd = fileDescriptor
        let count = try buffer.withUnsafeMutableBytes { bytes throws(SystemCallError) in
            try systemCall("pread(\(path))") { try fd.read(fromAbsoluteOffset: 0, into: bytes) }
        }
        // The text is generated whole; one that fills the buffer was cut (a host with thousands
        // of CPUs makes the Cpus_allowed lines long).
        if count == buffer.count {
            buffer = [UInt8](repeating: 0, count: buffer.count * 2)
            return try read()
        }
        return try buffer.withUnsafeBufferPointer { try Self.parse(UnsafeBufferPointer(rebasing: $0[0 ..< count])) }
    }

    /// The memory fields of a status text, as `ProcStatus(parsing:)` reads them.
    public static func parse(_ text: UnsafeBufferPointer<UInt8>) throws -> ProcStatus {
        var status = ProcStatus()
        var found = 0
        var lineStart = 0
        while lineStart < text.count {
            var lineEnd = lineStart
            while lineEnd < text.count && text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            if let (field, value) = field(in: text, lineStart ..< lineEnd) {
                switch field {
                case 0: status.vmRSS = value
                case 1: status.rssAnon = value
                case 2: status.rssFile = value
                case 3: status.rssShmem = value
                case 4: status.vmPTE = value
                default: status.hugetlbPages = value
                }
                found |= 1 << field
            }
            lineStart = lineEnd + 1
        }
        // HugetlbPages is missing on kernels without hugetlb, as `ProcStatus(parsing:)` allows.
        for (index, name) in keys.enumerated().dropLast() where found & (1 << index) == 0 {
            throw ProcStatus.MissingField(name: String(decoding: name, as: UTF8.self))
        }
        return status
    }

    private static let keys: [[UInt8]] = ["VmRSS", "RssAnon", "RssFile", "RssShmem", "VmPTE", "HugetlbPages"]
        .map { Array($0.utf8) }

    /// Which key the line holds and its value in bytes (`kB` values times 1024), or nil.
    private static func field(in text: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) -> (Int, Int)? {
        guard let colon = line.first(where: { text[$0] == UInt8(ascii: ":") }) else { return nil }
        let keyLength = colon - line.lowerBound
        guard let index = keys.firstIndex(where: { key in
            key.count == keyLength && key.indices.allSatisfy { key[$0] == text[line.lowerBound + $0] }
        }) else { return nil }
        var position = colon + 1
        while position < line.upperBound && (text[position] == UInt8(ascii: " ") || text[position] == UInt8(ascii: "\t")) {
            position += 1
        }
        var value = 0
        var digits = 0
        while position < line.upperBound, text[position] >= UInt8(ascii: "0"), text[position] <= UInt8(ascii: "9") {
            value = value * 10 + Int(text[position] - UInt8(ascii: "0"))
            position += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        while position < line.upperBound && text[position] == UInt8(ascii: " ") { position += 1 }
        let isKiB = position + 1 < line.upperBound && text[position] == UInt8(ascii: "k") && text[position + 1] == UInt8(ascii: "B")
        return (index, isKiB ? value * 1024 : value)
    }
}
