import Foundation
import PopulateBench

/// Writes a `SamplingThread`'s samples to the samples CSV as they come (in batches: each append
/// is flushed to disk), and the summary CSV beside it at the end.
public final class WatchWriter {
    let file: CSVFile
    let pid: Int32
    let trial: String
    public let summaryPath: String
    private var written = 0

    public init(path: String, pid: Int32, trial: String) throws {
        file = try CSVFile(path: path, columns: WatchTable.columns)
        self.pid = pid
        self.trial = trial
        summaryPath = OutputFiles.summaryPath(for: path)
    }

    /// Appends the samples taken since the last call, each with the phase it was taken in.
    public func write(_ sampling: SamplingThread) throws {
        let new = sampling.taken(from: written)
        guard !new.isEmpty else { return }
        try file.append(new.flatMap { WatchTable.rows([$0.sample], pid: pid, trial: trial, phase: $0.phase) })
        written += new.count
    }

    public func finish(summary: WatchSummary) throws {
        let summaryFile = try CSVFile(path: summaryPath, columns: WatchSummary.csvColumns)
        try summaryFile.append(summary.csvRows)
    }
}
