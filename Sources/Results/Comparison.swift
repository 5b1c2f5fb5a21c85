import LinuxMM
import PopulateBench

/// `bench compare`: two raw CSVs, matched by config and phase, reduced to medians over their
/// repetitions. Memory columns are deterministic, so any change beyond 1% (and beyond the noise
/// of the kernel's per-CPU RSS counters) is a finding; a time's change counts when its medians
/// differ beyond the threshold, by more than the repetitions' own noise and the clock's resolution,
/// and significantly. Laid out like mmtests' compare: the baseline reads 0%, the new run a signed delta.
public struct Comparison: Sendable {
    public enum Verdict: Int32, Sendable {
        case same = 0
        case regression = 2
        case improvement = 4
    }

    public struct InputError: Error, CustomStringConvertible {
        public var description: String
    }

    /// A compared column and how much of its change is noise (`CompareRule`, declared with the column).
    public struct Metric: Sendable {
        public var column: String
        public var unit: ColumnUnit
        public var isTime: Bool { unit == .seconds }
        public var rule: CompareRule
        /// The fixed floor of a memory column; a time's floor is `Comparison.noiseFloor`.
        public var floor: Double { rule.floor }
        public var phases: Set<String>? { rule.phases }
        public var zeroCrossingOnly: Bool { rule.zeroCrossingOnly }
    }

    /// The columns the registry marks as compared. Memory columns are deterministic, so only
    /// population and protection are compared byte for byte; of the snapshot, whether it stayed consistent.
    public static let metrics: [Metric] = TrialColumns.all.compactMap { column in
        column.compare.map { Metric(column: column.name, unit: column.unit, rule: $0) }
    }

    public static let memoryTolerance = 0.01

    /// The smallest change in seconds a time comparison can see: the CSV's cells are whole
    /// microseconds, and the clock may be coarser than that.
    public static let timingResolution = max(1e-6, MonotonicClock.resolution())

    /// The change of a time's median that the repetitions cannot tell from noise: the larger side's
    /// spread as a standard deviation estimated robustly (1.4826 × the median absolute deviation,
    /// which one wild repetition does not move), or the timing's resolution where that is larger.
    /// With fewer than `repetitionsToJudge` values on a side the noise is unknown: 10 ms.
    public static func noiseFloor(_ base: [Double], _ new: [Double]) -> Double {
        // Too few to measure the noise (nor is significance judged): the 10 ms a shared VM's
        // scheduling moves a short phase by, as before the floor was measured.
        guard base.count >= repetitionsToJudge, new.count >= repetitionsToJudge else { return max(timingResolution, 0.01) }
        func robustDeviation(_ values: [Double]) -> Double {
            guard let center = Statistics(values)?.median else { return 0 }
            return 1.4826 * (Statistics(values.map { abs($0 - center) })?.median ?? 0)
        }
        return max(timingResolution, robustDeviation(base), robustDeviation(new))
    }

    public struct Finding: Sendable {
        public var config: [String]
        public var metric: Metric
        /// Medians of the ok repetitions.
        public var base: Double
        public var new: Double
        public var isRegression: Bool
        /// Beyond the threshold and, where it can be judged, significant at `alpha`.
        public var isSignificant: Bool
        /// Welch's p-value; nil where a side has fewer than two values.
        public var pValue: Double?
        /// Whether significance was judged (3 or more repetitions on both sides); if not, the
        /// threshold alone decided.
        public var judged: Bool
        /// `%stddev` of each side.
        public var baseSpread: Double?
        public var newSpread: Double?

        public var deltaPercent: Double? {
            base == 0 ? (new == 0 ? 0 : nil) : (new - base) / base * 100
        }
    }

    /// The columns this comparison matches on: the config and phase (the identity columns of the
    /// files, `bench qemu`'s program included), not the host or kernel (comparing across machines and
    /// kernel upgrades is what the gate is for), less the added identity columns that BASE or NEW
    /// predates (a CSV of an older bench has no `writers` column; its rows match whatever NEW has
    /// there, as they did before the column existed).
    public let keyColumns: [String]

