import Foundation
import LinuxMM

/// An output file that cannot be created: the path is the user's, so the message names it.
public struct OutputFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot create \(path): \(reason)" }
}

/// A CSV file written a trial's rows at a time, each batch synced to disk before the next. A batch
/// that does not fit (a full disk) is cut back off, so the file always ends after a whole row.
final class CSVFile {
    let path: String
    let columns: [String]
    private let fd: CInt
    /// False for a pipe or terminal (`--out /dev/stdout`): written in order, never cut back.
    private let seekable: Bool
    /// Bytes of whole rows in the file: where the next batch goes, and where a failed one is cut back to.
    private(set) var size = 0

    init(path: String, columns: [String]) throws {
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
        let opened = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw OutputFileError(path: path, reason: String(cString: strerror(errno))) }
        fd = opened
        seekable = lseek(opened, 0, SEEK_CUR) >= 0
        self.path = path
        self.columns = columns
        try write(Array(CSV.line(columns).utf8))
    }

    deinit { _ = Glibc.close(fd) }

    func append(_ rows: [[String: String]]) throws(SystemCallError) {
        try write(Array(rows.map { CSV.line($0, columns: columns) }.joined().utf8))
    }

    /// Writes `bytes` at the end of the whole rows and syncs them; on failure cuts the file back
    /// to the whole rows and throws, naming the file. The corresponding C functions are `pwrite`,
    /// `fsync` and `ftruncate`.
    private func write(_ bytes: [UInt8]) throws(SystemCallError) {
        var done = 0
        var failure: CInt?
        while done < bytes.count {
            let written = bytes[done...].withUnsafeBytes { buffer in
                seekable ? pwrite(fd, buffer.baseAddress, buffer.count, off_t(size + done))
                    : Glibc.write(fd, buffer.baseAddress, buffer.count)
            }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 {
                failure = written < 0 ? errno : ENOSPC
                break
            }
            done += written
        }
        if failure == nil && seekable && fsync(fd) != 0 && errno != EINVAL { failure = errno }
        if let failure {
            if seekable { _ = ftruncate(fd, off_t(size)) }
            throw SystemCallError(call: "writing \(path)", errno: failure)
        }
        size += done
    }
}
