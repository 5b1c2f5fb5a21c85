import Foundation
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// Rows as `bench run` writes them, for two configs and three repetitions.
func runRows(pte: Int = 2 << 20, seconds: Double = 0.2, strategies: [String] = ["full-touch", "discard-touch"])
    -> [[String: String]] {
    strategies.flatMap { strategy in
        (1 ... 3).flatMap { repetition in
            ["populate", "protect"].map { phase in
                var row = Dictionary(uniqueKeysWithValues: ResultTable.columns.map { ($0, "0") })
                row["run_id"] = "test"
                row["backend"] = "anon-private"
                row["strategy"] = strategy
                row["phase"] = phase
                row["repetition"] = "\(repetition)"
                row["status"] = "ok"
                row["reason"] = ""
                row["pte_bytes"] = phase == "populate" ? "\(pte)" : "0"
                row["seconds"] = "\(seconds + Double(repetition) * 0.001)"
                row["numa_policy"] = "local"
                return row
            }
        }
    }
}

func csvText(_ rows: [[String: String]]) -> String {
    CSV.line(ResultTable.columns) + rows.map { CSV.line($0, columns: ResultTable.columns) }.joined()
}

@Suite struct CompareVerdicts {
    @Test func sameIsZero() {
        #expect(Comparison(base: runRows(), new: runRows(), threshold: 0.1).verdict == .same)
    }

    @Test func memoryGrowingFivePercentIsARegression() {
        let comparison = Comparison(base: runRows(), new: runRows(pte: (2 << 20) * 105 / 100), threshold: 0.1)
        #expect(comparison.verdict == .regression)
        #expect(comparison.regressions.allSatisfy { $0.metric.column == "pte_bytes" })
    }

    @Test func timeBeyondTheThresholdIsARegression() {
        #expect(Comparison(base: runRows(), new: runRows(seconds: 0.3), threshold: 0.1).verdict == .regression)
        #expect(Comparison(base: runRows(), new: runRows(seconds: 0.21), threshold: 0.1).verdict == .same)
    }

