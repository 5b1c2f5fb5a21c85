import Foundation
import LinuxMM
import Synchronization
import PopulateBench
import Results
import VMM


/// `bench qemu`: each case a real QEMU background snapshot, then its emulation; the samples of the
/// QEMU process go to `<out>-samples.csv`.
public final class QEMUExperiment: Experiment {
    public let plan: QEMUPlan
    public let host: HostCapabilities
    let launcher: ChildTrialLauncher
    private let current = Mutex<QEMUMachine?>(nil)
    private let cancelled = Mutex(false)

    /// The emulation runs in `executable` (`bench-trial`), given the plan's `trialTimeout`.
    public init(plan: QEMUPlan, host: HostCapabilities, executable: URL = ChildTrialLauncher.besideCurrentExecutable) {
        self.plan = plan
        self.host = host
        launcher = ChildTrialLauncher(executable: executable, timeout: plan.trialTimeout)
    }

    public var sideTables: [SideTable] { [SideTable(suffix: "samples", columns: WatchTable.columns)] }
    public var cases: [QEMUPlan.Case] { plan.cases }
    public func cases(repetition: Int) -> [QEMUPlan.Case] { plan.cases(repetition: repetition) }
    public var warmups: [QEMUPlan.Case] { [] }
    public var repetitions: Int { plan.repetitions }
    public var title: String {
        let layout = plan.guestLayout == .prefix ? "" : "guest layout \(plan.guestLayout.rawValue); "
        let check = plan.imageCheck ? "image check; " : ""
        let programs = plan.programs.map { "\($0.label) (\($0.binary.version.text); emulated with \($0.preset.rawValue): \($0.presetReason))" }
        return "bench qemu: " + programs.joined(separator: ", ") + "; \(plan.accelerator) (\(plan.acceleratorReason)); "
            + layout + check
            + "\(plan.cases.count) cases x \(plan.repetitions)"
            + (plan.programs.count > 1 ? ", the programs' order reversed on every other repetition" : "")
    }

    public func label(_ item: QEMUPlan.Case) -> String { item.label }
    public func status(_ outcome: QEMUComparison) -> (status: TrialStatus, reason: String) {
        (outcome.real.status, outcome.real.reason)
    }

    public var table: [Column<QEMURecord>] { QEMURecord.columns }

    public func records(_ outcome: QEMUComparison, repetition: Int, run: RunInfo) -> [QEMURecord] {
        QEMUTable.records(outcome, repetition: repetition, run: run, plan: plan)
    }

    public func sideRows(_ outcome: QEMUComparison, repetition: Int) -> [[[String: String]]] {
        [QEMUTable.sampleRows(outcome, repetition: repetition)]
    }

    /// Kills the running QEMU (by PID) and the emulation's child; no case starts after it.
    public func cancel() {
        cancelled.withLock { $0 = true }
        current.withLock { $0?.kill() }
        launcher.cancel()
    }

    private var isCancelled: Bool { cancelled.withLock { $0 } }

    public func run(_ item: QEMUPlan.Case, repetition: Int) -> QEMUComparison { runCase(item) }

    /// The real snapshot whole, and its emulation too where it was to run: an interruption during
    /// the emulation leaves a real row without its twin.
    public func isWhole(_ outcome: QEMUComparison) -> Bool {
        guard outcome.real.status != .failed else { return false }
        guard outcome.real.status == .ok else { return true }
        return outcome.emulation.map { $0.status != .failed } ?? false
    }

