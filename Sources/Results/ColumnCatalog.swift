import Foundation
import PopulateBench

/// Every table the harness writes and its columns, for people (docs/cli.md's column tables) and for
/// programs (`docs/columns.json`, which `scripts/plot.py` reads): both are made from here by
/// `bench columns --update-docs docs`, and a test fails when the committed files differ.
public enum ColumnCatalog {
    public struct Table: Sendable, Codable, Equatable {
        public var name: String
        public var file: String
        public var columns: [ColumnInfo]
    }

    static func info(_ name: String, _ kind: String, _ unit: String, _ description: String) -> ColumnInfo {
        ColumnInfo(name: name, kind: kind, unit: unit, contract: false, description: description)
    }

    /// The summary's own columns beside the configuration's and the statistics'.
    static let summaryCounts = [
        info(SummaryTable.okRepetitionsColumn, "outcome", "count", "repetitions that were ok"),
        info(SummaryTable.repetitionsColumn, "outcome", "count", "all repetitions"),
        info(TrialColumns.Name.status, "outcome", "text", "`ok` if any repetition was ok, else the status of the first"),
        info(TrialColumns.Name.reason, "outcome", "text", "the first reason a repetition was not ok"),
    ]

    static let statistics = [
        ("median", "median over the ok repetitions"), ("min", "minimum"), ("max", "maximum"),
        ("iqr", "interquartile range"),
    ]

    public static let sampleColumns = SideColumns.samples.map(\.info)

    /// `bench watch` and `bench qemu` write the samples' columns, then these.
    public static let watchExtraColumns = SideColumns.watchExtra.map(\.info)

    /// `bench watch`'s summary beside its samples: one row per counter.
    public static let watchSummaryColumns = SideColumns.watchSummary.map(\.info)

    public static let stallColumns = SideColumns.stalls.map(\.info)

    public static var summaryColumns: [ColumnInfo] {
        let byName = Dictionary(uniqueKeysWithValues: TrialColumns.all.map { ($0.name, $0.info) })
        let config = SummaryTable.configColumns.compactMap { byName[$0] }
        let statistics = TrialColumns.all.filter(\.isSummarized).flatMap { column in
            Self.statistics.map { suffix, meaning in
                ColumnInfo(name: "\(column.name)_\(suffix)", kind: "statistic", unit: column.unit.rawValue,
                           contract: false, description: "\(meaning) of `\(column.name)`")
            }
        }
        return config + summaryCounts + statistics
    }

    public static var tables: [Table] {
        [
            Table(name: "raw", file: "--out (default results/latest.csv)", columns: TrialColumns.all.map(\.info)),
            Table(name: "qemu", file: "bench qemu --out: the raw columns, then these",
                  columns: VMMColumns.all.map(\.info)),
            Table(name: "summary", file: "<out>-summary.csv", columns: summaryColumns),
            Table(name: "samples", file: "<out>-samples.csv (with --snapshot)", columns: sampleColumns),
            Table(name: "watch", file: "bench watch --out and bench qemu's samples: the samples' columns, then these",
                  columns: watchExtraColumns),
            Table(name: "watch-summary", file: "bench watch: <out>-summary.csv", columns: watchSummaryColumns),
            Table(name: "stalls", file: "<out>-stalls.csv (with --snapshot)", columns: stallColumns),
        ]
    }

    /// A strategy as the charts need it: the values of the `strategy` column in their order, and what
    /// each does (`Strategy.Declaration`).
    public struct StrategyInfo: Sendable, Codable, Equatable {
        public var name: String
        public var populates: String
        public var method: String
        public var protects: String
        public var defaultMatrix: Bool
        public var savesAgainst: String?
        public var standsFor: String
        /// `leaves-tracking-armed` or `stops-tracking`.
        public var onCancel: String
        /// Its place among QEMU's programs: the first upstream release it stands for and the
        /// commit that leads to it, the upstream preset whose code it runs, or the preset it changes.
        public var qemuSince: String?
        public var qemuCommit: String?
        public var sameCodeAs: String?
        public var branchOf: String?
    }

