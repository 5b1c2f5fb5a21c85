import Foundation

/// An output file that cannot be created: the path is the user's, so the message names it.
public struct OutputFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot create \(path): \(reason)" }
}

/// A CSV file written row by row and flushed each time.
final class CSVFile {
    let handle: FileHandle
    let columns: [String]

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
        guard FileManager.default.createFile(atPath: path, contents: Data(CSV.line(columns).utf8)) else {
            throw OutputFileError(path: path, reason: String(cString: strerror(errno)))
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        self.columns = columns
    }

    func append(_ rows: [[String: String]]) throws {
        try handle.write(contentsOf: Data(rows.map { CSV.line($0, columns: columns) }.joined().utf8))
        try handle.synchronize()
    }

    func close() throws { try handle.close() }
}
