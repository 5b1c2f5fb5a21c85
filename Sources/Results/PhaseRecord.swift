import Foundation
import PopulateBench

/// One row of the raw CSV as typed data: a phase of a trial, with the run and repetition it
/// belongs to. `TrialColumns` turns it into cells.
public struct PhaseRecord: Sendable {
    /// What a row measured: the harness's own trial, or a real QEMU process seen from outside.
    public enum Subject: Sendable, Equatable {
        case trial
        /// A real QEMU's snapshot (`bench qemu`), beside the emulation whose configuration the row
        /// carries: virtio-mem memory plugged to `pluggedFraction`, or the control (the same memory
        /// as plain guest RAM) when nil. `modelled`: the model predicted its gains.
        case qemuProcess(pluggedFraction: Double?, modelled: Bool)

        /// The `strategy` cell of a real QEMU's row.
        public static let qemuStrategy = "qemu-real"
        public static let qemuControlStrategy = "qemu-real-ram"
    }

    public var run: RunInfo
    public var repetition: Int
    public var result: TrialResult
    public var phase: PhaseResult
    public var subject: Subject

    public init(run: RunInfo, repetition: Int, result: TrialResult, phase: PhaseResult, subject: Subject = .trial) {
        self.run = run
        self.repetition = repetition
        self.result = result
        self.phase = phase
        self.subject = subject
    }

    public var config: TrialConfig { result.config }
    public var isOK: Bool { result.status == .ok }
    /// Whether the model predicts this phase: population, protection and a snapshot without writers.
    public var modelsPhase: Bool {
        if case let .qemuProcess(_, modelled) = subject { return modelled }
        return phase.phase != .snapshot || (config.snapshot?.writers == 0 && config.snapshot?.cancelAt == nil)
    }
    /// What only the harness's own trial can see (its CPU time, faults, bytes touched, placement):
    /// not inside a QEMU process.
    public var seenFromInside: Bool { subject == .trial }

    /// The `strategy` cell: the trial's strategy, or what a real QEMU's row is.
    public var strategyName: String {
        guard case let .qemuProcess(fraction, _) = subject else { return config.strategy.rawValue }
        return fraction == nil ? Subject.qemuControlStrategy : Subject.qemuStrategy
    }

    /// The `plugged_fraction` cell's value: a real QEMU's own, else the configuration's.
    public var pluggedFraction: Double {
        if case let .qemuProcess(fraction?, _) = subject { return fraction }
        return config.pluggedFraction
    }

    /// The records of one trial: one per phase it has, or, skipped or failed, per phase it would have had.
    public static func records(_ result: TrialResult, repetition: Int, run: RunInfo) -> [PhaseRecord] {
        let phases = result.phases.isEmpty
            ? ([.populate, .protect] + (result.config.snapshot == nil ? [] : [.snapshot])).map { PhaseResult(phase: $0) }
            : result.phases
        return phases.map { PhaseRecord(run: run, repetition: repetition, result: result, phase: $0) }
    }
}

/// Which invocation rows come from.
public struct RunInfo: Sendable {
    public var runID: String
    public var host: String
    public var kernel: String
    public init(runID: String, host: String, kernel: String) {
        self.runID = runID
        self.host = host
        self.kernel = kernel
    }

    /// A run of this process, starting now, on `host`.
    public init(startingOn host: HostCapabilities) {
        self.init(runID: Self.makeID(), host: host.hostName, kernel: host.kernel)
    }

    /// `20250101T120000Z-1234`: when the run began (UTC) and the process that ran it.
    public static func makeID() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(formatter.string(from: Date()))-\(getpid())"
    }
}
