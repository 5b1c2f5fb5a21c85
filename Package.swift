// swift-tools-version: 6.0
import PackageDescription

// The targets are the architecture (docs/architecture.md): each imports only what is below it.
//   bench (CLI) -> Experiments -> Results, VMM -> PopulateBench -> LinuxMM -> CLinuxMM, CNUMA
//   bench-trial (one trial in a child process) -> PopulateBench
// Only Results links FoundationNetworking (the Pushgateway), so a trial's child maps no libcurl.
let package = Package(
    name: "PopulateBench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "bench-trial", targets: ["bench-trial"]),
        .library(name: "PopulateBench", targets: ["PopulateBench"]),
        .library(name: "LinuxMM", targets: ["LinuxMM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        .target(name: "CLinuxMM"),
        .systemLibrary(
            name: "CNUMA",
            providers: [.apt(["libnuma-dev"])]
        ),
        .target(
            name: "LinuxMM",
            dependencies: ["CLinuxMM", "CNUMA", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // The emulated trial and the model: what a trial's child process runs.
        .target(
            name: "PopulateBench",
            dependencies: [
                "LinuxMM",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // Real VMMs: a QEMU machine, its QMP, its guest's console, a real background snapshot.
        .target(name: "VMM", dependencies: ["PopulateBench", "LinuxMM"]),
        // The column registry and everything made from it: CSV, summary, compare, exports, Pushgateway.
        .target(name: "Results", dependencies: ["PopulateBench", "LinuxMM"]),
        // bench run, bench qemu, doctor --recommend and bench watch as experiments of one run loop.
        .target(name: "Experiments", dependencies: ["PopulateBench", "VMM", "Results", "LinuxMM"]),
        .executableTarget(name: "bench-trial", dependencies: ["PopulateBench"]),
        .executableTarget(
            name: "bench",
            dependencies: [
                "Experiments", "Results", "VMM", "PopulateBench", "LinuxMM", "bench-trial",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "LinuxMMTests", dependencies: ["LinuxMM"]),
        .testTarget(name: "PopulateBenchTests",
                    dependencies: ["PopulateBench", "VMM", "Results", "Experiments", "LinuxMM"]),
    ],
    swiftLanguageModes: [.v6]
)
