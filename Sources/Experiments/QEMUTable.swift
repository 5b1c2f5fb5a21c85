import Foundation
import PopulateBench
import Results
import VMM

/// The rows of `bench qemu`: `bench run`'s columns, then QEMU's (docs/cli.md). A real snapshot is
/// one `snapshot` row of strategy `qemu-real` (virtio-mem) or `qemu-real-ram` (the control: the
/// same memory as plain guest RAM); its emulation is the usual `populate` and `protect` rows of
/// the preset.
public enum QEMUTable {
    /// The real snapshot's record, then the emulation's.
    static func records(_ comparison: QEMUComparison, repetition: Int, run: RunInfo, plan: QEMUPlan) -> [QEMURecord] {
        let real = comparison.real
        // The identity is the emulation's configuration with the real program as its subject.
        var phase = PhaseResult(phase: .snapshot)
        let measured = real.status == .ok && real.before != nil && real.after != nil
        if measured, let before = real.before, let after = real.after {
            phase.delta = MemoryDelta(before: before, after: after)
            phase.delta.vmstat = real.vmstat
            phase.seconds = real.seconds ?? 0
            phase.peakRSSBytes = real.peakRSS
            phase.peakPTEBytes = real.peakPTE
            phase.startRSSBytes = before.status.vmRSS
            phase.startPTEBytes = before.status.vmPTE
            phase.protectionMap = real.midMap
            phase.imageLostWrites = real.imageLostWrites
            phase.cancel = real.cancel
            if let expected = comparison.expected {
                phase.expected = CostModel.Cost(pageTableBytes: expected.pte, dataBytes: expected.data)
            }
        }
        let template = TrialResult(config: comparison.emulationConfig, status: real.status, reason: real.reason, phases: [phase])
        let subject = PhaseRecord.Subject.qemuProcess(pluggedFraction: comparison.item.pluggedFraction,
                                                      modelled: measured && comparison.expected != nil)
        let trial = PhaseRecord(run: run, repetition: repetition, result: template, phase: phase, subject: subject)
        let qemu = comparison.item.program
        var program = VMMFields(qemuVersion: qemu.binary.version.text, qemuBuild: qemu.binary.build.kind.rawValue,
                                qemuPatch: qemu.binary.build.patch, accelerator: plan.accelerator,
                                emulatedBy: qemu.preset.rawValue)
        program.guestLayout = plan.guestLayout.rawValue
        program.pluggedRanges = real.plugged.map { $0.ranges.map(PluggedRanges.format).joined(separator: ";") } ?? ""
        var fields = program
        if let index = plan.programs.firstIndex(of: qemu), index > 0 {
            fields.qemuChange = QEMUHistory.change(from: plan.programs[index - 1].preset, to: qemu.preset,
                                                   patch: qemu.binary.build.patch)
        }
        if measured {
            fields.deviceDataBytes = comparison.deviceDataGain
            fields.deviceResidentBytes = real.deviceDataBefore
            fields.deviceMisalignmentBytes = real.deviceMisalignment
            fields.qemuTotalMilliseconds = real.qemuMilliseconds
            fields.stampedPages = real.stampedPages
            fields.qemuPopulateSeconds = real.qemuSteps?.populateSeconds
            fields.qemuProtectSeconds = real.qemuSteps?.protectSeconds
            fields.qemuCopySeconds = real.qemuSteps?.copySeconds
            fields.afterCancelQEMUState = real.qemuEndState ?? ""
            fields.guestWrites = real.guestWrites
        }
        let emulated = comparison.emulation.map { PhaseRecord.records($0, repetition: repetition, run: run) } ?? []
        return [QEMURecord(trial: trial, program: fields)] + emulated.map { QEMURecord(trial: $0, program: program) }
    }

    public static func sampleRows(_ comparison: QEMUComparison, repetition: Int) -> [[String: String]] {
        let trial = "qemu \(comparison.item.label) rep\(repetition)"
        let pid = comparison.real.samples.isEmpty ? 0 : comparison.real.samplesPID
        var records = comparison.real.samples.map { SampleRecord(trial: trial, phase: $0.phase, pid: pid, $0.sample) }
        for (index, labels) in eventsBySample(comparison.real.qemuEvents, samples: comparison.real.samples.map(\.sample)) {
            records[index].qemuEvents = labels
        }
        return records.map { Column.cells(SideColumns.watch, of: $0) }
    }

    /// QEMU's trace events, each on the first sample taken at or after it (the last sample takes
    /// those after it), as `LABEL@SECONDS;...` with the event's own time.
    static func eventsBySample(_ events: [QEMUTrace.Mark], samples: [ProcessSample]) -> [Int: String] {
        guard !samples.isEmpty else { return [:] }
        var byIndex: [Int: [String]] = [:]
        for event in events.sorted(by: { $0.seconds < $1.seconds }) {
            let index = samples.firstIndex { $0.seconds >= event.seconds } ?? samples.count - 1
            byIndex[index, default: []].append("\(event.label)@\(CellFormat.seconds(event.seconds))")
        }
        return byIndex.mapValues { $0.joined(separator: ";") }
    }