    public let threshold: Double
    /// A time's change below this many seconds never counts (`--time-floor`): noise between runs
    /// that the repetitions of one run do not show.
    public let timeFloor: Double
    /// A change is significant below this p-value of Welch's t-test.
    public let alpha: Double
    /// Fewer repetitions than this on a side: significance is not judged, the threshold alone decides.
    public static let repetitionsToJudge = 3
    public let baseInfo: String
    public let newInfo: String
    public private(set) var findings: [Finding] = []
    public private(set) var missingInNew: [[String]] = []
    public private(set) var onlyInNew: [[String]] = []
    /// BASE and NEW come from different hosts or kernels: the comparison is across machines.
    public private(set) var differentHost = false
    /// Every host, kernel or THP setting that differs between BASE and NEW, as `name: base → new`.
    public private(set) var settingDifferences: [String] = []
    /// Configurations whose THP settings differ between BASE and NEW: not compared.
    public private(set) var notComparable: [(config: [String], why: String)] = []
    /// Configurations one side ran and the other skipped for a kernel feature it lacks (BASE and
    /// NEW from different kernels): what the kernel changed, not a regression.
    public private(set) var withTheKernel: [(config: [String], why: String)] = []

    /// The host settings a row records that change what a configuration costs (THP: the huge
    /// zeropage, PMD-mapped shmem): rows that differ in them measure different things.
    public static let settingColumns = ["thp_enabled", "thp_shmem_enabled", "thp_use_zero_page"]

    /// Reads a raw CSV (`RawCSV.load`), which must also have every compared column.
    public static func load(_ path: String) throws(InputError) -> [[String: String]] {
        do {
            return try RawCSV.load(path, requiring: metrics.map(\.column))
        } catch {
            throw InputError(description: error.description)
        }
    }

