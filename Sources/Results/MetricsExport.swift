import Foundation
import LinuxMM
import PopulateBench

/// The raw rows of `bench run` as a time-series database wants them: one series per run, config and
/// phase, holding one value per measured column.
///
/// Repetitions are reduced to the median over the config's ok repetitions, the same number the
/// summary CSV shows (`SummaryTable`), so a dashboard and `<out>-summary.csv` agree and a series has
/// one value rather than a value per repetition that no query could tell apart. Min, max and IQR go
/// to Influx as fields; Prometheus gets the median only (an extra series per statistic would triple
/// the cardinality for numbers that `bench compare` already judges).
/// Skipped and failed repetitions carry no values: they are counted by status in
/// `populatebench_trials`, so a config that stopped running shows as failures, not as a gap.
public struct MetricsExport: Sendable {
    /// A CSV column exported as a gauge family.
    public struct Measure: Sendable {
        public var column: String
        /// Prometheus's name for it: `populatebench_` + the column, in base units (`_bytes`, `_seconds`).
        public var name: String
        /// OpenMetrics' `# UNIT`: the name's suffix, or nil for a plain count.
        public var unit: String?
        /// Plain text (no quote or backslash), so OpenMetrics and Prometheus 0.0.4 parsers read it alike.
        public var help: String
        /// What turns the column's unit into the name's base unit (microseconds into seconds).
        public var scale: Double

        init(_ column: String, name: String? = nil, unit: String?, scale: Double = 1, _ help: String) {
            self.column = column
            self.name = "populatebench_" + (name ?? column)
            self.unit = unit
            self.scale = scale
            self.help = help
        }

        /// A summarized column of the registry in base units: microseconds become seconds, and
        /// `seconds`, which alone does not say what was timed, is `duration_seconds`.
        init<Record>(_ column: Column<Record>) {
            let help = column.description.replacingOccurrences(of: "`", with: "")
            switch column.unit {
            case .bytes: self.init(column.name, unit: "bytes", help)
            case .seconds: self.init(column.name, name: column.name == "seconds" ? "duration_seconds" : nil,
                                     unit: "seconds", help)
            case .microseconds:
                self.init(column.name, name: String(column.name.dropLast(3)) + "_seconds", unit: "seconds",
                          scale: 1e-6, help)
            case .count, .fraction, .text: self.init(column.name, unit: nil, help)
            }
        }

        /// A CSV value in the name's base unit.
        func value(_ text: String) -> String {
            guard scale != 1, let number = Double(text) else { return text }
            return "\(number * scale)"
        }
    }

    /// Every statistic column of the summary, in the CSV's order.
    public static let measures: [Measure] = ResultTable.statisticColumns.compactMap { name in
        TrialColumns.all.first { $0.name == name }.map(Measure.init)
    }

    /// `numa_pages` (`0:12;1:34;zero:5;none:6`) as one series per node.
    public static let numaPages = Measure(
        TrialColumns.Name.numaPages, unit: nil,
        "Pages of the region per NUMA node after the phase; numa_node zero is the shared zero page, none is absent.")

    /// Repetitions counted by status (and reason): the series that makes failures visible.
    public static let trials = Measure(
        "trials", unit: nil, "Repetitions of the config by status; a skipped or failed one carries no values.")

    /// The config a series belongs to, in the order labels are written: the run, then the identity
    /// columns the registries declare for a file with `header` (`bench qemu`'s program and build
    /// among them, so that two programs are two series). `host` and `run_id` also form the
    /// Pushgateway's grouping key.
    public static func labelColumns(header: [String]) -> [String] {
        let run = [TrialColumns.Name.host, TrialColumns.Name.runID, TrialColumns.Name.kernel]
        return run + SummaryTable.configColumns(in: header).filter { !run.contains($0) }
    }