    /// The real snapshot of one case, then its emulation with the layout the guest plugged.
    func runCase(_ item: QEMUPlan.Case) -> QEMUComparison {
        var real = RealSnapshot.Result()
        let memory: QEMUMachineSpec.Memory = item.pluggedFraction.map { .virtioMem(requested: plan.requested($0)) } ?? .plainRAM
        if let problem = plan.poolProblem(item) {
            real.status = .skipped
            real.reason = problem
        } else {
            var spec = QEMUMachineSpec(qemuPath: item.program.binary.path, accelerator: plan.accelerator,
                                       backend: item.backend, size: plan.size, memory: memory, guest: plan.guest)
            spec.dataDirectories = item.program.binary.build.dataDirectories
            var snapshot = RealSnapshot(spec: spec)
            snapshot.layout = plan.guestLayout
            snapshot.imageCheck = plan.imageCheck
            snapshot.cancelAt = plan.cancelAt
            snapshot.guestWriteBound = plan.guestWriteBound
            snapshot.guestWriters = plan.guestWriters
            snapshot.vmstatCounters = plan.vmstatCounters
            snapshot.vmstatNodes = VMStatMonitor.nodes(of: host.numaNodes)
            snapshot.timeouts = plan.timeouts
            snapshot.sampleInterval = plan.sampleInterval
            real = snapshot.run(cancelled: { [self] in isCancelled }) { [self] machine in
                current.withLock { $0 = machine }
                if machine != nil, isCancelled { machine?.kill() }
            }
        }
        let config = emulationConfig(item, real: real)
        var emulation: TrialResult?
        if real.status == .ok, !isCancelled {
            var probed = host
            probed.hugePagePools = SysfsMM.hugePagePools()
            // The pool check of bench run counts the whole region; with reserve=off only what is
            // populated is taken, which poolProblem checked.
            if let reason = probed.skipReason(for: config, checkingPoolSize: false) {
                emulation = TrialResult(config: config, status: .skipped, reason: reason)
            } else {
                emulation = launcher.run(TrialRequest(config: config, host: probed, checksPoolSize: false,
                                                      vmstatCounters: plan.vmstatCounters))
            }
        }
        // The emulation's oracle on the same writes: a stamp is lost where the emulation's protection
        // left the page untracked (neither present nor protected) as its copy began.
        if let stamped = real.stampAttempts, var result = emulation, result.status == .ok,
           let index = result.phases.firstIndex(where: { $0.phase == .snapshot }),
           let map = result.phases[index].protectionMap, map.showsProtection {
            let untracked = map.unprotectedEmptyRuns
            let lost = stamped.reduce(0) { total, run in
                total + untracked.reduce(0) { $0 + max(0, min($1.upperBound, run.upperBound) - max($1.lowerBound, run.lowerBound)) }
            }
            result.phases[index].imageLostWrites = lost / 4096
            emulation = result
        }
        return QEMUComparison(item: item, real: real, emulationConfig: config, emulation: emulation)
    }

    /// The emulated twin of a case: the same backend and size, virtio-mem's block, QEMU's
    /// `MADV_HUGEPAGE`, `reserve=off`, the guest's own plugged ranges and what it had written of them.
    func emulationConfig(_ item: QEMUPlan.Case, real: RealSnapshot.Result) -> TrialConfig {
        let page = item.backend.isHugetlb ? 2 << 20 : host.basePageSize
        let ranges = real.plugged.flatMap { $0.ranges.isEmpty ? nil : $0 }
        let plugged = item.pluggedFraction.map { _ in Double(ranges?.pluggedBytes ?? 0) / Double(plan.size) } ?? 1
        let pluggedBytes = Int(plugged * Double(plan.size))
        let resident = pluggedBytes > 0 ? min(1, Double(real.deviceDataBefore ?? 0) / Double(pluggedBytes)) : 0
        var config = TrialConfig(backend: item.backend, regionBytes: plan.size, pageBytes: page,
                                 blockBytes: real.blockSize ?? QEMUPlan.blockSize,
                                 layout: ranges.map(TrialLayout.ranges) ?? .named(.prefix), thp: .huge,
                                 pluggedFraction: item.pluggedFraction == nil ? 1 : plugged,
                                 residentFraction: (resident * 10000).rounded() / 10000, strategy: item.program.preset,
                                 seed: plan.seed)
        config.noReserve = item.backend.isHugetlb
        // The copy: QEMU's migration thread reads every plugged page (on shmem a read allocates what
        // population left out); the guest idles, so no writer. The phase's sampler is a thread
        // besides the copier, as QEMU's migration thread is one besides its main loop: its stack
        // costs the same few KiB of page tables (QEMU's own vary from 4 to 12 KiB).
        config.snapshot = SnapshotOptions(writers: plan.guestWriters, sampleInterval: 0.01)
        config.snapshot?.cancelAt = plan.cancelAt
        if let runs = real.deviceResidentRuns {
            config.resident = .pages(runs.map { $0.lowerBound / page ..< ($0.upperBound + page - 1) / page },
                                     share: config.residentFraction)
        }
        return config
    }
}

/// Runs a `QEMUPlan`'s `QEMUExperiment` through the one run loop.
public typealias QEMUBench = RunLoop<QEMUExperiment>

extension RunLoop.Report where E == QEMUExperiment {
    /// Every counted case's real snapshot and emulation, in the order they ran.
    public var comparisons: [QEMUComparison] { outcomes.map(\.outcome) }
    public var samplesPath: String { OutputFiles.samplesPath(for: rawPath) }
}
