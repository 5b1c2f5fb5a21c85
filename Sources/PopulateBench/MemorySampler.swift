import Foundation
import LinuxMM
import Synchronization

/// A thread that reads `/proc/self/status` every `interval` while a phase runs and keeps what
/// it read: the snapshot's sampler loop (`SnapshotRun.sampler`) as a type of its own, so that
/// what it costs the phase it samples can be measured (Benchmarks/SamplerPerturbation), with
/// `ProcStatusReader` instead of `ProcStatus.current()` (a tenth of the CPU time).
public final class MemorySampler: @unchecked Sendable {
    public let interval: Double
    private let samples = Mutex<[MemorySample]>([])
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    private let threadCPUSeconds = Mutex<Double>(0)

    /// Starts sampling at once, on a thread of its own.
    public init(interval: Double) {
        self.interval = interval
        let start = MonotonicClock.now()
        Thread { [self] in
            let cpuStart = (try? ResourceUsage.currentThread())?.cpuSeconds ?? 0
            let reader = try? ProcStatusReader()
            while !stopping.load(ordering: .acquiring) {
                if let status = try? reader?.read() ?? ProcStatus.current() {
                    let sample = MemorySample(seconds: MonotonicClock.now() - start, rssBytes: status.vmRSS,
                                              pteBytes: status.vmPTE, rssShmemBytes: status.rssShmem,
                                              hugetlbBytes: status.hugetlbPages)
                    samples.withLock { $0.append(sample) }
                }
                Thread.sleep(forTimeInterval: interval)
            }
            let cpuEnd = (try? ResourceUsage.currentThread())?.cpuSeconds ?? cpuStart
            threadCPUSeconds.withLock { $0 = cpuEnd - cpuStart }
            stopped.signal()
        }.start()
    }

    /// Stops the thread (call once) and returns every sample it took and the CPU time its
    /// thread used: what it can take from a phase that shares its CPU.
    public func stop() -> (samples: [MemorySample], cpuSeconds: Double) {
        stopping.store(true, ordering: .releasing)
        stopped.wait()
        return (samples.withLock { $0 }, threadCPUSeconds.withLock { $0 })
    }
}
