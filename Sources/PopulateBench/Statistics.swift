/// Order statistics over repetitions: robust to the noise of a shared VM.
public struct Statistics: Equatable, Sendable {
    public var count: Int
    public var median: Double
    public var min: Double
    public var max: Double
    /// Interquartile range, Q3 − Q1, with linear interpolation between order statistics.
    public var iqr: Double

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        count = sorted.count
        median = Self.quantile(sorted, 0.5)
        min = sorted.first!
        max = sorted.last!
        iqr = Self.quantile(sorted, 0.75) - Self.quantile(sorted, 0.25)
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}

/// The summary CSV: per config and phase, median, min, max and IQR of every measured column,
/// and how many repetitions were ok.
public enum SummaryTable {
    public static let configColumns = ResultTable.identityColumns.filter { $0 != "repetition" && $0 != "run_id" }
        + ResultTable.extraIdentityColumns

    public static var columns: [String] {
        configColumns + ["ok_repetitions", "repetitions", "status", "reason"]
            + ResultTable.statisticColumns.flatMap { ["\($0)_median", "\($0)_min", "\($0)_max", "\($0)_iqr"] }
    }

    public static func key(_ row: [String: String]) -> [String] { configColumns.map { row[$0] ?? "" } }

    /// Groups raw rows by config and phase, in first-seen order.
    public static func rows(from raw: [[String: String]]) -> [[String: String]] {
        var order: [[String]] = []
        var groups: [[String]: [[String: String]]] = [:]
        for row in raw {
            let key = key(row)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        return order.map { key in
            let members = groups[key]!
            let ok = members.filter { $0["status"] == "ok" }
            var summary = Dictionary(uniqueKeysWithValues: zip(configColumns, key))
            summary["ok_repetitions"] = "\(ok.count)"
            summary["repetitions"] = "\(members.count)"
            summary["status"] = ok.isEmpty ? (members.first?["status"] ?? "") : "ok"
            summary["reason"] = members.first { $0["status"] != "ok" }?["reason"] ?? ""
            for column in ResultTable.statisticColumns {
                guard let stats = Statistics(ok.compactMap { $0[column].flatMap(Double.init) }) else { continue }
                let integral = column != "seconds" && column != "cpu_seconds"
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
