import Foundation
import LinuxMM
import Synchronization
import PopulateBench
import Results
import VMM

/// What `bench qemu` runs: real QEMU background snapshots of a virtio-mem device of each backend
/// at each plugged fraction, and the same memory as plain guest RAM (the control), on each QEMU
/// program; beside each, the harness's emulation of that configuration with the program's preset.
public struct QEMUPlan: Sendable {
    /// The QEMUs, in the order the first repetition runs them.
    public var programs: [QEMUProgram]
    /// `tcg` or `kvm`, and why.
    public var accelerator: String
    public var acceleratorReason: String
    public var backends: [Backend]
    public var size: Int
    public var pluggedFractions: [Double]
    public var control = true
    public var repetitions = 1
    public var guest: GuestImage
    public var timeouts = RealSnapshot.Timeouts()
    public var sampleInterval = 0.01
    /// Run what the hugetlb pool check would skip (QEMU then dies of SIGBUS: a failed row).
    public var force = false
    public var seed = RunPlan.defaultSeed
    public var trialTimeout = 600.0
    /// The holes the guest makes in what it plugged (`--guest-layout`).
    public var guestLayout = GuestLayout.prefix
    /// Whether the harness stamps the plugged memory during the held copy and QEMU's image is
    /// checked (`--image-check`).
    public var imageCheck = false
    /// `--cancel-at`: the fraction of the plugged memory copied when each snapshot is cancelled.
    public var cancelAt: Double?
    /// With `cancelAt`: seconds the guest's writer may take before the guest counts as hung.
    public var guestWriteBound = 60.0
    /// `--guest-writers`: threads of the guest timing their writes during each snapshot (the
    /// emulation runs as many writers).
    public var guestWriters = 0
    /// The `/proc/vmstat` counters each row records (`--monitor`).
    public var vmstatCounters = VMStatMonitor.defaultCounters

    public static let backends = Backend.allCases.filter { $0.declaration.qemuObject != nil }
    /// virtio-mem's block on these backends: the THP size, and 2 MiB huge pages.
    public static let blockSize = 2 << 20

    public init(programs: [QEMUProgram], accelerator: String, acceleratorReason: String, backends: [Backend], size: Int,
                pluggedFractions: [Double], guest: GuestImage) {
        self.programs = programs
        self.accelerator = accelerator
        self.acceleratorReason = acceleratorReason
        self.backends = backends
        self.size = size
        self.pluggedFractions = pluggedFractions
        self.guest = guest
    }

    /// One real configuration: a QEMU, a backend and a plugged fraction, or the control.
    public struct Case: Sendable, Equatable {
        public var program: QEMUProgram
        public var backend: Backend
        /// nil: the control (plain guest RAM).
        public var pluggedFraction: Double?
        public var configurationLabel: String {
            "\(backend.rawValue) " + (pluggedFraction.map { "virtio-mem plugged=\($0)" } ?? "plain RAM (pc-dimm)")
        }
        public var label: String { "\(program.label): \(configurationLabel)" }
    }

    /// Every case of repetition 1: per backend and fraction (then the control), each program.
    public var cases: [Case] { cases(repetition: 1) }

    /// The cases of one repetition: each configuration on every program in turn, the programs in
    /// the given order on odd repetitions and reversed on even ones, so that a drift of the machine
    /// within a run does not favour one program.
    public func cases(repetition: Int) -> [Case] {
        let order = repetition % 2 == 1 ? programs : programs.reversed()
        return backends.flatMap { backend in
            (pluggedFractions.map(Optional.some) + (control ? [nil] : [])).flatMap { fraction in
                order.map { Case(program: $0, backend: backend, pluggedFraction: fraction) }
            }
        }
    }

