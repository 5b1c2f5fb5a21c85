// swift-tools-version: 6.1
import PackageDescription

// The benchmarks live in a package of their own (the swift-nio layout) so that the root package
// builds fast and has no benchmark-only dependency. Run from this directory:
// `swift package benchmark`; see README.md for thresholds.
let package = Package(
    name: "PopulateBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // The name keeps `package: "PopulateBench"` valid whatever the checkout's folder is called
        // (a path dependency's identity is otherwise its folder name).
        .package(name: "PopulateBench", path: ".."),
        // The malloc interposer only; the default traits would also pull in the Swift 6.3 runtime
        // interposer, which has no local copy here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PopulateBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PopulateBench", package: "PopulateBench"),
                .product(name: "LinuxMM", package: "PopulateBench"),
                // Built beside the benchmarks: the trial-fixed-cost benchmark starts it.
                .product(name: "bench-trial", package: "PopulateBench"),
            ],
            path: "PopulateBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
