// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "PopulateBench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bench", targets: ["bench"]),
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
        .target(
            name: "PopulateBench",
            dependencies: [
                "LinuxMM",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "bench",
            dependencies: [
                "PopulateBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "LinuxMMTests", dependencies: ["LinuxMM"]),
        .testTarget(name: "PopulateBenchTests", dependencies: ["PopulateBench", "LinuxMM"]),
    ],
    swiftLanguageModes: [.v6]
)
