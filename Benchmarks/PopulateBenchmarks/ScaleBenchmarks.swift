import Benchmark
import LinuxMM
import PopulateBench

extension MemoryMetric {
    /// Pages a placement read counted as mapped to the zeropage: fixed by the region, gated exactly.
    static var zeroPages: BenchmarkMetric {
        .custom("zeroPages", polarity: .prefersSmaller, useScalingFactor: false)
    }
}

/// The scale points that fit a CI machine (1, 4 and 16 GiB; shmem, which allocates what it
/// reads, to 4 GiB): population of a fresh region with the page tables it built, and the read of
/// a populated region's placement that every trial does after each phase (docs/scale.md).
func scaleBenchmarks() {
    let populateConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, MemoryMetric.pageTableBytes],
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 5,
        thresholds: Tolerance.timing.merging([MemoryMetric.pageTableBytes: Tolerance.pageTables]) { $1 }
    )
    let placementConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, MemoryMetric.zeroPages],
        warmupIterations: 1,
        maxDuration: .seconds(10),
        maxIterations: 10,
        thresholds: Tolerance.timing.merging([MemoryMetric.zeroPages: Tolerance.exact]) { $1 }
    )

    let points: [(Backend, Strategy.PopulateMethod, Int)] =
        [1, 4, 16].flatMap { gib in [(Backend.anonPrivate, .madvise, gib), (.anonPrivate, .touch, gib)] }
            + [1, 4].map { (Backend.memfdShmem, .madvise, $0) }
    for (backend, method, gib) in points {
        Benchmark("scale-populate-\(method.benchmarkLabel)-\(backend.rawValue)-\(gib)GiB",
                  configuration: populateConfiguration) { benchmark in
            try withFreshRegion(backend, size: gib << 30) { region in
                let before = try ProcStatus.current()
                benchmark.startMeasurement()
                switch method {
                case .touch: blackHole(Population.touch(region.mapping, stride: region.pageSize))
                case .madvise: try Population.adviseRead(region.mapping)
                }
                benchmark.stopMeasurement()
                benchmark.measurement(MemoryMetric.pageTableBytes, try ProcStatus.current().vmPTE - before.vmPTE)
            }
        }
    }

    // The region is populated once, in setup; each iteration reads where its pages are, as a
    // trial does after populating it. A never-populated region shows what the scan skips.
    for gib in [1, 4, 16] {
        for populated in [true, false] {
            Benchmark("scale-placement-anon-private-\(gib)GiB-\(populated ? "zeropage" : "empty")",
                      configuration: placementConfiguration) { (benchmark: Benchmark, state: (PagemapPlacement, Region)) in
                let (reader, region) = state
                var placement = NUMA.Placement()
                benchmark.startMeasurement()
                placement = try reader.placement(of: region.mapping, pageSize: region.pageSize)
                benchmark.stopMeasurement()
                benchmark.measurement(MemoryMetric.zeroPages, placement.zeroPages)
            } setup: { () throws -> (PagemapPlacement, Region) in
                let region = try Region.allocate(.init(backend: .anonPrivate, size: gib << 30,
                                                       pageSize: KernelInfo.pageSize, thp: .nohuge))
                if populated { try Population.adviseRead(region.mapping) }
                return (try PagemapPlacement.open(), region)
            }
        }
    }
}
