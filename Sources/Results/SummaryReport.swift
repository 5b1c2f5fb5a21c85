import PopulateBench

/// The table on stdout: per backend, each strategy's median cost, how far the kernel is from the
/// model, and what discard-aware population saves.
public enum SummaryReport {

    struct Entry {
        var strategy: String
        var populate: [String: String]?
        var protect: [String: String]?
        var snapshot: [String: String]?
        var status: String
        var reason: String

        func value(_ phase: [String: String]?, _ column: String) -> Double? {
            phase?["\(column)_median"].flatMap(Double.init)
        }

        /// The populate phase's growth of the backend's own data counter (RssAnon, RssShmem or HugetlbPages).
        func data(_ backend: Backend) -> Double? {
            value(populate, backend.dataColumn)
        }

        /// Page tables of both phases plus the data pages population allocated.
        func totalMemory(_ backend: Backend) -> Double? {
            guard let populatePTE = value(populate, "pte_bytes"), let protectPTE = value(protect, "pte_bytes") else {
                return nil
            }
            return populatePTE + protectPTE + (data(backend) ?? 0)
        }

        /// How far the kernel's page tables (both phases) are from the model's.
        var pageTableDeviation: String {
            deviation(measured: totalOf("pte_bytes"), expected: totalOf("expected_pte_bytes"), noise: 0)
        }

        /// How far the data counter is from the model; RSS counters lag by up to a few dozen pages.
        func dataDeviation(_ backend: Backend) -> String {
            deviation(measured: data(backend), expected: value(populate, "expected_data_bytes"), noise: 256 * 1024)
        }

        /// In % of a non-zero expectation; in bytes where the model expects nothing but the kernel
        /// spent something, so a wrong zero never hides; `-` where both are (about) zero.
        private func deviation(measured: Double?, expected: Double?, noise: Double) -> String {
            guard let measured, let expected else { return "-" }
            if expected > 0 { return signedPercent((measured - expected) / expected * 100) }
            guard abs(measured) > noise else { return "-" }
            return (measured > 0 ? "+" : "") + bytes(measured) + " (model 0)"
        }

        private func totalOf(_ column: String) -> Double? {
            guard let first = value(populate, column), let second = value(protect, column) else { return nil }
            return first + second
        }
    }

    public static func render(summary: [[String: String]]) -> String {
        var groups: [[String]: [Entry]] = [:]
        var order: [[String]] = []
        // Every identity column but the strategy and the phase, which the table's rows and columns
        // are: configs that differ anywhere else (page size, NUMA policy, writers) get tables of their own.
        let groupColumns = SummaryTable.configColumns.filter { $0 != TrialColumns.Name.strategy && $0 != TrialColumns.Name.phase }
        var headings: [[String]: String] = [:]
        for row in summary {
            let key = groupColumns.map { row[$0] ?? "" }
            if headings[key] == nil { headings[key] = heading(row) }
            if groups[key] == nil { order.append(key); groups[key] = [] }
            let strategy = row[TrialColumns.Name.strategy] ?? ""
            var entries = groups[key]!
            var index = entries.firstIndex { $0.strategy == strategy }
            if index == nil {
                entries.append(Entry(strategy: strategy, status: row[TrialColumns.Name.status] ?? "", reason: row[TrialColumns.Name.reason] ?? ""))
                index = entries.count - 1
            }
            if row[TrialColumns.Name.phase] == "populate" { entries[index!].populate = row }
            if row[TrialColumns.Name.phase] == "protect" { entries[index!].protect = row }
            if row[TrialColumns.Name.phase] == "snapshot" { entries[index!].snapshot = row }
            groups[key] = entries
        }

        var out = ""
        for key in order {
            let entries = groups[key]!
            let backend = Backend(rawValue: key[groupColumns.firstIndex(of: TrialColumns.Name.backend)!]) ?? .anonPrivate
            let reps = entries.compactMap { $0.populate?[SummaryTable.okRepetitionsColumn] }.first ?? "0"
            out += "\n" + headings[key]! + "; data = \(backend.dataCounter)   ("
                + (reps == "0" ? "no ok repetition" : "medians of \(reps) repetitions") + ")\n"
            var table: [[String]] = [[
                "strategy", "populate PTE", "populate data", "populate s", "protect PTE", "protect s",
                "total memory", "PTE vs model", "data vs model",
            ]]
            for entry in entries {
                guard entry.status == "ok" else {
                    table.append([entry.strategy, "\(entry.status): \(entry.reason)"])
                    continue
                }
                table.append([
                    entry.strategy,
                    bytes(entry.value(entry.populate, "pte_bytes")), bytes(entry.data(backend)),
                    seconds(entry.value(entry.populate, "seconds")),
                    bytes(entry.value(entry.protect, "pte_bytes")), seconds(entry.value(entry.protect, "seconds")),
                    bytes(entry.totalMemory(backend)), entry.pageTableDeviation, entry.dataDeviation(backend),
                ])
            }
            out += TextTable.render(table)
            let snapshots = entries.filter { $0.status == "ok" && $0.snapshot != nil }
            if !snapshots.isEmpty {
                var snapshotTable: [[String]] = [[
                    "snapshot", "seconds", "WP faults", "writes", "stalled", "stall p50 µs", "p99 µs", "max µs",
                    "inconsistent pages", "peak RSS", "peak PTE",
                ]]
                for entry in snapshots {
                    func count(_ column: String) -> String {
                        entry.value(entry.snapshot, column).map { "\(Int($0.rounded()))" } ?? "-"
                    }
                    func micros(_ column: String) -> String {
                        entry.value(entry.snapshot, column).map { ByteSize.formatDecimal($0, digits: $0 < 100 ? 1 : 0) } ?? "-"
                    }
                    snapshotTable.append([
                        entry.strategy, seconds(entry.value(entry.snapshot, "seconds")), count("wp_faults"),
                        count("writes"), count("stalled_writes"), micros("stall_p50_us"), micros("stall_p99_us"),
                        micros("stall_max_us"), count("inconsistent_pages"),
                        bytes(entry.value(entry.snapshot, "peak_rss_bytes")),
                        bytes(entry.value(entry.snapshot, "peak_pte_bytes")),
                    ])
                }
                out += TextTable.render(snapshotTable)
            }
            for pair in Strategy.savings {
                guard let aware = entries.first(where: { $0.strategy == pair.discardAware.rawValue })?.totalMemory(backend),
                      let full = entries.first(where: { $0.strategy == pair.full.rawValue })?.totalMemory(backend) else {
                    continue
                }
                let saved = full - aware
                let share = full > 0 ? saved / full * 100 : 0
                out += "  \(pair.discardAware.rawValue) saves \(bytes(saved)) of \(bytes(full))"
                    + " (\(ByteSize.formatDecimal(share, digits: 1))%) against \(pair.full.rawValue)\n"
            }
        }
        return out
    }

