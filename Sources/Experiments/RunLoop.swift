import LinuxMM
import Foundation
import PopulateBench
import Results
import Synchronization

/// The one loop of every experiment: warm-ups, then the repetitions round-robin across cases so
/// that drift of the machine spreads evenly; rows reach the CSVs as each case ends, so a killed
/// run leaves valid files of what finished; an interruption (`interrupt(signal:)`) keeps whole
/// cases; the summary is written at the end, also after a write failed.
// Unchecked: `progress` is only told from the thread that runs the loop.
public final class RunLoop<E: Experiment>: @unchecked Sendable {
    public let experiment: E
    public let outPath: String
    public let progress: (any RunProgress)?
    private let interruption = Mutex<Int32?>(nil)

    public let host: HostCapabilities

    public init(_ experiment: E, outPath: String, progress: (any RunProgress)?) {
        host = experiment.host
        self.experiment = experiment
        self.outPath = outPath
        self.progress = progress
    }

    public struct Report: Sendable {
        /// Each counted case's outcome and its repetition, in the order they ran.
        public var outcomes: [(outcome: E.Outcome, repetition: Int, status: TrialStatus)]
        /// The raw CSV's rows as they were written (the records formatted once, as they were).
        public var rows: [[String: String]]
        public var summary: [[String: String]]
        public var interruptedBy: Int32?
        public var rawPath: String
        public var summaryPath: String

        public var failedCount: Int { outcomes.filter { $0.status == .failed }.count }
        public var skippedCount: Int { outcomes.filter { $0.status == .skipped }.count }
        /// 128 + the signal when a signal ended the run (130 SIGINT, 143 SIGTERM, 129 SIGHUP), else
        /// 1 when a case failed, else 0.
        public var exitCode: Int32 { TerminationSignals.exitCode(interruptedBy, otherwise: failedCount > 0 ? 1 : 0) }
    }

    /// Stops the run after the current case and kills what it runs; safe from a signal's queue.
    public func interrupt(signal: Int32) {
        interruption.withLock { $0 = $0 ?? signal }
        experiment.cancel()
    }

    public var interruptedBy: Int32? { interruption.withLock { $0 } }

    /// Runs every case with SIGINT, SIGTERM and SIGHUP routed to `interrupt(signal:)` (the one
    /// signal path: `TerminationSignals`), as a command does.
    public func run() throws(RunAbortedError) -> Report {
        let signals = TerminationSignals { [self] in interrupt(signal: $0) }
        defer { withExtendedLifetime(signals) {} }
        return try run(runInfo: RunInfo(startingOn: host))
    }

    /// Runs every case. An error after the work began (a CSV cannot be written) stops the run: the
    /// rows written before it stay intact, their summary is written if it can be, and the error is
    /// a `RunAbortedError` naming the cause.
    public func run(runInfo: RunInfo) throws(RunAbortedError) -> Report {
        let summaryPath = OutputFiles.summaryPath(for: outPath)
        let raw: CSVFile
        let sides: [CSVFile]
        do {
            raw = try CSVFile(path: outPath, columns: experiment.columns)
            sides = try experiment.sideTables.map { table in
                try CSVFile(path: OutputFiles.siblingPath(of: outPath, suffix: table.suffix), columns: table.columns)
            }
        } catch {
            throw RunAbortedError(cause: "\(error)", rowsWritten: 0, summaryWritten: false)
        }
        let cases = experiment.cases, warmups = experiment.warmups
        progress?.begin(trials: warmups.count + cases.count * experiment.repetitions,
                        experiment.title + (warmups.isEmpty ? "" : " + \(warmups.count) warm-up trials")
                            + "; rows go to \(outPath)")
        for item in warmups where interruptedBy == nil {
            progress?.trialStarting("warm-up " + experiment.label(item))
            let outcome = experiment.run(item, repetition: 0)
            progress?.trialFinished("warm-up \(experiment.label(item)): \(experiment.status(outcome).status.rawValue)",
                                    important: false)
        }

        var report = Report(outcomes: [], rows: [], summary: [], interruptedBy: nil, rawPath: outPath,
                            summaryPath: summaryPath)
        var abort: String?
        cases: for repetition in stride(from: 1, through: experiment.repetitions, by: 1) {
            for item in experiment.cases(repetition: repetition) where interruptedBy == nil {
                let label = experiment.label(item)
                progress?.trialStarting("rep \(repetition) \(label)")
                let outcome = experiment.run(item, repetition: repetition)
                let (status, reason) = experiment.status(outcome)
                // A case the interruption cut short is not a result: the run keeps whole cases.
                if interruptedBy != nil && !experiment.isWhole(outcome) { break cases }
                let records = experiment.records(outcome, repetition: repetition, run: runInfo)
                // Formatted here, as they are written: until now they were records.
                let rows = experiment.cells(records)
                do {
                    try raw.append(rows)
                    report.rows += rows
                    report.outcomes.append((outcome, repetition, status))
                    for (file, sideRows) in zip(sides, experiment.sideRows(outcome, repetition: repetition)) {
                        try file.append(sideRows)
                    }
                } catch {
                    abort = "\(error)"
                    break cases
                }
                progress?.trialFinished("rep \(repetition) \(label): \(status.rawValue)" + (status == .ok ? "" : ": \(reason)"),
                                        important: status == .failed)
            }
        }
        progress?.end()
        let identity = SummaryTable.configColumns(in: experiment.columns)
        report.summary = SummaryTable.rows(from: report.rows, identity: identity)
        var summaryWritten = false
        do {
            let summaryFile = try CSVFile(path: summaryPath, columns: SummaryTable.columns(identity: identity))
            try summaryFile.append(report.summary)
            summaryWritten = true
        } catch {
            abort = abort ?? "\(error)"
        }
        if let abort {
            throw RunAbortedError(cause: abort, rowsWritten: report.rows.count, summaryWritten: summaryWritten)
        }
        report.interruptedBy = interruptedBy
        return report
    }
}
