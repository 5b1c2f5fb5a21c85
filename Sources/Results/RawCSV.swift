import LinuxMM
import PopulateBench

/// The raw CSV of `bench run` or `bench qemu`, read back: the one reader of result files that
/// `bench compare` and `bench export` share. Files written by older versions are read too, so the
/// rows stay cells by column name; what must be there is what the contract has always promised.
public enum RawCSV {
    public struct Unusable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The rows of `path`. A file is refused, in one sentence naming it (and the line): unreadable;
    /// a summary CSV; without the contract's identity and measured columns or one of `required`;
    /// without rows; with a row that is short, too long or badly quoted (a run cut off mid-write);
    /// with a status bench never writes, or a measured cell that is not a finite number.
    public static func load(_ path: String, requiring required: [String] = []) throws(Unusable) -> [[String: String]] {
        let text: String
        do { text = try ProcFile.read(path) } catch { throw Unusable(description: "\(path): \(error)") }
        let table: CSV.Table
        do { table = try CSV.parse(text) } catch { throw Unusable(description: "\(path), \(error)") }
        if table.header.contains(SummaryTable.okRepetitionsColumn) {
            throw Unusable(description: "\(path) is a summary CSV; read the raw CSV beside it")
        }
        var needed = ResultTable.identityColumns + ResultTable.outcomeColumns + ResultTable.measureColumns
        needed += required.filter { !needed.contains($0) }
        let missing = needed.filter { !table.header.contains($0) }
        guard missing.isEmpty else {
            let named = missing.prefix(3).joined(separator: ", ") + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
            throw Unusable(description: "\(path) is not the raw CSV of bench run: no \(named) column")
        }
        guard !table.rows.isEmpty else { throw Unusable(description: "\(path) has no rows") }
        let numeric = ResultTable.statisticColumns.filter(table.header.contains)
        for (row, line) in zip(table.rows, table.lines) {
            if let problem = problem(in: row, numeric: numeric) {
                throw Unusable(description: "\(path), line \(line): \(problem)")
            }
        }
        return table.rows
    }

    /// What makes a row unusable: a status bench never writes, or a measured cell that is not a number.
    static func problem(in row: [String: String], numeric: [String]) -> String? {
        let status = row[TrialColumns.Name.status] ?? ""
        guard TrialStatus(rawValue: status) != nil else {
            return "status '\(status)' is none of \(TrialStatus.allCases.map(\.rawValue).joined(separator: ", "))"
        }
        for column in numeric {
            guard let value = row[column], !value.isEmpty else { continue }
            if Double(value)?.isFinite != true { return "\(column) '\(value)' is not a number" }
        }
        return nil
    }
}
