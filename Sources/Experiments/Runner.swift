import Foundation
import LinuxMM
import PopulateBench
import Results

/// `bench run` and `bench doctor --recommend`: a plan's trials, each in its own child process.
public struct TrialExperiment: Experiment {
    public let plan: RunPlan
    public let host: HostCapabilities
    public let launcher: ChildTrialLauncher
    public let cases: [TrialConfig]

    /// Trials run in `executable` (`bench-trial`), each given the plan's `--trial-timeout`.
    public init(plan: RunPlan, host: HostCapabilities, executable: URL = ChildTrialLauncher.besideCurrentExecutable) {
        self.plan = plan
        self.host = host
        launcher = ChildTrialLauncher(executable: executable, timeout: plan.trialTimeout)
        cases = plan.configs(host: host)
    }

    public var sideTables: [SideTable] {
        plan.snapshot == nil ? [] : [SideTable(suffix: "samples", columns: ResultTable.sampleColumns),
                                     SideTable(suffix: "stalls", columns: ResultTable.stallColumns)]
    }
    public var repetitions: Int { plan.repetitions }
    public var title: String { "bench: \(cases.count) configs x \(plan.repetitions) repetitions" }

    /// `--warmup N` trials per backend. The warm-up of a backend populates (the first config whose
    /// strategy does, else its first config): the point is to fault fresh memory in before the
    /// counted trials do.
    public var warmups: [TrialConfig] {
        guard plan.warmup > 0 else { return [] }
        let runnable = cases.filter { host.skipReason(for: $0) == nil }
        var order: [Backend] = []
        for config in runnable where !order.contains(config.backend) { order.append(config.backend) }
        let chosen = order.compactMap { backend in
            runnable.first { $0.backend == backend && $0.strategy.populateScope != .nothing }
                ?? runnable.first { $0.backend == backend }
        }
        return chosen.flatMap { Array(repeating: $0, count: plan.warmup) }
    }

    public func label(_ item: TrialConfig) -> String { item.label }

    /// One trial: skipped here when the host or the memory guard says so, else run in a child.
    public func run(_ config: TrialConfig, repetition: Int) -> TrialResult {
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
        return TrialResult.timed {
            launcher.run(TrialRequest(config: config, host: current, checksPoolSize: !plan.force,
                                      vmstatCounters: plan.vmstatCounters))
        }
    }

    public func status(_ outcome: TrialResult) -> (status: TrialStatus, reason: String) { (outcome.status, outcome.reason) }

    public var table: [Column<PhaseRecord>] { TrialColumns.all }

    public func records(_ outcome: TrialResult, repetition: Int, run: RunInfo) -> [PhaseRecord] {
        PhaseRecord.records(outcome, repetition: repetition, run: run)
    }

    public func sideRows(_ outcome: TrialResult, repetition: Int) -> [[[String: String]]] {
        [ResultTable.sampleRows(outcome, repetition: repetition), ResultTable.stallRows(outcome, repetition: repetition)]
    }

    public func cancel() { launcher.cancel() }
}

/// Runs a plan's `TrialExperiment` through the one run loop.
public typealias Runner = RunLoop<TrialExperiment>

extension RunLoop.Report where E == TrialExperiment {
    /// Every counted trial's result, in the order they ran.
    public var results: [TrialResult] { outcomes.map(\.outcome) }
}
