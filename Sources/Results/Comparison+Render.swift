import LinuxMM
import PopulateBench

/// What `bench compare` prints: the findings as text, Markdown or HTML.
extension Comparison {
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
