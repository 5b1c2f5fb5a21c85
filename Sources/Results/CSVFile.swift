import Foundation
import LinuxMM
import PopulateBench

/// An output file that cannot be created: the path is the user's, so the message names it.
public struct OutputFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot create \(path): \(reason)" }
}

/// A CSV file written a trial's rows at a time, each batch synced to disk before the next. A batch
/// that does not fit (a full disk) is cut back off, so the file always ends after a whole row.
public final class CSVFile {
    let path: String
    let columns: [String]
    private let file: FileDescriptor
    /// False for a pipe or terminal (`--out /dev/stdout`): written in order, never cut back.
    private let seekable: Bool
    /// Bytes of whole rows in the file: where the next batch goes, and where a failed one is cut back to.
    private(set) var size = 0

    public init(path: String, columns: [String]) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
        } catch let error as NSError {
            let cause = (error.userInfo[NSUnderlyingErrorKey] as? NSError) ?? error
            let reason = cause.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(cause.code)))
                : cause.localizedDescription
            throw OutputFileError(path: path, reason: reason)
        }
        do {
            file = try FileDescriptor.open(path: path, .writeOnly, options: [.create, .truncate],
                                           permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw OutputFileError(path: path, reason: String(cString: strerror(error.errno)))
        }
        seekable = file.isSeekable
        self.path = path
        self.columns = columns
        try write(Array(CSV.line(columns).utf8))
    }

    deinit { try? file.close() }

    public func append(_ rows: [[String: String]]) throws(SystemCallError) {
        try write(Array(rows.map { CSV.line($0, columns: columns) }.joined().utf8))
    }

    /// Writes `bytes` at the end of the whole rows and syncs them; on failure cuts the file back
    /// to the whole rows and throws, naming the file.
    private func write(_ bytes: [UInt8]) throws(SystemCallError) {
        do {
            try bytes.withUnsafeBytes { buffer in
                if seekable {
                    try file.writeAll(buffer, atOffset: size, naming: "writing \(path)")
                } else {
                    try file.writeAll(buffer, naming: "writing \(path)")
                }
            }
            if seekable { try file.synchronize(naming: "writing \(path)") }
        } catch {
            if seekable { try? file.truncate(to: size) }
            throw error as? SystemCallError ?? SystemCallError(call: "writing \(path): \(error)", errno: EIO)
        }
        size += bytes.count
    }
}
