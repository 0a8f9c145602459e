// swift-tools-version:6.1
// Micro-benchmarks, in their own package so that building the product never resolves benchmark dependencies.
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark

import PackageDescription

let package = Package(
    name: "lode-archiver-benchmarks",
    dependencies: [
        .package(name: "lode-archiver", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "FormatBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ArchiveFormat", package: "lode-archiver"),
                .product(name: "RawJSON", package: "lode-archiver"),
            ],
            path: "Benchmarks/FormatBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
