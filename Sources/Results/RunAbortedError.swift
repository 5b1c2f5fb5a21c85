import PopulateBench

/// A run that could not go on after its work began (a full disk under `--out`, say): the rows
/// written before it are intact and the summary of them was written if it could be. Exit 1, never 2:
/// 2 is for bad input, found before anything ran.
public struct RunAbortedError: Error, CustomStringConvertible, Sendable {
    /// One line naming the cause: `writing results/latest.csv: No space left on device (ENOSPC)`.
    public var cause: String
    /// Rows that reached the CSV before the error.
    public var rowsWritten: Int
    /// Whether `<out>-summary.csv` was written for those rows.
    public var summaryWritten: Bool

    public var description: String { cause }

    public init(cause: String, rowsWritten: Int, summaryWritten: Bool) {
        self.cause = cause
        self.rowsWritten = rowsWritten
        self.summaryWritten = summaryWritten
    }
}