    /// The table for people: per configuration (backend and plugged fraction), each program's real
    /// gains beside its emulation's and the model's, the median over repetitions; between
    /// neighbouring programs, what changed and the QEMU commit that explains it.
    public static func render(_ comparisons: [QEMUComparison], plan: QEMUPlan) -> String {
        var configurations: [String] = []
        var groups: [String: [String: [QEMUComparison]]] = [:]
        for comparison in comparisons {
            let key = comparison.item.configurationLabel
            if groups[key] == nil { configurations.append(key) }
            groups[key, default: [:]][comparison.item.program.label, default: []].append(comparison)
        }
        let several = plan.programs.count > 1
        let header = (several ? ["program", "preset"] : []) + ["backend", "memory", "real PTE", "emulated", "model",
                      "PTE vs emulation", "real data", "in device", "emulated", "model", "device vs emulation",
                      "snapshot s", "populate s", "status"]
        var lines: [[String]] = []
        var changes: [String] = []
        for key in configurations {
            var previous: (program: QEMUProgram, pte: Int?, data: Int?)?
            for program in plan.programs {
                guard let group = groups[key]?[program.label] else { continue }
                let item = group[0].item
                func median(_ values: [Int?]) -> Int? {
                    let present = values.compactMap { $0 }.map(Double.init)
                    return Statistics(present).map { Int($0.median.rounded()) }
                }
                let realPTE = median(group.map { $0.realGain?.pte }), realData = median(group.map { $0.realGain?.data })
                let emuPTE = median(group.map { $0.emulatedGain?.pte })
                let modelPTE = median(group.map { $0.expected?.pte }), modelData = median(group.map { $0.expected?.data })
                let device = median(group.map(\.deviceDataGain)), emuDevice = median(group.map(\.emulatedDeviceGain))
                let seconds = Statistics(group.compactMap(\.real.seconds)).map { String(format: "%.2f", $0.median) } ?? ""
                // The real program's own population, from its trace events.
                let populate = Statistics(group.compactMap { $0.real.qemuSteps?.populateSeconds })
                    .map { String(format: "%.3f", $0.median) } ?? ""
                let ok = group.filter { $0.real.status == .ok }.count
                let status = ok == group.count ? "ok" : "\(ok)/\(group.count) ok: \(group.first { $0.real.status != .ok }!.real.reason)"
                lines.append((several ? [program.label, program.preset.rawValue] : [])
                    + [item.backend.rawValue, item.pluggedFraction.map { "virtio-mem \($0)" } ?? "plain RAM",
                       size(realPTE), size(emuPTE), size(modelPTE), versus(realPTE, emuPTE), size(realData),
                       size(device), size(emuDevice), size(modelData), versus(device, emuDevice), seconds, populate, status])
                if let before = previous {
                    changes.append("\(item.backend.rawValue), \(item.pluggedFraction.map { "virtio-mem \($0)" } ?? "plain RAM"): "
                        + "\(before.program.label) -> \(program.label): page tables \(signed(before.pte, realPTE)), "
                        // The image check's stamps add data of their own, more where protection misses them.
                        + (plan.imageCheck ? "data not compared (--image-check's stamps): " : "data \(signed(before.data, realData)): ")
                        + QEMUHistory.change(from: before.program.preset, to: program.preset, patch: program.binary.build.patch))
                }
                previous = (program, realPTE, realData)
            }
        }
        let left = several ? 4 : 2
        let widths = header.indices.map { column in ([header] + lines).map { $0[column].count }.max() ?? 0 }
        let body = ([header] + lines).map { line in
            line.enumerated().map { index, cell in
                index < left || index == line.count - 1 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
        let programs = several ? "\(plan.programs.count) QEMUs" : plan.programs.map {
            "\($0.binary.version.text); emulated with \($0.preset.rawValue)"
        }.joined()
        let title = "\(programs), \(plan.accelerator); \(ByteSize.format(plan.size)) of memory; "
            + "gains of the QEMU process over the snapshot\n"
        let changeText = changes.isEmpty ? "" : "\n\nWhat changed between neighbouring programs (real, medians):\n"
            + changes.map { "  " + $0 }.joined(separator: "\n")
        // One line per program whose own steps are unknown somewhere: why `populate s` is empty.
        var traceNotes: [String] = []
        for program in plan.programs {
            let problems = comparisons.filter { $0.item.program.label == program.label && $0.real.status == .ok }
                .compactMap(\.real.qemuEventsProblem)
            if let first = problems.first {
                traceNotes.append("  \(program.label): \(first) (\(problems.count) of its snapshots)")
            }
        }
        let traceText = traceNotes.isEmpty ? "" : "\n\nQEMU's own steps (populate s, qemu_*_seconds) unknown for:\n"
            + traceNotes.joined(separator: "\n")
        return title + body + changeText + traceText
    }

    /// `+1.5MiB`, `-512KiB`, `0`: the later figure minus the earlier.
    static func signed(_ before: Int?, _ after: Int?) -> String {
        guard let before, let after else { return "-" }
        let difference = after - before
        return difference == 0 ? "0" : (difference > 0 ? "+" : "") + ByteSize.format(difference)
    }

    static func size(_ bytes: Int?) -> String {
        bytes.map(ByteSize.format) ?? "-"
    }

    /// `+12KiB (+0.6%)`: real minus emulated, the percentage of the emulated figure's size (its sign
    /// is the difference's, also when the emulated figure is negative).
    static func versus(_ real: Int?, _ emulated: Int?) -> String {
        guard let real, let emulated else { return "-" }
        let difference = real - emulated
        let sign = difference > 0 ? "+" : ""
        let percent = emulated != 0 ? String(format: " (%+.1f%%)", Double(difference) / Double(abs(emulated)) * 100) : ""
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
