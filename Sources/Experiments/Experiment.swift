import PopulateBench
import Results

/// What `RunLoop` drives: cases, each run once per repetition (after the warm-ups), each outcome
/// turned into typed records, which stay records until the CSV writer formats them through the
/// experiment's column registry (`table`). `bench run` and `bench doctor --recommend` run trials in child processes
/// (`TrialExperiment`), `bench qemu` real QEMUs beside their emulation (`QEMUExperiment`).
public protocol Experiment: Sendable {
    associatedtype Case: Sendable
    associatedtype Outcome: Sendable
    /// A row of the raw CSV as typed data.
    associatedtype Record: Sendable

    /// The host the cases run on, as probed before the run.
    var host: HostCapabilities { get }
    /// The raw CSV's columns, each reading its cell from a record: the one place a row's cells
    /// are made.
    var table: [Column<Record>] { get }
    /// The CSVs written beside the raw one (`<out>-samples.csv`, ...): their suffix and columns.
    var sideTables: [SideTable] { get }
    var cases: [Case] { get }
    /// The cases of one repetition, in the order they run: `cases` unless the experiment varies
    /// the order to spread the machine's drift.
    func cases(repetition: Int) -> [Case]
    /// Run first and not counted: the first touch of fresh memory in these VMs is slow and noisy.
    var warmups: [Case] { get }
    var repetitions: Int { get }
    /// The first progress line's description of the work, without the file it goes to.
    var title: String { get }

    func label(_ item: Case) -> String
    func run(_ item: Case, repetition: Int) -> Outcome
    func status(_ outcome: Outcome) -> (status: TrialStatus, reason: String)
    /// Whether an interruption left `outcome` whole; a case it cut short is not a result.
    func isWhole(_ outcome: Outcome) -> Bool
    func records(_ outcome: Outcome, repetition: Int, run: RunInfo) -> [Record]
    /// One list of rows per side table, in `sideTables`' order.
    func sideRows(_ outcome: Outcome, repetition: Int) -> [[[String: String]]]
    /// Kills what runs now (a child, a QEMU) and whatever would start after.
    func cancel()
}

extension Experiment {
    public func cases(repetition: Int) -> [Case] { cases }

    /// The raw CSV's header.
    public var columns: [String] { table.map(\.name) }

    /// Records as the CSV writer formats them: cells by column name.
    public func cells(_ records: [Record]) -> [[String: String]] {
        records.map { Column.cells(table, of: $0) }
    }

    /// A case is cut short when it failed: its child or VMM was killed.
    public func isWhole(_ outcome: Outcome) -> Bool { status(outcome).status != .failed }
}

/// A CSV beside the raw one: `<out>-<suffix>.csv`.
public struct SideTable: Sendable {
    public var suffix: String
    public var columns: [String]
    public init(suffix: String, columns: [String]) {
        self.suffix = suffix
        self.columns = columns
    }
}