    @Test func onlyImprovementsIsFour() {
        #expect(Comparison(base: runRows(), new: runRows(pte: 1 << 20, seconds: 0.1), threshold: 0.1).verdict
            == .improvement)
    }

    @Test func aVanishedConfigIsReported() {
        let comparison = Comparison(base: runRows(), new: runRows(strategies: ["full-touch", "qemu-8.0"]),
                                    threshold: 0.1)
        #expect(comparison.verdict == .regression)
        #expect(comparison.missingInNew.count == 2)
        #expect(comparison.onlyInNew.count == 2)
        #expect(comparison.render(.text).contains("MISSING"))
        #expect(comparison.render(.markdown).contains("| anon-private"))
    }

    @Test func anotherHostOrKernelStillCompares() {
        let upgraded = runRows().map { row in row.merging(["host": "other", "kernel": "6.19"]) { $1 } }
        let comparison = Comparison(base: runRows(), new: upgraded, threshold: 0.1)
        #expect(comparison.verdict == .same)
        #expect(comparison.differentHost)
    }

    /// 5.10 against 6.1: a config NEW's kernel cannot run is the kernel's doing, not a lost
    /// measurement; on one kernel the same skip is still a regression.
    @Test func aSkipForAKernelFeatureComesWithTheKernel() {
        let reason = "the kernel's userfaultfd lacks UFFD_FEATURE_WP_HUGETLBFS_SHMEM (Linux 5.19)"
        let older = runRows().map { row in
            row["strategy"] == "full-touch"
                ? row.merging(["status": "skipped", "reason": reason, "pte_bytes": "", "seconds": "", "kernel": "5.10"]) { $1 }
                : row.merging(["kernel": "5.10"]) { $1 }
        }
        let newer = runRows().map { $0.merging(["kernel": "6.1"]) { $1 } }
        let downgrade = Comparison(base: newer, new: older, threshold: 0.1)
        #expect(downgrade.verdict == .same)
        #expect(downgrade.missingInNew.isEmpty)
        #expect(downgrade.withTheKernel.count == 2)
        #expect(downgrade.render(.text).contains("with the kernel: skipped in new: \(reason)"))
        let upgrade = Comparison(base: older, new: newer, threshold: 0.1)
        #expect(upgrade.verdict == .same)
        #expect(upgrade.withTheKernel.map(\.why).allSatisfy { $0.hasPrefix("runs in new") })
        #expect(upgrade.withTheKernel.count == 2)
        let sameKernel = Comparison(base: newer, new: older.map { $0.merging(["kernel": "6.1"]) { $1 } }, threshold: 0.1)
        #expect(sameKernel.verdict == .regression)
        #expect(sameKernel.missingInNew.count == 2)
        #expect(HostCapabilities.linuxReleases(namedIn: "lacks A (Linux 5.19), B (Linux 6.4)") == ["5.19", "6.4"])
        #expect(HostCapabilities.linuxReleases(namedIn: "no hugetlbfs mount given (--hugetlbfs PATH)").isEmpty)
    }

    @Test func aConfigThatFailedInNewIsARegression() {
        let failed = runRows().map { row in
            row["strategy"] == "full-touch" ? row.merging(["status": "failed", "pte_bytes": ""]) { $1 } : row
        }
        let comparison = Comparison(base: runRows(), new: failed, threshold: 0.1)
        #expect(comparison.verdict == .regression)
        #expect(comparison.missingInNew.count == 2)
    }

    @Test func unusableInput() throws {
        #expect(throws: Comparison.InputError.self) { try Comparison.load("/nonexistent/base.csv") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "a,b\n1,2\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: Comparison.InputError.self) { try Comparison.load(path) }
    }

    /// A run killed mid-write leaves a short last row: compare names the file and line, not a silent blank.
    @Test func aShortRowIsUnusableAndNamesFileAndLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = csvText(runRows())
        try #require(try Comparison.load(writing: text, to: path).count == 12)
        let cut = String(text.dropLast(40))
        #expect(throws: Comparison.InputError.self) { try Comparison.load(writing: cut, to: path) }
        do { _ = try Comparison.load(writing: cut, to: path) } catch {
            #expect(error.description.hasPrefix("\(path), line 13:"), "\(error)")
        }
    }

    @Test func aBadStatusOrNumberIsUnusable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rows = runRows()
        rows[3]["status"] = "maybe"
        do { _ = try Comparison.load(writing: csvText(rows), to: path); Issue.record("accepted status 'maybe'") } catch {
            #expect(error.description.contains("line 5") && error.description.contains("maybe"), "\(error)")
        }
        rows = runRows()
        rows[0]["pte_bytes"] = "12kB"
        do { _ = try Comparison.load(writing: csvText(rows), to: path); Issue.record("accepted pte_bytes '12kB'") } catch {
            #expect(error.description.contains("line 2") && error.description.contains("pte_bytes"), "\(error)")
        }
    }

    /// Snapshot runs with other writers, write rate, tracking or sampling measure something else.
    @Test(arguments: [("writers", "2"), ("write_rate", "20000"), ("tracking", "async"), ("sample_interval_seconds", "0.000500")])
    func snapshotSettingsAreIdentity(column: String, value: String) {
        let snapshot = { (rows: [[String: String]]) in
            rows.map { $0.merging(["tracking": "sync", "writers": "1", "write_rate": "0",
                                   "sample_interval_seconds": "0.001000"]) { $1 } }
        }
        let changed = snapshot(runRows()).map { $0.merging([column: value]) { $1 } }
        let comparison = Comparison(base: snapshot(runRows()), new: changed, threshold: 0.1)
        #expect(comparison.missingInNew.count == 4 && comparison.onlyInNew.count == 4)
        #expect(Comparison(base: snapshot(runRows()), new: snapshot(runRows()), threshold: 0.1).verdict == .same)
    }

    /// A baseline written before the snapshot settings were columns still matches on everything else.
    @Test func aCSVWithoutTheNewerColumnsStillMatches() {
        let old = runRows().map { $0.filter { !["writers", "write_rate", "sample_interval_seconds"].contains($0.key) } }
        let comparison = Comparison(base: old, new: runRows(), threshold: 0.1)
        #expect(comparison.verdict == .same)
        #expect(!comparison.keyColumns.contains("writers") && comparison.keyColumns.contains("tracking"))
    }
}

extension Comparison {
    static func load(writing text: String, to path: String) throws(InputError) -> [[String: String]] {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw InputError(description: "test could not write \(path): \(error)")
        }
        return try load(path)
    }
}

