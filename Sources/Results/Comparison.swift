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
            guard acrossKernels, row["ok_repetitions"] == "0", row[TrialColumns.Name.status] == TrialStatus.skipped.rawValue,
                  let reason = row[TrialColumns.Name.reason], !HostCapabilities.linuxReleases(namedIn: reason).isEmpty else { return nil }
            return reason
        }
        for baseRow in baseSummary {
            let key = keyOf(baseRow)
            if let newRow = newSummary[key], baseRow["ok_repetitions"] != "0", let reason = kernelSkip(newRow) {
                withTheKernel.append((key, "skipped in new: \(reason)"))
                continue
            }
            if let newRow = newSummary[key], newRow["ok_repetitions"] != "0", let reason = kernelSkip(baseRow) {
                withTheKernel.append((key, "runs in new; skipped in base: \(reason)"))
                continue
            }
            // A config with no ok repetition in NEW (failed or skipped) lost its measurements.
            guard let newRow = newSummary[key],
                  newRow["ok_repetitions"] != "0" || baseRow["ok_repetitions"] == "0" else {
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

    public enum Format: String, CaseIterable, Sendable { case text, markdown, html }

    /// A configuration as one line of text: backend, size, strategy, phase and what else sets it apart.
    public func describe(_ key: [String]) -> String {
        let row = Dictionary(uniqueKeysWithValues: zip(keyColumns, key))
        var parts = [row[TrialColumns.Name.backend] ?? "", Int(row[TrialColumns.Name.regionBytes] ?? "").map(ByteSize.format) ?? "",
                     row[TrialColumns.Name.strategy] ?? "", row[TrialColumns.Name.phase] ?? ""]
        parts.append("block=" + (Int(row[TrialColumns.Name.blockBytes] ?? "").map(ByteSize.format) ?? ""))
        parts.append("plugged=\(row[TrialColumns.Name.pluggedFraction] ?? "") resident=\(row[TrialColumns.Name.residentFraction] ?? "")")
        parts.append("\(row[TrialColumns.Name.layout] ?? "") thp=\(row[TrialColumns.Name.thp] ?? "")")
        if let policy = row[TrialColumns.Name.numaPolicy], !policy.isEmpty, policy != "local" { parts.append("numa=\(policy)") }
        if let build = row[VMMColumns.Name.qemuBuild], !build.isEmpty {
            parts.append("qemu=\(row[VMMColumns.Name.qemuVersion] ?? "") \(build)" + (row[VMMColumns.Name.qemuPatch].map { $0.isEmpty ? "" : " " + $0 } ?? ""))
        }
        return parts.joined(separator: " ")
    }

    public func render(_ format: Format) -> String {
        func value(_ number: Double, _ metric: Metric) -> String {
            if metric.isTime { return ByteSize.formatDecimal(number, digits: 4) + "s" }
            if metric.unit == .bytes { return ByteSize.format(Int(number.rounded())) }
            return "\(Int(number.rounded()))"
        }
        func spread(_ percent: Double?) -> String {
            percent.map { "±" + ByteSize.formatDecimal($0, digits: 1) + "%" } ?? "-"
        }
        // As mmtests marks them: a significant difference's delta carries a star.
        let header = ["config", "column", "base", "±", "new", "±", "delta", "p", ""]
        var rows: [[String]] = [header]
        for finding in findings where finding.base != 0 || finding.new != 0 || finding.metric.isTime {
            let delta = finding.deltaPercent.map { ($0 >= 0 ? "+" : "") + ByteSize.formatDecimal($0, digits: 2) + "%" }
                ?? "new"
            let p = finding.pValue.map { $0 < 0.001 ? "<0.001" : ByteSize.formatDecimal($0, digits: 3) } ?? "-"
            var mark = finding.isRegression ? "REGRESSION" : (finding.isSignificant ? "improved" : "")
            if !mark.isEmpty && !finding.judged { mark += " (threshold only: n<\(Self.repetitionsToJudge))" }
            rows.append([describe(finding.config), finding.metric.column, value(finding.base, finding.metric),
                         spread(finding.baseSpread), value(finding.new, finding.metric), spread(finding.newSpread),
                         delta + (finding.isSignificant ? " *" : ""), p, mark])
        }
        for key in missingInNew { rows.append([describe(key), "-", "ok", "", "MISSING or not ok", "", "", "", "REGRESSION"]) }
        for item in notComparable {
            rows.append([describe(item.config), "-", "", "", "", "", "", "", "not comparable: \(item.why)"])
        }
        for item in withTheKernel {
            rows.append([describe(item.config), "-", "", "", "", "", "", "", "with the kernel: \(item.why)"])
        }
        for key in onlyInNew { rows.append([describe(key), "-", "absent", "", "new config", "", "", "", ""]) }
        let percent = ByteSize.formatDecimal(threshold * 100, digits: 0)
        let verdictText: String
        switch verdict {
        case .same: verdictText = "same: no significant change beyond 1% in memory or \(percent)% in time"
        case .regression: verdictText = "REGRESSION: \(regressions.count) column(s) worse, \(missingInNew.count) config(s) missing"
        case .improvement: verdictText = "improvement only: \(improvements.count) column(s) better"
        }
        let rule = "a change counts beyond the threshold and at p < \(ByteSize.formatDecimal(alpha, digits: 3)) "
            + "(Welch's t-test; with fewer than \(Self.repetitionsToJudge) repetitions on a side, the threshold alone); "
            + "a time's median must also move by more than its repetitions' noise (1.4826 × MAD) and the timing's "
            + "resolution (\(ByteSize.formatDecimal(Self.timingResolution * 1e6, digits: 3)) µs)"
            + (timeFloor > 0 ? " and --time-floor (\(ByteSize.formatDecimal(timeFloor * 1e3, digits: 3)) ms)" : "")
        var notes = settingDifferences.map { "differs: \($0)" }
        if !notComparable.isEmpty { notes.append("\(notComparable.count) config(s) not comparable: their THP settings differ") }
        if !withTheKernel.isEmpty {
            notes.append("\(withTheKernel.count) config(s) run on one kernel only: the other lacks a feature they need")
        }
        let noteText = notes.map { "note: \($0)\n" }.joined()
        switch format {
        case .text:
            return "base: \(baseInfo)\nnew:  \(newInfo)\n" + TextTable.render(rows) + noteText + rule + "\n"
                + verdictText + "\n"
        case .markdown:
            func table(_ body: [[String]]) -> String {
                "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
                    + body.map { "| " + $0.joined(separator: " | ") + " |\n" }.joined()
            }
            let notable = rows.dropFirst().filter { !$0[8].isEmpty || $0[4] == "new config" }
            var out = "### bench compare: \(verdictText)\n\nbase: \(baseInfo)  \nnew: \(newInfo)\n\n"
                + notes.map { "- \($0)\n" }.joined() + (notes.isEmpty ? "" : "\n") + rule + "\n\n"
            if !notable.isEmpty { out += table(Array(notable)) + "\n" }
            out += "<details><summary>every compared column</summary>\n\n" + table(Array(rows.dropFirst()))
                + "\n</details>\n"
            return out
        case .html:
            return HTMLReport.page(heading: "bench compare: \(verdictText)", paragraphs: ["base: \(baseInfo)",
                                   "new: \(newInfo)", rule], notes: notes, header: header, rows: Array(rows.dropFirst()))
        }
    }
}
