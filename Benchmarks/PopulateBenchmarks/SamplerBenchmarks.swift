import Benchmark
import Foundation
import LinuxMM
import PopulateBench
import Synchronization

extension MemoryMetric {
    /// Populate time of a fresh region with no sampler running, in nanoseconds.
    static var populateAloneNanoseconds: BenchmarkMetric {
        .custom("populateAloneNanoseconds", polarity: .prefersSmaller, useScalingFactor: false)
    }

    /// Populate time of a fresh region while the snapshot's sampler reads `/proc/self/status`.
    static var populateSampledNanoseconds: BenchmarkMetric {
        .custom("populateSampledNanoseconds", polarity: .prefersSmaller, useScalingFactor: false)
    }

    /// The sampler thread's CPU time as a share of the sampled populate, in per mille: what it
    /// can take from the phase when the two share a CPU.
    static var samplerCPUPermille: BenchmarkMetric {
        .custom("samplerCPUPermille", polarity: .prefersSmaller, useScalingFactor: false)
    }
}

/// What the snapshot's 1 ms sampler costs the phase it samples (docs/snapshot.md, "Sampler
/// perturbation"): each iteration populates two fresh 4 GiB regions, one alone and one with a
/// 1 ms sampler running (the snapshot's own: `SamplingThread` over `ProcessSampler`), in alternating order (ABBA over iterations), so the two medians see
/// the same drift of the machine. The perturbation is p50(sampled) / p50(alone) - 1.
func samplerBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [MemoryMetric.populateAloneNanoseconds, MemoryMetric.populateSampledNanoseconds,
                  MemoryMetric.samplerCPUPermille],
        warmupIterations: 1,
        maxDuration: .seconds(60),
        maxIterations: 21,
        thresholds: [MemoryMetric.populateAloneNanoseconds: Tolerance.time,
                     MemoryMetric.populateSampledNanoseconds: Tolerance.time,
                     MemoryMetric.samplerCPUPermille: Tolerance.time]
    )
    for method in [Strategy.PopulateMethod.madvise, .touch] {
        let iteration = Atomic<Int>(0)
        Benchmark("sampler-perturbation-\(method.benchmarkLabel)-anon-private-4GiB-1ms",
                  configuration: configuration) { benchmark in
            let sampledFirst = iteration.add(1, ordering: .relaxed).oldValue % 2 == 1
            for sampled in sampledFirst ? [true, false] : [false, true] {
                try withFreshRegion(.anonPrivate, size: 4 << 30) { region in
                    let sampler = sampled ? SamplingThread(ProcessSampler(pid: nil, interval: 0.001), phase: "populate") : nil
                    // The sampler's thread is running before the clock starts.
                    Thread.sleep(forTimeInterval: 0.005)
                    let start = MonotonicClock.nanoseconds()
                    try Population.populate(region.mapping, stride: region.pageSize, method: method)
                    let nanoseconds = Int(MonotonicClock.nanoseconds() - start)
                    if let sampler {
                        sampler.stop()
                        let cpuSeconds = sampler.cpuSeconds
                        benchmark.measurement(MemoryMetric.populateSampledNanoseconds, nanoseconds)
                        benchmark.measurement(MemoryMetric.samplerCPUPermille,
                                              Int(cpuSeconds * 1e12 / Double(nanoseconds)))
                    } else {
                        benchmark.measurement(MemoryMetric.populateAloneNanoseconds, nanoseconds)
                    }
                }
            }
        }
    }

    // The sampler alone for a second: its CPU share at longer intervals, where it falls under 1%.
    for intervalMs in [1, 2, 5, 10, 20] {
        Benchmark("sampler-cpu-\(intervalMs)ms",
                  configuration: .init(metrics: [MemoryMetric.samplerCPUPermille], warmupIterations: 1,
                                       maxDuration: .seconds(10), maxIterations: 5,
                                       thresholds: [MemoryMetric.samplerCPUPermille: Tolerance.time])) { benchmark in
            let sampler = SamplingThread(ProcessSampler(pid: nil, interval: Double(intervalMs) / 1000), phase: "idle")
            let start = MonotonicClock.nanoseconds()
            Thread.sleep(forTimeInterval: 1)
            sampler.stop()
            let cpuSeconds = sampler.cpuSeconds
            benchmark.measurement(MemoryMetric.samplerCPUPermille,
                                  Int(cpuSeconds * 1e12 / Double(MonotonicClock.nanoseconds() - start)))
        }
    }
}
