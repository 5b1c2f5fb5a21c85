import Foundation
import PopulateBench
import Results
import VMM

/// The rows of `bench qemu`: `bench run`'s columns, then QEMU's (docs/cli.md). A real snapshot is
/// one `snapshot` row of strategy `qemu-real` (virtio-mem) or `qemu-real-ram` (the control: the
/// same memory as plain guest RAM); its emulation is the usual `populate` and `protect` rows of
/// the preset.
public enum QEMUTable {
    public static let realStrategy = "qemu-real"
    public static let controlStrategy = "qemu-real-ram"

    public static let columns = ResultTable.columns + VMMColumns.names

    public static func rows(_ comparison: QEMUComparison, repetition: Int, run: RunInfo,
                            plan: QEMUPlan) -> [[String: String]] {
        let real = comparison.real
        let config = comparison.emulationConfig
        // The identity columns are the emulation's: the same configuration, another strategy. What
        // the harness measures inside its own trial (CPU time, faults, bytes touched, placement)
        // it cannot see inside QEMU: those cells stay empty.
        var phase = PhaseResult(phase: .snapshot)
        if real.status == .ok, let before = real.before, let after = real.after {
            phase.delta = MemoryDelta(before: before, after: after)
            phase.seconds = real.seconds ?? 0
            phase.peakRSSBytes = real.peakRSS
            phase.peakPTEBytes = real.peakPTE
            phase.startRSSBytes = before.status.vmRSS
            phase.startPTEBytes = before.status.vmPTE
        }
        let template = TrialResult(config: config, status: real.status, reason: real.reason, phases: [phase])
        var row = ResultTable.rows(template, repetition: repetition, run: run)[0]
        row["strategy"] = comparison.item.pluggedFraction == nil ? controlStrategy : realStrategy
        if let fraction = comparison.item.pluggedFraction { row["plugged_fraction"] = "\(fraction)" }
        let program = VMMFields(qemuVersion: plan.version.text, accelerator: plan.accelerator,
                                emulatedBy: plan.preset.rawValue)
        var measured = program
        if real.status == .ok, real.before != nil, real.after != nil {
            for unseen in ["cpu_seconds", "minor_faults", "touched_bytes", "numa_pages", "overhead_seconds"] {
                row[unseen] = ""
            }
            if let expected = comparison.expected {
                row["expected_pte_bytes"] = "\(expected.pte)"
                row["expected_data_bytes"] = "\(expected.data)"
            }
            measured.deviceDataBytes = comparison.deviceDataGain
            measured.deviceResidentBytes = real.deviceDataBefore
            measured.deviceMisalignmentBytes = real.deviceMisalignment
            measured.qemuTotalMilliseconds = real.qemuMilliseconds
        }
        row.merge(VMMColumns.cells(measured)) { _, new in new }
        let emulated = comparison.emulation.map { ResultTable.rows($0, repetition: repetition, run: run) } ?? []
        return [row] + emulated.map { $0.merging(VMMColumns.cells(program)) { _, new in new } }
    }

    public static func sampleRows(_ comparison: QEMUComparison, repetition: Int) -> [[String: String]] {
        let trial = "qemu \(comparison.item.label) rep\(repetition)"
        let pid = comparison.real.samples.isEmpty ? 0 : comparison.real.samplesPID
        return comparison.real.samples.flatMap { WatchTable.rows([$0.sample], pid: pid, trial: trial, phase: $0.phase) }
    }

    /// The table for people: real gains beside the emulation's and the model's, per case, the
    /// median over repetitions.
    public static func render(_ comparisons: [QEMUComparison], plan: QEMUPlan) -> String {
        var order: [String] = []
        var groups: [String: [QEMUComparison]] = [:]
        for comparison in comparisons {
            let key = comparison.item.label
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(comparison)
        }
        let header = ["backend", "memory", "real PTE", "emulated", "model", "PTE vs emulation", "real data",
                      "in device", "emulated", "model", "data vs emulation", "snapshot s", "status"]
        var lines: [[String]] = []
        for key in order {
            let group = groups[key]!
            let item = group[0].item
            func median(_ values: [Int?]) -> Int? {
                let present = values.compactMap { $0 }.map(Double.init)
                return Statistics(present).map { Int($0.median.rounded()) }
            }
            let realPTE = median(group.map { $0.realGain?.pte }), realData = median(group.map { $0.realGain?.data })
            let emuPTE = median(group.map { $0.emulatedGain?.pte }), emuData = median(group.map { $0.emulatedGain?.data })
            let modelPTE = median(group.map { $0.expected?.pte }), modelData = median(group.map { $0.expected?.data })
            let device = median(group.map(\.deviceDataGain))
            let seconds = Statistics(group.compactMap(\.real.seconds)).map { String(format: "%.2f", $0.median) } ?? ""
            let ok = group.filter { $0.real.status == .ok }.count
            let status = ok == group.count ? "ok" : "\(ok)/\(group.count) ok: \(group.first { $0.real.status != .ok }!.real.reason)"
            lines.append([item.backend.rawValue, item.pluggedFraction.map { "virtio-mem \($0)" } ?? "plain RAM",
                          size(realPTE), size(emuPTE), size(modelPTE), versus(realPTE, emuPTE), size(realData),
                          size(device), size(emuData), size(modelData), versus(realData, emuData), seconds, status])
        }
        let widths = header.indices.map { column in ([header] + lines).map { $0[column].count }.max() ?? 0 }
        let body = ([header] + lines).map { line in
            line.enumerated().map { index, cell in
                index < 2 || index == line.count - 1 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
        return "\(plan.version.text), \(plan.accelerator); emulated with \(plan.preset.rawValue); "
            + "\(ByteSize.format(plan.size)) of memory; gains of the QEMU process over the snapshot\n" + body
    }

    static func size(_ bytes: Int?) -> String {
        bytes.map(ByteSize.format) ?? "-"
    }

    /// `+12KiB (+0.6%)`: real minus emulated.
    static func versus(_ real: Int?, _ emulated: Int?) -> String {
        guard let real, let emulated else { return "-" }
        let difference = real - emulated
        let sign = difference > 0 ? "+" : ""
        let percent = emulated != 0 ? String(format: " (%@%.1f%%)", sign, Double(difference) / Double(emulated) * 100) : ""
        return sign + ByteSize.format(difference) + percent
    }
}

extension MemoryDelta {
    /// Between two samples of another process (`bench qemu`), system counters included.
    init(before: ProcessSample, after: ProcessSample) {
        self.init(status: before.status, after.status)
        if let start = before.system, let end = after.system {
            sysShmemBytes = end.shmemBytes - start.shmemBytes
            sysPageTablesBytes = end.pageTablesBytes - start.pageTablesBytes
            sysHugetlbBytes = end.hugetlbBytes - start.hugetlbBytes
        }
    }
}