extension KernelTests {
    @Suite(needs(.bench))
    struct CompareExitCodes {
        func write(_ rows: [[String: String]]) throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv").path
            try csvText(rows).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        @Test func exitCodesFollowPackageBenchmark() throws {
            let base = try write(runRows())
            let worse = try write(runRows(pte: (2 << 20) * 105 / 100))
            let slower = try write(runRows(seconds: 0.5))
            let better = try write(runRows(pte: 1 << 20))
            let alien = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv").path
            try "x,y\n1,2\n".write(toFile: alien, atomically: true, encoding: .utf8)
            defer { [base, worse, slower, better, alien].forEach { try? FileManager.default.removeItem(atPath: $0) } }
            #expect(try bench(["compare", base, base]).status == 0)
            #expect(try bench(["compare", base, worse]).status == 2)
            #expect(try bench(["compare", base, slower, "--threshold", "10"]).status == 2)
            #expect(try bench(["compare", base, slower, "--threshold", "200"]).status == 0)
            #expect(try bench(["compare", base, better]).status == 4)
            #expect(try bench(["compare", base, "/nonexistent.csv"]).status == 1)
            #expect(try bench(["compare", base, alien]).status == 1)
            #expect(try bench(["compare", base, base, "--threshold", "10%"]).status == 1, "bad flags are unusable input")
        #expect(try bench(["compare", base]).status == 1)
        let markdown = try bench(["compare", base, worse, "--format", "markdown"])
            #expect(markdown.stdout.hasPrefix("### bench compare: REGRESSION"))
        }
    }
}

/// Welch's t-test against values computed elsewhere (SciPy 1.17's `scipy.stats.ttest_ind(a, b,
/// equal_var=False)`, two-sided), and `bench compare`'s rule: beyond the threshold and significant.
@Suite struct Significance {
    @Test func welchMatchesAReference() throws {
        // t = -4.14529, p = 0.0032578618945818443
        let p = try #require(WelchTest.pValue([19.1, 20.3, 21.2, 18.9, 20.5], [21.7, 22.9, 23.1, 21.5, 24.0]))
        #expect(abs(p - 0.0032578618945818443) < 1e-9, "p = \(p)")
        // t = -0.61237, p = 0.5733922538253555
        let q = try #require(WelchTest.pValue([1, 2, 3], [1.5, 2.5, 3.5]))
        #expect(abs(q - 0.5733922538253555) < 1e-9, "p = \(q)")
        // t = 0.07495, p = 0.943846015213743
        let r = try #require(WelchTest.pValue([0.196, 0.198, 0.2, 0.202, 0.204], [0.1, 0.35, 0.12, 0.3, 0.11]))
        #expect(abs(r - 0.943846015213743) < 1e-9, "p = \(r)")
        #expect(WelchTest.pValue([5, 5, 5], [5, 5, 5]) == 1)
        #expect(WelchTest.pValue([5, 5, 5], [6, 6, 6]) == 0)
        #expect(WelchTest.pValue([5], [6, 7]) == nil)
    }

    /// Five repetitions of `seconds` per config, drawn around `center` with a fixed spread.
    func rows(center: Double, outlier: Double? = nil) -> [[String: String]] {
        let offsets = [-0.004, -0.002, 0, 0.002, 0.004]
        return ["full-touch"].flatMap { strategy in
            offsets.enumerated().map { index, offset in
                var row = Dictionary(uniqueKeysWithValues: ResultTable.columns.map { ($0, "0") })
                row.merge(["run_id": "t", "backend": "anon-private", "strategy": strategy, "phase": "populate",
                           "repetition": "\(index + 1)", "status": "ok", "reason": "", "numa_policy": "local",
                           "thp_enabled": "madvise"]) { $1 }
                let value = index == 4 ? (outlier ?? center + offset) : center + offset
                row["seconds"] = "\(value)"
                return row
            }
        }
    }

    @Test func theSameRunTwiceIsSame() {
        let comparison = Comparison(base: rows(center: 0.2), new: rows(center: 0.2), threshold: 0.05)
        #expect(comparison.verdict == .same)
        #expect(comparison.findings.allSatisfy { !$0.isSignificant })
    }

    @Test func tenPercentSlowerIsASignificantRegression() throws {
        let comparison = Comparison(base: rows(center: 0.2), new: rows(center: 0.22), threshold: 0.05)
        let seconds = try #require(comparison.findings.first { $0.metric.column == "seconds" })
        #expect(seconds.isRegression && seconds.judged && (seconds.pValue ?? 1) < 0.05)
        #expect(comparison.verdict == .regression)
        #expect(comparison.render(.text).contains("*"))
    }

    @Test func oneWildOutlierWithTheSameMedianIsNot() {
        let comparison = Comparison(base: rows(center: 0.2), new: rows(center: 0.2, outlier: 5), threshold: 0.05)
        #expect(comparison.verdict == .same)
    }