    public init(base: [[String: String]], new: [[String: String]], threshold: Double, alpha: Double = 0.05,
                timeFloor: Double = 0) {
        self.threshold = threshold
        self.timeFloor = timeFloor
        self.alpha = alpha
        func info(_ rows: [[String: String]]) -> String {
            let first = rows.first ?? [:]
            return "\(first[TrialColumns.Name.runID] ?? "?") on \(first[TrialColumns.Name.host] ?? "?"), kernel \(first[TrialColumns.Name.kernel] ?? "?")"
        }
        baseInfo = info(base)
        newInfo = info(new)
        // bench qemu's files add the program and its build: rows of two QEMUs are two configs.
        let bothHave = Array(Set(base.first?.keys.map { $0 } ?? []).intersection(new.first?.keys.map { $0 } ?? []))
        keyColumns = SummaryTable.configColumns(in: bothHave).filter { column in
            column != TrialColumns.Name.host && column != TrialColumns.Name.kernel && (!ResultTable.extraIdentityColumns.contains(column)
                || (base.first?[column] != nil && new.first?[column] != nil))
        }
        let keyOf = { [keyColumns] (row: [String: String]) in keyColumns.map { row[$0] ?? "" } }
        let identity = SummaryTable.configColumns(in: bothHave)
        let baseSummary = SummaryTable.rows(from: base, identity: identity)
        let newSummary = Dictionary(SummaryTable.rows(from: new, identity: identity).map { (keyOf($0), $0) },
                                    uniquingKeysWith: { first, _ in first })
        let baseKeys = Set(baseSummary.map(keyOf))
        func okRows(_ rows: [[String: String]]) -> [[String]: [[String: String]]] {
            Dictionary(grouping: rows.filter { $0[TrialColumns.Name.status] == TrialStatus.ok.rawValue }, by: keyOf)
        }
        let baseGroups = okRows(base), newGroups = okRows(new)
        let kernels = { (rows: [[String: String]]) in Set(rows.compactMap { $0[TrialColumns.Name.kernel] }) }
        let acrossKernels = kernels(base) != kernels(new)
        // A skip on one side only, for a feature that side's kernel lacks, is the kernel's doing.
        func kernelSkip(_ row: [String: String]) -> String? {
            guard acrossKernels, row[SummaryTable.okRepetitionsColumn] == "0", row[TrialColumns.Name.status] == TrialStatus.skipped.rawValue,
                  let reason = row[TrialColumns.Name.reason], !HostCapabilities.linuxReleases(namedIn: reason).isEmpty else { return nil }
            return reason
        }
        for baseRow in baseSummary {
            let key = keyOf(baseRow)
            if let newRow = newSummary[key], baseRow[SummaryTable.okRepetitionsColumn] != "0", let reason = kernelSkip(newRow) {
                withTheKernel.append((key, "skipped in new: \(reason)"))
                continue
            }
            if let newRow = newSummary[key], newRow[SummaryTable.okRepetitionsColumn] != "0", let reason = kernelSkip(baseRow) {
                withTheKernel.append((key, "runs in new; skipped in base: \(reason)"))
                continue
            }
            // A config with no ok repetition in NEW (failed or skipped) lost its measurements.
            guard let newRow = newSummary[key],
                  newRow[SummaryTable.okRepetitionsColumn] != "0" || baseRow[SummaryTable.okRepetitionsColumn] == "0" else {
                missingInNew.append(key)
                continue
            }
            let differing = Self.settingColumns.compactMap { column -> String? in
                let before = baseGroups[key]?.first?[column] ?? "", after = newGroups[key]?.first?[column] ?? ""
                return before != after && !before.isEmpty && !after.isEmpty ? "\(column) \(before) → \(after)" : nil
            }
            if !differing.isEmpty {
                notComparable.append((key, differing.joined(separator: ", ")))
                continue
            }
            for metric in Self.metrics where metric.phases?.contains(baseRow[TrialColumns.Name.phase] ?? "") ?? true {
                guard let before = baseRow["\(metric.column)_median"].flatMap(Double.init),
                      let after = newRow["\(metric.column)_median"].flatMap(Double.init) else { continue }
                let values = { (rows: [[String: String]]?) in (rows ?? []).compactMap { $0[metric.column].flatMap(Double.init) } }
                let baseValues = values(baseGroups[key]), newValues = values(newGroups[key])
                let change = after - before
                let relative = before == 0 ? (change == 0 ? 0 : Double.infinity) : abs(change) / before
                let tolerance = metric.isTime ? threshold : Self.memoryTolerance
                let floor = metric.rule.isTiming ? max(timeFloor, Self.noiseFloor(baseValues, newValues)) : metric.floor
                let beyond = metric.zeroCrossingOnly ? (before == 0) != (after == 0)
                    : abs(change) > floor && relative > tolerance
                let pValue = WelchTest.pValue(baseValues, newValues)
                let judged = baseValues.count >= Self.repetitionsToJudge && newValues.count >= Self.repetitionsToJudge
                let significant = beyond && (!judged || (pValue ?? 1) < alpha)
                findings.append(Finding(config: key, metric: metric, base: before, new: after,
                                        isRegression: significant && change > 0, isSignificant: significant,
                                        pValue: pValue, judged: judged,
                                        baseSpread: WelchTest.Summary(baseValues)?.relativeStandardDeviation,
                                        newSpread: WelchTest.Summary(newValues)?.relativeStandardDeviation))
            }
        }
        onlyInNew = SummaryTable.rows(from: new, identity: identity).map(keyOf).filter { !baseKeys.contains($0) }
        let hosts = { (rows: [[String: String]]) in Set(rows.map { "\($0[TrialColumns.Name.host] ?? "") \($0[TrialColumns.Name.kernel] ?? "")" }) }
        differentHost = hosts(base) != hosts(new)
        for column in [TrialColumns.Name.host, TrialColumns.Name.kernel] + Self.settingColumns {
            let before = Set(base.compactMap { $0[column] }.filter { !$0.isEmpty }).sorted()
            let after = Set(new.compactMap { $0[column] }.filter { !$0.isEmpty }).sorted()
            if before != after, !before.isEmpty, !after.isEmpty {
                settingDifferences.append("\(column): \(before.joined(separator: "/")) → \(after.joined(separator: "/"))")
            }
        }
    }

    public var regressions: [Finding] { findings.filter(\.isRegression) }
    public var improvements: [Finding] { findings.filter { $0.isSignificant && !$0.isRegression } }

    /// A config that vanished is a regression: its measurements are lost.
    public var verdict: Verdict {
        if !regressions.isEmpty || !missingInNew.isEmpty { return .regression }
        return improvements.isEmpty ? .same : .improvement
    }
}
