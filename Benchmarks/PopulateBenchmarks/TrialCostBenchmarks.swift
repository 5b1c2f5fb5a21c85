import Benchmark
import Foundation
import LinuxMM
import PopulateBench

extension BenchmarkMetric {
    /// A trial's wall time less its measured phases: what the harness, not the kernel, costs.
    static var trialOverheadMicroseconds: BenchmarkMetric {
        .custom("trialOverheadMicroseconds", polarity: .prefersSmaller, useScalingFactor: false)
    }
}

/// `bench-trial`, which this package builds beside its own executable (a dependency on the root's
/// executable product), or the root package's release build.
let trialExecutable: URL = {
    let here = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]).deletingLastPathComponent()
    return here.appendingPathComponent(ChildTrialLauncher.trialExecutableName)
}()

/// A trial's fixed cost (docs/overhead.md): spawn `bench-trial`, hand it a 128 MiB `none` trial,
/// read its result back, as `bench run` does for every trial. The wall clock is spawn to result;
/// `trialOverheadMicroseconds` is that less the trial's measured phases. A change that brings
/// back the 0.2 s a trial cost before (libcurl in the child, a 50 ms poll, a 32 MiB heap touched)
/// is several times the recorded p90 and fails `thresholds check`.
func trialCostBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, BenchmarkMetric.trialOverheadMicroseconds],
        warmupIterations: 2,
        maxDuration: .seconds(10),
        maxIterations: 40,
        thresholds: [.wallClock: Tolerance.time, BenchmarkMetric.trialOverheadMicroseconds: Tolerance.time]
    )
    Benchmark("trial-fixed-cost-anon-private-128MiB-none", configuration: configuration) { benchmark in
        let host = HostCapabilities.probe()
        let config = TrialConfig(backend: .anonPrivate, regionBytes: 128 << 20, pageBytes: host.basePageSize,
                                 blockBytes: 2 << 20, layout: .named(.random), thp: .nohuge, pluggedFraction: 0.25,
                                 residentFraction: 0.5, strategy: .none, seed: TrialConfig.defaultSeed)
        let launcher = ChildTrialLauncher(executable: trialExecutable, timeout: 60)
        benchmark.startMeasurement()
        let result = TrialResult.timed { launcher.run(TrialRequest(config: config, host: host, checksPoolSize: true)) }
        benchmark.stopMeasurement()
        guard result.status == .ok, let overhead = result.overheadSeconds else {
            fatalError("the trial did not run: \(result.status) \(result.reason) (\(trialExecutable.path))")
        }
        benchmark.measurement(BenchmarkMetric.trialOverheadMicroseconds, Int(overhead * 1e6))
    }
}
