import Benchmark
import LinuxMM
import PopulateBench

/// What the populate benchmarks read from `/proc/self/status` around the measured part.
enum MemoryMetric {
    /// Growth of `VmPTE`: the page tables the kernel built. Exact, so it is gated with a tolerance
    /// of two tables against the first-principles value (see README.md).
    static var pageTableBytes: BenchmarkMetric {
        .custom("pageTableBytes", polarity: .prefersSmaller, useScalingFactor: false)
    }

    /// Growth of the backend's data counter (`RssAnon`, `RssShmem`). The RSS counters are per-CPU
    /// and lag by a few dozen pages, so the tolerance is wider.
    static var dataBytes: BenchmarkMetric {
        .custom("dataBytes", polarity: .prefersSmaller, useScalingFactor: false)
    }

    /// The maximal plugged runs one `replayPopulated` hands out: fixed by the seed, so gated exactly.
    static var pluggedRuns: BenchmarkMetric {
        .custom("pluggedRuns", polarity: .prefersSmaller, useScalingFactor: false)
    }
}

/// Tolerances that `swift package benchmark thresholds check` applies to the p90 values in
/// `Thresholds/`. Times vary with whatever else this 2-core shared VM is doing: up to 3x the
/// recorded p90 passes (and no speed-up is flagged). Page tables are exact; RSS lags.
enum Tolerance {
    static var time: BenchmarkThresholds { BenchmarkThresholds(relative: [.p90: 200.0]) }
    static var pageTables: BenchmarkThresholds { BenchmarkThresholds(absolute: [.p90: 2 * 4096]) }
    static var rss: BenchmarkThresholds { BenchmarkThresholds(absolute: [.p90: 256 << 10]) }
    static var exact: BenchmarkThresholds { BenchmarkThresholds(absolute: [.p90: 0]) }
    static var allocations: BenchmarkThresholds { BenchmarkThresholds(relative: [.p90: 5.0]) }

    static var timing: [BenchmarkMetric: BenchmarkThresholds] { [.wallClock: time, .cpuTotal: time] }
}

let regionSize = 64 << 20

extension Strategy.PopulateMethod {
    /// The names QEMU and the kernel use: `populate_read_range`'s byte reads, or the madvise.
    var benchmarkLabel: String {
        switch self {
        case .touch: "full-touch"
        case .madvise: "MADV_POPULATE_READ"
        }
    }
}

extension ProcStatus {
    /// The counter a backend's data pages are charged to (`Backend.dataCounter`).
    func dataBytes(of backend: Backend) -> Int {
        switch backend {
        case .anonPrivate: rssAnon
        case .anonShared, .memfdShmem: rssShmem
        case .memfdHugetlb, .hugetlbfs: hugetlbPages
        }
    }
}

/// A region allocated for one iteration and torn down after it, so that every populate starts
/// with nothing present and no page table built. `.nohuge` keeps the page-table cost independent
/// of the host's THP setting.
func withFreshRegion(_ backend: Backend, size: Int = regionSize, _ body: (Region) throws -> Void) throws {
    let region = try Region.allocate(.init(backend: backend, size: size,
                                           pageSize: KernelInfo.pageSize, thp: .nohuge))
    do {
        try body(region)
    } catch {
        try? region.teardown()
        throw error
    }
    try region.teardown()
}

let benchmarks: @Sendable () -> Void = {
    scaleBenchmarks()
    samplerBenchmarks()
    trialCostBenchmarks()

    let populateConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, MemoryMetric.pageTableBytes, MemoryMetric.dataBytes],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 25,
        thresholds: Tolerance.timing.merging([MemoryMetric.pageTableBytes: Tolerance.pageTables,
                                              MemoryMetric.dataBytes: Tolerance.rss]) { $1 }
    )

    for backend in [Backend.anonPrivate, .memfdShmem] {
        for method in [Strategy.PopulateMethod.touch, .madvise] {
            // No spaces or slashes in names: `thresholds update` writes them as `_` in the file
            // name, but `thresholds check` looks the file up by the name as it is.
            let name = "populate-\(method.benchmarkLabel)-\(backend.rawValue)-64MiB"
            Benchmark(name, configuration: populateConfiguration) { benchmark in
                try withFreshRegion(backend) { region in
                    let before = try ProcStatus.current()
                    benchmark.startMeasurement()
                    switch method {
                    case .touch: blackHole(Population.touch(region.mapping, stride: region.pageSize))
                    case .madvise: try Population.adviseRead(region.mapping)
                    }
                    benchmark.stopMeasurement()
                    let after = try ProcStatus.current()
                    benchmark.measurement(MemoryMetric.pageTableBytes, after.vmPTE - before.vmPTE)
                    // A lagging RSS counter can even shrink; the histogram would drop a negative sample.
                    benchmark.measurement(MemoryMetric.dataBytes,
                                          max(0, after.dataBytes(of: backend) - before.dataBytes(of: backend)))
                }
            }
        }
    }

    // 32768 blocks, 8192 plugged at random: the many-runs case of QEMU's RamDiscardManager replay.
    // Each iteration replays it a thousand times, so CPU time (counted in 10 ms ticks) means something.
    Benchmark(
        "replayPopulated-64GiB-2MiB-25pct-random",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, MemoryMetric.pluggedRuns],
            warmupIterations: 1,
            scalingFactor: .kilo,
            maxDuration: .seconds(3),
            maxIterations: 25,
            thresholds: Tolerance.timing.merging([MemoryMetric.pluggedRuns: Tolerance.exact]) { $1 }
        )
    ) { benchmark, map in
        var runs = 0
        for _ in benchmark.scaledIterations {
            runs = 0
            map.replayPopulated { _ in runs += 1 }
            blackHole(runs)
        }
        benchmark.measurement(MemoryMetric.pluggedRuns, runs)
    } setup: {
        DiscardMap(regionSize: 64 << 30, blockSize: 2 << 20, pluggedFraction: 0.25, layout: .random, seed: 1)
    }

    // One sample of the sampler's two sources, a thousand per iteration.
    let sampleConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50,
        thresholds: Tolerance.timing.merging([.mallocCountTotal: Tolerance.allocations]) { $1 }
    )

    Benchmark("ProcStatus.current", configuration: sampleConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ProcStatus.current())
        }
    }

    // The sampler's reader: one pread of a file kept open, parsed in place. It allocates nothing
    // per read; the dozen or so allocations per 1000 reads are the framework's, so they are gated
    // in absolute terms (5% of 16 is not even one).
    var readerConfiguration = sampleConfiguration
    readerConfiguration.thresholds = Tolerance.timing.merging([.mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 20])]) { $1 }
    Benchmark("ProcStatusReader.read", configuration: readerConfiguration) { (benchmark: Benchmark, reader: ProcStatusReader) in
        for _ in benchmark.scaledIterations {
            blackHole(try reader.read())
        }
    } setup: { () throws -> ProcStatusReader in
        try ProcStatusReader()
    }

    Benchmark("MemInfo.current", configuration: sampleConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try MemInfo.current())
        }
    }
}