    /// The rules of a plan that need no QEMU to check; the first problem names its flag.
    public static func check(backends: [Backend]?, size: Int, repetitions: Int, sampleInterval: Double,
                             pluggedFractions: [Double], control: Bool,
                             guestLayout: GuestLayout = .prefix, imageCheck: Bool = false,
                             cancelAt: Double? = nil, guestWriters: Int = 0) throws(RunPlan.InputError) {
        for item in backends ?? [] where !Self.backends.contains(item) {
            throw RunPlan.InputError(flag: "--backend", "\(item.rawValue) is not one of "
                + Self.backends.map(\.rawValue).joined(separator: ", "))
        }
        // Linux onlines and offlines a guest's memory in blocks of 128 MiB on x86-64.
        guard size >= 128 << 20, size % (128 << 20) == 0 else {
            throw RunPlan.InputError(flag: "--size", "\(ByteSize.exact(size)) is not a multiple of 128MiB (Linux's memory block)")
        }
        guard repetitions >= 1 else { throw RunPlan.InputError(flag: "--repetitions", "must be at least 1, not \(repetitions)") }
        guard sampleInterval >= 0.001 else { throw RunPlan.InputError(flag: "--sample-interval", "must be at least 1ms") }
        guard !pluggedFractions.isEmpty || control else {
            throw RunPlan.InputError(flag: "--plugged", "nothing to run (no fractions and --no-control)")
        }
        let blocks = size / blockSize
        if imageCheck, !pluggedFractions.contains(where: { Int(($0 * Double(blocks)).rounded()) > 0 }) {
            throw RunPlan.InputError(flag: "--image-check", "nothing plugged to check: every --plugged fraction is 0")
        }
        guard (0 ... 64).contains(guestWriters) else {
            throw RunPlan.InputError(flag: "--guest-writers", "\(guestWriters) is not a number of writer threads from 0 (none) to 64")
        }
        if guestWriters > 0 {
            guard cancelAt == nil else {
                throw RunPlan.InputError(flag: "--guest-writers", "a cancelled snapshot's guest writes once after the cancel; "
                    + "drop --cancel-at or --guest-writers")
            }
            if let empty = pluggedFractions.first(where: { Int(($0 * Double(blocks)).rounded()) == 0 }) {
                throw RunPlan.InputError(flag: "--guest-writers", "--plugged \(empty) plugs nothing for the guest to write")
            }
        }
        if let cancelAt {
            guard cancelAt > 0, cancelAt < 1 else {
                throw RunPlan.InputError(flag: "--cancel-at", "'\(cancelAt)' is not a fraction of the copy strictly between 0 and 1")
            }
            guard !imageCheck else {
                throw RunPlan.InputError(flag: "--cancel-at", "a cancelled snapshot leaves no image to check; drop --image-check")
            }
            if let empty = pluggedFractions.first(where: { Int(($0 * Double(blocks)).rounded()) == 0 }) {
                throw RunPlan.InputError(flag: "--cancel-at", "--plugged \(empty) plugs nothing: no copy to cancel")
            }
            // The emulation cancels after the fraction of its plugged pages, rounded up: a copy of a
            // few huge pages can reach every one of them first.
            for backend in backends ?? Self.backends {
                let page = backend.pageSize(hugePageSize: 2 << 20, basePageSize: KernelInfo.pageSize)
                for fraction in pluggedFractions {
                    let pages = Int((fraction * Double(blocks)).rounded()) * blockSize / page
                    if SnapshotOptions.pagesBeforeCancel(at: cancelAt, of: pages) >= pages {
                        throw RunPlan.InputError(flag: "--cancel-at", "\(cancelAt) of the \(pages) plugged "
                            + "\(ByteSize.format(page)) pages of --plugged \(fraction) (\(backend.rawValue)) is every page: "
                            + "the emulation's copy would complete before its cancel")
                    }
                }
            }
        }
        if guestLayout != .prefix {
            let block = GuestLayout.memoryBlockSize
            for fraction in pluggedFractions where fraction > 0 {
                let blocks = Int((fraction * Double(size / blockSize)).rounded()) * blockSize / block
                guard blocks >= 2 else {
                    throw RunPlan.InputError(flag: "--guest-layout", "\(guestLayout.rawValue) offlines memory blocks of "
                        + "128MiB and needs at least two plugged; --plugged \(fraction) of \(ByteSize.format(size)) plugs "
                        + "\(blocks == 0 ? "less than one" : "one")")
                }
            }
        }
    }