    /// A table's heading: the config as a sentence, then every other identity value that sets it
    /// apart (`page_bytes=2MiB numa_policy=bind:1 writers=2`), so that no two tables read alike.
    static func heading(_ row: [String: String]) -> String {
        typealias Name = TrialColumns.Name
        func size(_ column: String) -> String { Int(row[column] ?? "").map(ByteSize.format) ?? (row[column] ?? "") }
        var text = "\(row[Name.backend] ?? "") \(size(Name.regionBytes)), block \(size(Name.blockBytes)), "
            + "\(percent(row[Name.pluggedFraction] ?? "")) plugged, \(percent(row[Name.residentFraction] ?? "")) of it written, "
            + "\(row[Name.layout] ?? "") layout, thp=\(row[Name.thp] ?? "")"
        let said: Set = [Name.backend, Name.regionBytes, Name.blockBytes, Name.pluggedFraction, Name.residentFraction,
                         Name.layout, Name.thp, Name.strategy, Name.phase, Name.host, Name.kernel]
        for column in SummaryTable.configColumns where !said.contains(column) {
            guard let value = row[column], !value.isEmpty, value != "local" else { continue }
            text += ", \(column)=" + (ResultTable.unit(of: column) == .bytes ? size(column) : value)
        }
        return text
    }

    static func bytes(_ value: Double?) -> String {
        guard let value else { return "-" }
        return ByteSize.format(Int(value.rounded()))
    }

    static func seconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        // Protecting hugetlb takes tens of microseconds: keep them visible.
        return ByteSize.formatDecimal(value, digits: value < 0.001 ? 6 : (value < 0.1 ? 4 : 3))
    }

    static func percent(_ fraction: String) -> String {
        guard let value = Double(fraction) else { return fraction }
        let text = ByteSize.formatDecimal(value * 100, digits: 1)
        return (text.hasSuffix(".0") ? String(text.dropLast(2)) : text) + "%"
    }

    static func signedPercent(_ value: Double) -> String {
        (value >= 0 ? "+" : "") + ByteSize.formatDecimal(value, digits: 1) + "%"
    }
}

/// Columns padded to their widest cell; a short row (a skip reason) runs on past the columns.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        let full = rows.filter { $0.count == rows[0].count }
        let widths = (0 ..< rows[0].count).map { column in full.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            "  " + row.enumerated().map { index, cell in
                guard row.count == widths.count, index < widths.count else { return cell }
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
