import Foundation
import LinuxMM
import PopulateBench
import Results

/// `bench watch`: a live process sampled until it exits, a duration passes or a terminating
/// signal comes; the samples reach their CSV as they are taken, the summary is written at the end.
public struct WatchSession: Sendable {
    public var pid: Int32
    public var interval: Double
    public var duration: Double?
    public var readsNUMAMaps = true
    /// The `/proc/vmstat` counters read at the start and the end (`--monitor`), and the nodes whose
    /// own counters are read too.
    public var vmstatCounters = VMStatMonitor.defaultCounters
    public var vmstatNodes: [Int] = []
    public var outPath: String

    public init(pid: Int32, interval: Double, duration: Double?, outPath: String) {
        self.pid = pid
        self.interval = interval
        self.duration = duration
        self.outPath = outPath
    }

    public struct Outcome: Sendable {
        public var name: String
        public var samples: [ProcessSample]
        public var summary: WatchSummary
        /// Why sampling ended, as the closing line says it.
        public var reason: String
        public var ending: ProcessSampler.Ending
        public var summaryPath: String
        /// 1 when the process became unreadable, 128 + the signal that stopped it, else 0.
        public var exitCode: Int32
        /// Why the summary has no vmstat rows although `--monitor` asked for them.
        public var vmstatProblem: String?
    }

    /// Why the output file cannot be written.
    public struct OutputError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Samples until the process exits, `duration` passes or `signals` catches one; `started`
    /// is told once sampling runs.
    public func run(signals: TerminationSignals, started: (String) -> Void) throws -> Outcome {
        let name = ProcFile.firstLine("/proc/\(pid)/comm") ?? "?"
        var counters: ProcessSampler.Counters = [.system]
        if readsNUMAMaps { counters.insert(.numaMaps) }
        let vmstatStart = try VMStatReading.read(vmstatCounters, nodes: vmstatNodes)
        let start = MonotonicClock.now()
        let sampling = SamplingThread(ProcessSampler(pid: pid, interval: interval, counters: counters), phase: "watch",
                                      start: start)
        let writer: WatchWriter
        do {
            writer = try WatchWriter(path: outPath, pid: pid, trial: "pid=\(pid) \(name)")
        } catch {
            sampling.stop()
            throw OutputError(description: "\(error)")
        }
        started(name)
        // A write that fails stops the sampling thread too, whatever the error.
        defer { sampling.stop() }
        var reason = ""
        while true {
            if let ended = sampling.ended {
                reason = ended == .processExited ? "the process exited" : "stopped"
                if case let .failed(message) = ended { reason = "the process became unreadable: \(message)" }
                break
            }
            if let signal = signals.caught { reason = Signals.name(signal); break }
            if let duration, MonotonicClock.now() - start >= duration { reason = "--duration passed"; break }
            try writer.write(sampling)
            MonotonicClock.sleep(seconds: min(0.05, interval))
        }
        let ending = sampling.stop()
        try writer.write(sampling)
        // A counter that cannot be read at the end costs its rows, not the samples or the summary.
        var vmstatProblem: String?
        var vmstat: VMStatReadings?
        if let vmstatStart {
            do {
                if let vmstatEnd = try VMStatReading.read(vmstatCounters, nodes: vmstatNodes) {
                    vmstat = VMStatReadings(names: vmstatCounters, start: vmstatStart, end: vmstatEnd)
                }
            } catch {
                vmstatProblem = "the vmstat counters could not be read at the end: \(error)"
            }
        }
        let samples = sampling.taken.map(\.sample)
        let summary = WatchSummary(samples, vmstat: vmstat)
        try writer.finish(summary: summary)
        var exitCode = TerminationSignals.exitCode(signals.caught, otherwise: 0)
        if case .failed = ending { exitCode = 1 }
        return Outcome(name: name, samples: samples, summary: summary, reason: reason, ending: ending,
                       summaryPath: writer.summaryPath, exitCode: exitCode, vmstatProblem: vmstatProblem)
    }
}