    /// Bytes the guest is asked to plug: whole blocks.
    public func requested(_ fraction: Double) -> Int {
        Int((fraction * Double(size / Self.blockSize)).rounded()) * Self.blockSize
    }

    /// Why a case cannot run on this host's hugetlb pool: the snapshot populates what is plugged
    /// (all of it for plain RAM), a huge page each 2 MiB, and QEMU dies of SIGBUS when the pool is out.
    public func poolProblem(_ item: Case) -> String? {
        guard item.backend.isHugetlb, !force else { return nil }
        let populated = item.pluggedFraction.map(requested) ?? size
        let needed = populated / (2 << 20)
        let free = SysfsMM.hugePagePool(pageSize: 2 << 20)?.free ?? 0
        guard needed > free else { return nil }
        return "the snapshot populates \(ByteSize.format(populated)) of hugetlb memory: \(needed) free 2MiB huge pages "
            + "needed, the pool has \(free) (QEMU would die of SIGBUS; grow it: scripts/setup.sh --hugepages \(needed), "
            + "or --force to see that)"
    }
}

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

    public var columns: [String] { QEMUTable.columns }
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

    public func rows(_ outcome: QEMUComparison, repetition: Int, run: RunInfo) -> [[String: String]] {
        QEMUTable.rows(outcome, repetition: repetition, run: run, plan: plan)
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

/// A real snapshot and its emulation.
public struct QEMUComparison: Sendable {
    public var item: QEMUPlan.Case
    public var real: RealSnapshot.Result
    public var emulationConfig: TrialConfig
    public var emulation: TrialResult?

    /// What the real QEMU process gained over the snapshot. Data is RssAnon + RssShmem +
    /// HugetlbPages: the file pages QEMU's and libc's code adds when the migration code first
    /// runs are page cache, not memory the snapshot allocates.
    public var realGain: (pte: Int, data: Int)? {
        guard real.status == .ok, let before = real.before?.status, let after = real.after?.status else { return nil }
        func data(_ status: ProcStatus) -> Int { status.rssAnon + status.rssShmem + status.hugetlbPages }
        return (after.vmPTE - before.vmPTE, data(after) - data(before))
    }

    /// The emulation's populate, protect and copy together, data counted as for the real process.
    public var emulatedGain: (pte: Int, data: Int)? {
        guard let emulation, emulation.status == .ok else { return nil }
        let phases = emulation.phases
        return (phases.reduce(0) { $0 + $1.delta.pteBytes },
                phases.reduce(0) { $0 + $1.delta.rssAnonBytes + $1.delta.rssShmemBytes + $1.delta.hugetlbBytes })
    }

    /// Data the emulation's region gained (the counterpart of `deviceDataGain`): populate and protect
    /// touch nothing else, and the copy's part is measured on the region alone.
    public var emulatedDeviceGain: Int? {
        guard let emulation, emulation.status == .ok else { return nil }
        return emulation.phases.reduce(0) { total, phase in
            total + (phase.phase == .snapshot ? phase.regionDataBytes ?? 0
                : phase.delta.rssAnonBytes + phase.delta.rssShmemBytes + phase.delta.hugetlbBytes)
        }
    }

    /// The model's expectation for the same.
    public var expected: (pte: Int, data: Int)? {
        guard let emulation, emulation.status == .ok else { return nil }
        let phases = emulation.phases
        return (phases.reduce(0) { $0 + $1.expected.pageTableBytes }, phases.reduce(0) { $0 + $1.expected.dataBytes })
    }

    /// Data the tested memory's own mapping gained (the rest is QEMU's own allocations).
    public var deviceDataGain: Int? {
        guard real.status == .ok, let before = real.deviceDataBefore, let after = real.deviceDataAfter else { return nil }
        return after - before
    }
}
