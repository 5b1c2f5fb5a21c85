import Foundation
import LinuxMM
import Synchronization

/// Runs a `ProcessSampler` on a thread of its own and keeps every sample with the phase it was
/// taken in, so a caller can sample a process before, during and after something it does.
public final class SamplingThread: Sendable {
    public struct Labelled: Sendable {
        public var phase: String
        public var sample: ProcessSample
    }

    public let sampler: ProcessSampler
    /// The `MonotonicClock` reading the samples' seconds count from.
    public let start: Double
    /// Each phase and when it began, in the samples' seconds: a sample belongs to the last phase
    /// that began before its time, whenever the thread gets to record it.
    private let phases: Mutex<[(name: String, since: Double)]>
    private let samples = Mutex<[Labelled]>([])
    private let stopRequested = Atomic<Bool>(false)
    private let ending = Mutex<ProcessSampler.Ending?>(nil)
    private let threadCPUSeconds = Mutex<Double>(0)
    private let done = DispatchSemaphore(value: 0)

    /// Starts sampling at once, in `phase`.
    public init(_ sampler: ProcessSampler, phase: String, start: Double = MonotonicClock.now()) {
        self.sampler = sampler
        self.start = start
        phases = Mutex([(phase, -Double.infinity)])
        let thread = Thread { [self] in
            let cpuStart = (try? ResourceUsage.currentThread())?.cpuSeconds ?? 0
            let result = sampler.run(since: start, stop: { stopRequested.load(ordering: .acquiring) }) { sample in
                let label = phases.withLock { list in (list.last { $0.since <= sample.seconds } ?? list[0]).name }
                samples.withLock { $0.append(Labelled(phase: label, sample: sample)) }
            }
            let cpuEnd = (try? ResourceUsage.currentThread())?.cpuSeconds ?? cpuStart
            threadCPUSeconds.withLock { $0 = cpuEnd - cpuStart }
            ending.withLock { $0 = result }
            done.signal()
        }
        thread.start()
    }

    /// Samples taken from now on belong to `phase`.
    public func enter(_ phase: String) {
        let since = MonotonicClock.now() - start
        phases.withLock { $0.append((phase, since)) }
    }

    /// How sampling ended, or nil while it goes on.
    public var ended: ProcessSampler.Ending? { ending.withLock { $0 } }

    /// Every sample so far.
    public var taken: [Labelled] { samples.withLock { $0 } }

    /// Samples taken from index `from` on (for writing them as they come).
    public func taken(from index: Int) -> [Labelled] {
        samples.withLock { Array($0[min(index, $0.count)...]) }
    }

    /// The CPU time the sampling thread used: what it can take from work that shares its CPU.
    /// Complete once `stop()` returned.
    public var cpuSeconds: Double { threadCPUSeconds.withLock { $0 } }

    /// Stops sampling and waits for the thread; returns how it ended.
    @discardableResult
    public func stop() -> ProcessSampler.Ending {
        stopRequested.store(true, ordering: .releasing)
        done.wait()
        done.signal()
        return ending.withLock { $0 } ?? .stopped
    }
}