    /// A large change in a noisy metric is no finding when the t-test cannot tell it from the noise.
    @Test func beyondTheThresholdButNotSignificantIsNoRegression() throws {
        let noisy = rows(center: 0.2).enumerated().map { index, row in
            row.merging(["seconds": "\([0.1, 0.35, 0.12, 0.3, 0.11][index])"]) { $1 }
        }
        let comparison = Comparison(base: rows(center: 0.2), new: noisy, threshold: 0.05)
        let seconds = try #require(comparison.findings.first { $0.metric.column == "seconds" })
        #expect(seconds.deltaPercent.map(abs) ?? 0 > 5, "the medians differ beyond the threshold")
        #expect(!seconds.isSignificant && comparison.verdict == .same, "p = \(seconds.pValue ?? -1)")
    }

    /// A short phase: 45 ms, five repetitions a side with 1–2% spread, as the default matrix's
    /// populate of 256 MiB measures here. The old 10 ms floor hid a 15% regression of it.
    func shortPhase(scale: Double = 1, outlierAt: Int? = nil) -> [[String: String]] {
        let measured = [0.0452, 0.0447, 0.0458, 0.0449, 0.0455]
        return rows(center: 0).enumerated().map { index, row in
            let value = measured[index] * scale * (index == outlierAt ? 5 : 1)
            return row.merging(["seconds": "\(value)"]) { $1 }
        }
    }

    @Test func fifteenPercentOfAShortPhaseIsARegression() throws {
        let comparison = Comparison(base: shortPhase(), new: shortPhase(scale: 1.15), threshold: 0.1)
        let seconds = try #require(comparison.findings.first { $0.metric.column == "seconds" })
        #expect(seconds.isRegression && (seconds.pValue ?? 1) < 0.001, "p = \(seconds.pValue ?? -1)")
        #expect(comparison.verdict == .regression)
    }

    @Test func oneRepetitionFiveTimesSlowerIsNoRegression() {
        for index in 0 ..< 5 {
            let comparison = Comparison(base: shortPhase(), new: shortPhase(outlierAt: index), threshold: 0.1)
            #expect(comparison.verdict == .same, "outlier at repetition \(index + 1)")
        }
    }

    /// `--time-floor`: the nightly's run-to-run noise of short phases, which one run's repetitions
    /// do not show, keeps a 1.5 ms move of a 2 ms phase from counting; a 9.5 ms one still counts.
    @Test func theTimeFloorHidesOnlyChangesBelowIt() {
        func phase(_ milliseconds: [Double]) -> [[String: String]] {
            rows(center: 0).enumerated().map { index, row in row.merging(["seconds": "\(milliseconds[index] / 1000)"]) { $1 } }
        }
        let base = phase([2.0, 2.02, 1.98, 2.01, 1.99])
        #expect(Comparison(base: base, new: phase([3.5, 3.52, 3.48, 3.51, 3.49]), threshold: 0.25).verdict == .regression)
        #expect(Comparison(base: base, new: phase([3.5, 3.52, 3.48, 3.51, 3.49]), threshold: 0.25, timeFloor: 0.002).verdict
            == .same)
        #expect(Comparison(base: base, new: phase([11.5, 11.52, 11.48, 11.51, 11.49]), threshold: 0.25, timeFloor: 0.002)
            .verdict == .regression)
    }

    /// The floor is the noisier side's robust spread: a change the repetitions' own scatter covers is
    /// no finding even where the t-test, misled by tight means, might call it significant.
    @Test func theNoiseFloorIsTheRobustSpread() {
        // MAD of [1, 2, 3, 4, 100] around its median 3 is 1: floor 1.4826, whatever the outlier.
        #expect(abs(Comparison.noiseFloor([1, 2, 3, 4, 100], [3, 3, 3]) - 1.4826) < 1e-9)
        #expect(Comparison.noiseFloor([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]) == Comparison.timingResolution)
        #expect(Comparison.noiseFloor([1, 2], [1, 2]) == 0.01, "two values: noise unknown, 10 ms")
        #expect(Comparison.timingResolution >= 1e-6 && Comparison.timingResolution < 0.01)
    }

    @Test func otherTHPSettingsAreNotComparable() {
        let always = rows(center: 0.3).map { $0.merging(["thp_enabled": "always"]) { $1 } }
        let comparison = Comparison(base: rows(center: 0.2), new: always, threshold: 0.05)
        #expect(comparison.verdict == .same)
        #expect(comparison.notComparable.count == 1)
        #expect(comparison.settingDifferences.contains { $0.hasPrefix("thp_enabled") })
        #expect(comparison.render(.text).contains("not comparable: thp_enabled madvise → always"))
    }
}
