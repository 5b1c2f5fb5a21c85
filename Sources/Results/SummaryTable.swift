import PopulateBench

/// The summary CSV: per config and phase, median, min, max and IQR of every measured column,
/// and how many repetitions were ok.
public enum SummaryTable {
    /// What makes a trial's configuration distinct: the trial registry's identity columns.
    public static let configColumns = ResultTable.identityColumns.filter { $0 != TrialColumns.Name.repetition && $0 != TrialColumns.Name.runID }
        + ResultTable.extraIdentityColumns

    /// The identity columns of a file with `header`: the trial's, and those of every other registry
    /// whose columns the file has (`bench qemu`'s program, its build, the preset that emulated it
    /// and the guest's layout), so that two programs are two configurations, never one median.
    /// In those files a row's `resident_fraction` is what the guest had written of its plugged memory
    /// before the snapshot (its kernel touches a block or not, by chance): measured, not asked for.
    public static func configColumns(in header: [String]) -> [String] {
        let present = Set(header)
        let programs = VMMColumns.all.filter { $0.kind == .identity && present.contains($0.name) }.map(\.name)
        return programs.isEmpty ? configColumns : configColumns.filter { $0 != TrialColumns.Name.residentFraction } + programs
    }

    /// The summary's own counts and outcome (`ColumnCatalog.summaryCounts`).
    static let countColumns = ColumnCatalog.summaryCounts.map(\.name)
    public static let okRepetitionsColumn = "ok_repetitions"
    public static let repetitionsColumn = "repetitions"

    public static func columns(identity: [String] = configColumns) -> [String] {
        identity + countColumns
            + ResultTable.statisticColumns.flatMap { ["\($0)_median", "\($0)_min", "\($0)_max", "\($0)_iqr"] }
    }

    public static var columns: [String] { columns() }

    public static func key(_ row: [String: String], identity: [String] = configColumns) -> [String] {
        identity.map { row[$0] ?? "" }
    }

    /// Groups raw rows by config and phase (the `identity` columns), in first-seen order.
    public static func rows(from raw: [[String: String]], identity: [String] = configColumns) -> [[String: String]] {
        var order: [[String]] = []
        var groups: [[String]: [[String: String]]] = [:]
        for row in raw {
            let key = key(row, identity: identity)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        return order.map { key in
            let members = groups[key]!
            let status = TrialColumns.Name.status, reason = TrialColumns.Name.reason
            let okText = TrialStatus.ok.rawValue
            let ok = members.filter { $0[status] == okText }
            var summary = Dictionary(uniqueKeysWithValues: zip(identity, key))
            summary[okRepetitionsColumn] = "\(ok.count)"
            summary[repetitionsColumn] = "\(members.count)"
            summary[status] = ok.isEmpty ? (members.first?[status] ?? "") : okText
            summary[reason] = members.first { $0[status] != okText }?[reason] ?? ""
            for column in ResultTable.statisticColumns {
                guard let stats = Statistics(ok.compactMap { $0[column].flatMap(Double.init) }) else { continue }
                // Times keep their fraction; bytes and counts are whole.
                let unit = ResultTable.unit(of: column)
                let integral = unit != .seconds && unit != .microseconds
                func text(_ value: Double) -> String {
                    integral ? "\(Int(value.rounded()))" : ByteSize.formatDecimal(value, digits: 6)
                }
                summary["\(column)_median"] = text(stats.median)
                summary["\(column)_min"] = text(stats.min)
                summary["\(column)_max"] = text(stats.max)
                summary["\(column)_iqr"] = text(stats.iqr)
            }
            return summary
        }
    }
}
