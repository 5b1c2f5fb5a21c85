import Foundation
import PopulateBench

/// One row of the raw CSV as typed data: a phase of a trial, with the run and repetition it
/// belongs to. `TrialColumns` turns it into cells.
public struct PhaseRecord: Sendable {
    public var run: RunInfo
    public var repetition: Int
    public var result: TrialResult
    public var phase: PhaseResult

    public init(run: RunInfo, repetition: Int, result: TrialResult, phase: PhaseResult) {
        self.run = run
        self.repetition = repetition
        self.result = result
        self.phase = phase
    }

    public var config: TrialConfig { result.config }
    public var isOK: Bool { result.status == .ok }
    /// Whether the model predicts this phase: population, protection and a snapshot without writers.
    public var modelsPhase: Bool {
        phase.phase != .snapshot || (config.snapshot?.writers == 0 && config.snapshot?.cancelAt == nil)
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
