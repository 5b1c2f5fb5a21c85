/// A column of a results table, declared once: its name, what kind of value it holds, its unit,
/// whether the summary reduces it to statistics, its one-line description, and how its cell is
/// read from a record. The CSV header and rows, the summary, `bench compare`, the OpenMetrics and
/// Influx exports, docs/cli.md's column tables and the schema `plot.py` reads all come from these.
public struct Column<Record>: Sendable {
    public typealias Kind = ColumnKind
    public typealias Unit = ColumnUnit

    public let name: String
    public let kind: Kind
    public let unit: Unit
    /// Promised by the contract since the first release: files of every version have it. Columns
    /// added later may be absent from older files (`bench compare` then matches without them).
    public let isContract: Bool
    public let description: String
    /// The cell of a record: "" where the column does not apply.
    public let cell: @Sendable (Record) -> String
    /// How `bench compare` judges a change of the column's median; nil: it does not.
    public private(set) var compare: CompareRule?

    public init(_ name: String, _ kind: Kind, _ unit: Unit, contract: Bool = false, _ description: String,
                cell: @escaping @Sendable (Record) -> String) {
        self.name = name
        self.kind = kind
        self.unit = unit
        isContract = contract
        self.description = description
        self.cell = cell
    }

    /// This column, judged by `bench compare` as `rule` says.
    func compared(_ rule: CompareRule) -> Column {
        var column = self
        column.compare = rule
        return column
    }

    /// The same column, read from a record that holds this one's (`part` finds it).
    public func reading<Outer>(_ part: @escaping @Sendable (Outer) -> Record) -> Column<Outer> {
        let cell = cell
        var column = Column<Outer>(name, kind, unit, contract: isContract, description) { cell(part($0)) }
        column.compare = compare
        return column
    }

    /// The cells of `record`, by column name.
    public static func cells(_ columns: [Column], of record: Record) -> [String: String] {
        Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0.cell(record)) })
    }

    /// The column without its reader: what the docs, the schema and readers of files need.
    public var info: ColumnInfo {
        ColumnInfo(name: name, kind: kind.rawValue, unit: unit.rawValue, contract: isContract, description: description)
    }

    /// Whether the summary reduces this column to statistics.
    public var isSummarized: Bool { kind == .measure }
}

/// A column as the schema (`bench columns --format json`) describes it.
public struct ColumnInfo: Sendable, Codable, Equatable {
    public var name: String
    public var kind: String
    public var unit: String
    public var contract: Bool
    public var description: String
}

extension Column {
    /// An optional integer: empty when nil.
    static func integer(_ value: Int?) -> String { value.map { "\($0)" } ?? "" }
}

/// How much change of a column's median is noise to `bench compare`.
public struct CompareRule: Sendable {
    /// Changes smaller than this many units are never findings.
    public var floor: Double
    /// A time: the floor is the timing's own resolution, or the repetitions' measured noise where
    /// that is larger (`Comparison.noiseFloor`), not a fixed number.
    public var isTiming = false
    /// The phases whose values are deterministic enough to compare; nil: every phase.
    public var phases: Set<String>?
    /// Only a change between zero and non-zero counts (a count whose size depends on scheduling).
    public var zeroCrossingOnly = false

    /// Memory of population and protection, which the snapshot's random writes do not touch.
    static func memory(floor: Double) -> CompareRule {
        CompareRule(floor: floor, phases: ["populate", "protect"])
    }

    /// A phase's time, judged against the noise its own repetitions show.
    static let timing = CompareRule(floor: 0, isTiming: true)
}

/// What a column holds, for the summary, the exports and the docs.
public enum ColumnKind: String, Sendable, Codable, CaseIterable {
    /// Which run and repetition a row belongs to; not part of a configuration.
    case run
    /// Part of what makes a configuration distinct: the summary and `bench compare` group by these.
    case identity
    /// `status` and `reason`.
    case outcome
    /// A measured or predicted number, reduced to median, min, max and IQR in the summary.
    case measure
    /// Recorded beside the measurements, not compared (a seed, the THP settings in force, placement).
    case context
}

public enum ColumnUnit: String, Sendable, Codable {
    case bytes, seconds, microseconds, count, fraction, text
}

