import PopulateBench

/// `bench compare BASE NEW...` with one NEW file per host: a configuration per row, a host per
/// column, each cell the verdict of that host's run against the baseline for that configuration.
/// The gate's verdict is the worst over the hosts: one regressed host fails the fleet.
public struct HostComparisonTable: Sendable {
    public struct Column: Sendable {
        /// The host (and kernel) NEW came from, as its rows say.
        public var label: String
        public var comparison: Comparison
        public init(label: String, comparison: Comparison) {
            self.label = label
            self.comparison = comparison
        }
    }

    public let columns: [Column]

    public init(columns: [Column]) { self.columns = columns }

    public var verdict: Comparison.Verdict {
        let verdicts = columns.map(\.comparison.verdict)
        if verdicts.contains(.regression) { return .regression }
        return verdicts.contains(.improvement) ? .improvement : .same
    }

    /// What one host's run did to one configuration: `same`, `MISSING`, or the columns that moved.
    func cell(_ comparison: Comparison, _ key: [String]) -> String {
        if comparison.missingInNew.contains(key) { return "MISSING" }
        let moved = comparison.findings.filter { $0.config == key && $0.isSignificant }
        guard !moved.isEmpty else {
            return comparison.findings.contains { $0.config == key } ? "same" : "-"
        }
        return moved.map { finding in
            let delta = finding.deltaPercent.map { ($0 >= 0 ? "+" : "") + ByteSize.formatDecimal($0, digits: 1) + "%" }
                ?? "new"
            return (finding.isRegression ? "WORSE " : "better ") + "\(finding.metric.column) \(delta)"
        }.joined(separator: "; ")
    }

    public func render(_ format: Comparison.Format) -> String {
        var keys: [[String]] = []
        var seen = Set<[String]>()
        for column in columns {
            for key in column.comparison.findings.map(\.config) + column.comparison.missingInNew
            where seen.insert(key).inserted {
                keys.append(key)
            }
        }
        let header = ["config"] + columns.map(\.label)
        let body = keys.map { key in
            let describing = columns.first { $0.comparison.findings.contains { $0.config == key } } ?? columns[0]
            return [describing.comparison.describe(key)] + columns.map { cell($0.comparison, key) }
        }
        let verdictText: String
        switch verdict {
        case .same: verdictText = "same on every host"
        case .regression:
            let hosts = columns.filter { $0.comparison.verdict == .regression }.map(\.label)
            verdictText = "REGRESSION on \(hosts.count) of \(columns.count) hosts: " + hosts.joined(separator: ", ")
        case .improvement: verdictText = "improvement only"
        }
        switch format {
        case .text:
            return TextTable.render([header] + body) + verdictText + "\n"
        case .markdown:
            return "### bench compare: \(verdictText)\n\n| " + header.joined(separator: " | ") + " |\n|"
                + String(repeating: "---|", count: header.count) + "\n"
                + body.map { "| " + $0.joined(separator: " | ") + " |\n" }.joined()
        case .html:
            return HTMLReport.page(heading: "bench compare: \(verdictText)", header: header, rows: body)
        }
    }
}
