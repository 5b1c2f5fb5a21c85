import Foundation
import LinuxMM
import PopulateBench
import Results
import VMM

/// Runs a plan: warm-up trials, then the repetitions round-robin across configs so that drift of
/// the machine spreads evenly, each trial in its own child process. Rows reach the CSV as each
/// trial ends, so a killed run leaves a valid CSV of what finished.
public final class Runner: @unchecked Sendable {
    public let plan: RunPlan
    public let host: HostCapabilities
    public let outPath: String
    /// Told of each trial as it starts and ends; nil for a silent run.
    public let progress: (any RunProgress)?
    public let launcher: ChildTrialLauncher
    private let interruption = NSLock()
    private var interruptedBy: Int32?

    public init(plan: RunPlan, host: HostCapabilities, outPath: String, progress: (any RunProgress)? = nil,
                executable: URL = ChildTrialLauncher.besideCurrentExecutable) {
        self.plan = plan
        self.host = host
        self.outPath = outPath
        self.progress = progress
        launcher = ChildTrialLauncher(executable: executable, timeout: plan.trialTimeout)
    }

    public struct Report: Sendable {
        public var rows: [[String: String]]
        public var summary: [[String: String]]
        public var results: [TrialResult]
        public var interruptedBy: Int32?
        public var rawPath: String
        public var summaryPath: String

        public var failedCount: Int { results.filter { $0.status == .failed }.count }
        /// 128 + the signal when a signal ended the run (130 SIGINT, 143 SIGTERM, 129 SIGHUP), else
        /// 1 when a trial failed, else 0.
        public var exitCode: Int32 { TerminationSignals.exitCode(interruptedBy, otherwise: failedCount > 0 ? 1 : 0) }
        /// `SIGTERM` when a signal ended the run, for the closing line's "interrupted by SIGTERM".
        public var interruptionName: String? { interruptedBy.map(Signals.name) }
    }

    /// Stops the run after the current trial and kills its child; safe from a signal handler's queue.
    public func interrupt(signal: Int32) {
        interruption.lock()
        interruptedBy = interruptedBy ?? signal
        interruption.unlock()
        launcher.cancel()
    }

    private var isInterrupted: Bool {
        interruption.lock()
        defer { interruption.unlock() }
        return interruptedBy != nil
    }

    /// Runs the plan. An error after the work began (the CSV cannot be written) stops the run:
    /// the rows written before it stay intact, their summary is written if it can be, and the
    /// error is a `RunAbortedError` naming the cause.
    public func run() throws(RunAbortedError) -> Report {
        let configs = plan.configs(host: host)
        let runInfo = RunInfo(runID: Self.makeRunID(), host: host.hostName, kernel: host.kernel)
        let summaryPath = OutputFiles.summaryPath(for: outPath)
        let raw: CSVFile
        let samples: CSVFile?
        let stalls: CSVFile?
        do {
            raw = try CSVFile(path: outPath, columns: ResultTable.columns)
            samples = try plan.snapshot.map { _ in
                try CSVFile(path: OutputFiles.samplesPath(for: outPath), columns: ResultTable.sampleColumns)
            }
            stalls = try plan.snapshot.map { _ in
                try CSVFile(path: OutputFiles.stallsPath(for: outPath), columns: ResultTable.stallColumns)
            }
        } catch {
            throw RunAbortedError(cause: "\(error)", rowsWritten: 0, summaryWritten: false)
        }
        let warmups = warmupConfigs(configs)
        progress?.begin(trials: warmups.count + configs.count * plan.repetitions,
                        "bench: \(configs.count) configs x \(plan.repetitions) repetitions"
                            + (warmups.isEmpty ? "" : " + \(warmups.count) warm-up trials") + "; rows go to \(outPath)")

        for config in warmups where !isInterrupted {
            progress?.trialStarting("warm-up " + config.label)
            let result = runOne(config)
            progress?.trialFinished("warm-up \(config.label): \(result.status.rawValue)", important: false)
        }

        var rows: [[String: String]] = []
        var results: [TrialResult] = []
        var abort: String?
        trials: for repetition in stride(from: 1, through: plan.repetitions, by: 1) {
            for config in configs where !isInterrupted {
                progress?.trialStarting("rep \(repetition) " + config.label)
                let result = runOne(config)
                // A trial the interruption cut short is not a result: the run keeps whole trials.
                if isInterrupted && result.status == .failed { break trials }
                let trialRows = ResultTable.rows(result, repetition: repetition, run: runInfo)
                do {
                    try raw.append(trialRows)
                } catch {
                    abort = "\(error)"
                    break trials
                }
                rows += trialRows
                results.append(result)
                do {
                    try samples?.append(ResultTable.sampleRows(result, repetition: repetition))
                    try stalls?.append(ResultTable.stallRows(result, repetition: repetition))
                } catch {
                    abort = "\(error)"
                    break trials
                }
                let ending = result.status == .ok ? "" : ": \(result.reason)"
                progress?.trialFinished("rep \(repetition) \(config.label): \(result.status.rawValue)\(ending)",
                                        important: result.status == .failed)
            }
        }
        progress?.end()
        let summary = SummaryTable.rows(from: rows)
        var summaryWritten = false
        do {
            let summaryFile = try CSVFile(path: summaryPath, columns: SummaryTable.columns)
            try summaryFile.append(summary)
            summaryWritten = true
        } catch {
            abort = abort ?? "\(error)"
        }
        if let abort {
            throw RunAbortedError(cause: abort, rowsWritten: rows.count, summaryWritten: summaryWritten)
        }
        interruption.lock()
        let signal = interruptedBy
        interruption.unlock()
        return Report(rows: rows, summary: summary, results: results, interruptedBy: signal, rawPath: outPath,
                      summaryPath: summaryPath)
    }

    /// One trial: skipped here when the host or the memory guard says so, else run in a child.
    private func runOne(_ config: TrialConfig) -> TrialResult {
        var current = host
        current.hugePagePools = SysfsMM.hugePagePools()
        // The model follows the THP settings in force when the trial runs, as the kernel does.
        current.thp = SysfsMM.transparentHugePages()
        if let reason = current.skipReason(for: config, checkingPoolSize: !plan.force) {
            return TrialResult(config: config, status: .skipped, reason: reason)
        }
        if !plan.force, let reason = MemoryGuard.check(config, memAvailable: (try? MemInfo.current().memAvailable) ?? 0) {
            return TrialResult(config: config, status: .skipped, reason: reason)
        }
        return TrialResult.timed { launcher.run(TrialRequest(config: config, host: current, checksPoolSize: !plan.force)) }
    }

    /// `--warmup N` trials per backend, with that backend's first config: the first touch of
    /// fresh memory in these VMs is slow and noisy.
    /// The warm-up of a backend populates (the first config whose strategy does, else its first
    /// config): the point is to fault fresh memory in before the counted trials do.
    func warmupConfigs(_ configs: [TrialConfig]) -> [TrialConfig] {
        guard plan.warmup > 0 else { return [] }
        let runnable = configs.filter { host.skipReason(for: $0) == nil }
        var order: [Backend] = []
        for config in runnable where !order.contains(config.backend) { order.append(config.backend) }
        let chosen = order.compactMap { backend in
            runnable.first { $0.backend == backend && $0.strategy.populateScope != .nothing }
                ?? runnable.first { $0.backend == backend }
        }
        return chosen.flatMap { Array(repeating: $0, count: plan.warmup) }
    }

    static func makeRunID() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(formatter.string(from: Date()))-\(getpid())"
    }
}
