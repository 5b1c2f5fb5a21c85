import Foundation
import LinuxMM

/// Runs a plan: warm-up trials, then the repetitions round-robin across configs so that drift of
/// the machine spreads evenly, each trial in its own child process. Rows reach the CSV as each
/// trial ends, so a killed run leaves a valid CSV of what finished.
public final class Runner: @unchecked Sendable {
    public let plan: RunPlan
    public let host: HostCapabilities
    public let outPath: String
    public let quiet: Bool
    public let launcher: ChildTrialLauncher
    private let interruption = NSLock()
    private var interruptedBy: Int32?

    public init(plan: RunPlan, host: HostCapabilities, outPath: String, quiet: Bool,
                executable: URL = ChildTrialLauncher.currentExecutable) {
        self.plan = plan
        self.host = host
        self.outPath = outPath
        self.quiet = quiet
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
        /// 130 when interrupted, 1 when a trial failed, else 0.
        public var exitCode: Int32 { interruptedBy != nil ? 130 : (failedCount > 0 ? 1 : 0) }
    }

    /// `<out>-summary.csv` beside `<out>.csv`.
    public static func summaryPath(for outPath: String) -> String { siblingPath(of: outPath, suffix: "summary") }

    /// `<out>-samples.csv` beside `<out>.csv`.
    public static func samplesPath(for outPath: String) -> String { siblingPath(of: outPath, suffix: "samples") }

    /// `<out>-stalls.csv` beside `<out>.csv`: each snapshot's write-stall distribution.
    public static func stallsPath(for outPath: String) -> String { siblingPath(of: outPath, suffix: "stalls") }

    static func siblingPath(of outPath: String, suffix: String) -> String {
        (outPath.hasSuffix(".csv") ? String(outPath.dropLast(4)) : outPath) + "-\(suffix).csv"
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

    public func run() throws -> Report {
        let configs = plan.configs(host: host)
        let runInfo = ResultTable.RunInfo(runID: Self.makeRunID(), host: host.hostName, kernel: host.kernel)
        let raw = try CSVFile(path: outPath, columns: ResultTable.columns)
        let summaryPath = Self.summaryPath(for: outPath)
        let samples = try plan.snapshot.map { _ in
            try CSVFile(path: Self.samplesPath(for: outPath), columns: ResultTable.sampleColumns)
        }
        let stalls = try plan.snapshot.map { _ in
            try CSVFile(path: Self.stallsPath(for: outPath), columns: ResultTable.stallColumns)
        }
        let warmups = warmupConfigs(configs)
        let progress = Progress(total: warmups.count + configs.count * plan.repetitions, quiet: quiet)
        progress.message("bench: \(configs.count) configs x \(plan.repetitions) repetitions"
            + (warmups.isEmpty ? "" : " + \(warmups.count) warm-up trials") + "; rows go to \(outPath)")

        for config in warmups where !isInterrupted {
            progress.starting("warm-up " + config.label)
            let result = runOne(config)
            progress.finished(line: "warm-up \(config.label): \(result.status.rawValue)", important: false)
        }

        var rows: [[String: String]] = []
        var results: [TrialResult] = []
        for repetition in 1 ... plan.repetitions {
            for config in configs where !isInterrupted {
                progress.starting("rep \(repetition) " + config.label)
                let result = runOne(config)
                if isInterrupted && result.status == .failed { break }
                let trialRows = ResultTable.rows(result, repetition: repetition, run: runInfo)
                try raw.append(trialRows)
                try samples?.append(ResultTable.sampleRows(result, repetition: repetition))
                try stalls?.append(ResultTable.stallRows(result, repetition: repetition))
                rows += trialRows
                results.append(result)
                let ending = result.status == .ok ? "" : ": \(result.reason)"
                progress.finished(line: "rep \(repetition) \(config.label): \(result.status.rawValue)\(ending)",
                                  important: result.status == .failed)
            }
        }
        progress.close()
        try raw.close()
        try samples?.close()
        try stalls?.close()
        let summary = SummaryTable.rows(from: rows)
        let summaryFile = try CSVFile(path: summaryPath, columns: SummaryTable.columns)
        try summaryFile.append(summary)
        try summaryFile.close()
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
    private func warmupConfigs(_ configs: [TrialConfig]) -> [TrialConfig] {
        guard plan.warmup > 0 else { return [] }
        var seen = Set<Backend>()
        let firsts = configs.filter { seen.insert($0.backend).inserted && host.skipReason(for: $0) == nil }
        return firsts.flatMap { Array(repeating: $0, count: plan.warmup) }
    }

    static func makeRunID() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(formatter.string(from: Date()))-\(getpid())"
    }
}