    /// A backend as the charts need it: the values of the `backend` column in their order.
    public struct BackendInfo: Sendable, Codable, Equatable {
        public var name: String
        public var dataColumn: String
        public var dataCounter: String
        /// `private-anonymous`, `shmem` or `hugetlb`: what the kernel makes of its memory.
        public var memory: String
        /// QEMU's memory backend object for it; nil where `bench qemu` does not run it.
        public var qemuObject: String?
        public var standsFor: String
    }

    public static let strategies = Strategy.allCases.map { strategy in
        let declared = strategy.declaration
        var info = StrategyInfo(name: strategy.rawValue, populates: declared.populate.rawValue, method: declared.method.rawValue,
                                protects: declared.protect.rawValue, defaultMatrix: declared.inDefaultMatrix,
                                savesAgainst: declared.savesAgainst?.rawValue, standsFor: declared.standsFor,
                                onCancel: declared.onCancel.rawValue)
        switch declared.lineage {
        case .idea: break
        case let .upstream(since, commit, _):
            info.qemuSince = since.description
            info.qemuCommit = commit?.hash
        case let .sameCodeAs(other): info.sameCodeAs = other.rawValue
        case let .branch(base, _, _): info.branchOf = base.rawValue
        }
        return info
    }

    public static let backends = Backend.allCases.map {
        BackendInfo(name: $0.rawValue, dataColumn: $0.dataColumn, dataCounter: $0.dataCounter, memory: $0.memory.rawValue,
                    qemuObject: $0.declaration.qemuObject, standsFor: $0.declaration.standsFor)
    }

    struct Schema: Codable {
        var tables: [Table]
        var strategies: [StrategyInfo]
        var backends: [BackendInfo]
    }

    /// The schema as `docs/columns.json` holds it: every table's columns, and the strategies and
    /// backends in the order the harness lists them, so that the charts hold no list of their own.
    public static func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let schema = Schema(tables: tables, strategies: strategies, backends: backends)
        return String(decoding: try encoder.encode(schema), as: UTF8.self) + "\n"
    }

    /// One table as Markdown. The summary's statistics are one line per column they reduce.
    public static func markdown(_ table: Table) -> String {
        var lines = ["| column | unit | meaning |", "|---|---|---|"]
        var statisticsOf: [String] = []
        for column in table.columns {
            if column.kind == "statistic" {
                let base = String(column.name[..<column.name.lastIndex(of: "_")!])
                if statisticsOf.last != base { statisticsOf.append(base) }
                continue
            }
            let meaning = column.description.replacingOccurrences(of: "|", with: "\\|")
            lines.append("| `\(column.name)` | \(column.unit) | \(meaning) |")
        }
        if !statisticsOf.isEmpty {
            lines.append("| `<column>_median`, `_min`, `_max`, `_iqr` | the column's | median, minimum, maximum and "
                + "interquartile range over the ok repetitions, for each of "
                + statisticsOf.map { "`\($0)`" }.joined(separator: ", ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every block `bench columns --update-docs` makes in docs/cli.md: each table's columns
    /// (`columns:NAME`), and the strategies and backends as their declarations say
    /// (`declarations:strategies`, `declarations:backends`).
    static var blocks: [(mark: String, text: String)] {
        tables.map { ("columns:\($0.name)", markdown($0)) }
            + [("declarations:strategies", DeclarationTables.strategies), ("declarations:backends", DeclarationTables.backends)]
    }

    /// `text` with every `<!-- MARK -->` ... `<!-- end MARK -->` block made anew.
    public static func updatingBlocks(in text: String) -> String {
        var result = text
        for block in blocks {
            let open = "<!-- \(block.mark) -->\n", close = "<!-- end \(block.mark) -->"
            guard let start = result.range(of: open), let end = result.range(of: close, range: start.upperBound ..< result.endIndex)
            else { continue }
            result.replaceSubrange(start.upperBound ..< end.lowerBound, with: block.text)
        }
        return result
    }

    /// The marks of the blocks that `text` lacks.
    public static func missingBlocks(in text: String) -> [String] {
        blocks.map(\.mark).filter { !text.contains("<!-- \($0) -->") }
    }
}