    public struct Series: Sendable {
        /// Label name and value per `labelColumns`; an empty value means the column does not apply.
        public var labels: [(name: String, value: String)]
        /// Median over ok repetitions, per measure column, as the summary CSV writes it.
        public var medians: [String: String]
        /// Min, max and IQR per measure column, for formats that carry more than the median.
        public var spread: [String: (min: String, max: String, iqr: String)]
        /// Median pages per NUMA node (`0`, `1`, `zero`, `none`), in the order the rows name them.
        public var numaPages: [(node: String, pages: String)]
        /// Repetitions per status and reason, in first-seen order.
        public var trials: [(status: String, reason: String, count: Int)]
        public var okRepetitions: Int
        public var repetitions: Int

        public func label(_ name: String) -> String {
            labels.first { $0.name == name }?.value ?? ""
        }
    }

    public var series: [Series]

    public struct InputError: Error, CustomStringConvertible {
        public var description: String
    }

    init(series: [Series]) { self.series = series }

    /// Raw rows grouped by run and config, in first-seen order; each group reduced as the summary does.
    public init(rows: [[String: String]]) {
        let header = rows.first.map { Array($0.keys) } ?? []
        let identity = SummaryTable.configColumns(in: header)
        let labels = Self.labelColumns(header: header)
        var order: [[String]] = []
        var groups: [[String]: [[String: String]]] = [:]
        for row in rows {
            let key = [row[TrialColumns.Name.runID] ?? ""] + SummaryTable.key(row, identity: identity)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        series = order.map { Self.series(of: groups[$0]!, identity: identity, labels: labels) }
    }

    static func series(of members: [[String: String]], identity: [String], labels labelColumns: [String]) -> Series {
        let summary = SummaryTable.rows(from: members, identity: identity)[0]
        let first = members[0]
        var medians: [String: String] = [:]
        var spread: [String: (min: String, max: String, iqr: String)] = [:]
        for measure in measures {
            guard let median = summary["\(measure.column)_median"] else { continue }
            medians[measure.column] = measure.value(median)
            spread[measure.column] = (measure.value(summary["\(measure.column)_min"] ?? ""),
                                      measure.value(summary["\(measure.column)_max"] ?? ""),
                                      measure.value(summary["\(measure.column)_iqr"] ?? ""))
        }
        var trials: [(status: String, reason: String, count: Int)] = []
        for row in members {
            let status = row[TrialColumns.Name.status] ?? "", reason = row[TrialColumns.Name.reason] ?? ""
            if let index = trials.firstIndex(where: { $0.status == status && $0.reason == reason }) {
                trials[index].count += 1
            } else {
                trials.append((status, reason, 1))
            }
        }
        let ok = members.filter { $0[TrialColumns.Name.status] == TrialStatus.ok.rawValue }
        return Series(labels: labelColumns.map { ($0, first[$0] ?? "") }, medians: medians, spread: spread,
                      numaPages: numaPageMedians(ok.map { $0[TrialColumns.Name.numaPages] ?? "" }), trials: trials,
                      okRepetitions: ok.count, repetitions: members.count)
    }

    /// A node absent from one repetition's list had none of the region's pages in it.
    static func numaPageMedians(_ lists: [String]) -> [(node: String, pages: String)] {
        let parsed = lists.map { list in
            list.split(separator: ";").compactMap { entry -> (String, Double)? in
                let parts = entry.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let pages = Double(parts[1]) else { return nil }
                return (String(parts[0]), pages)
            }
        }
        var nodes: [String] = []
        for (node, _) in parsed.joined() where !nodes.contains(node) { nodes.append(node) }
        return nodes.compactMap { node in
            let values = parsed.map { entries in entries.first { $0.0 == node }?.1 ?? 0 }
            return Statistics(values).map { (node, "\(Int($0.median.rounded()))") }
        }
    }

    /// The raw CSV of `bench run` or `bench qemu` (`RawCSV.load`), refused with one sentence when it
    /// is unreadable, a summary CSV, or no bench CSV at all.
    public static func load(_ path: String) throws(InputError) -> [[String: String]] {
        do {
            return try RawCSV.load(path)
        } catch {
            throw InputError(description: error.description)
        }
    }

    /// When the run began, from its id (`RunInfo.makeID`: `20250101T120000Z-1234`); nil for an id
    /// not made that way.
    public static func runStart(runID: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return runID.split(separator: "-").first.flatMap { formatter.date(from: String($0)) }
    }
}
