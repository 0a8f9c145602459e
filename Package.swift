// swift-tools-version:6.1

import PackageDescription

let package = Package(
    name: "lode-archiver",
    products: [
        .executable(name: "archiver", targets: ["archiver"]),
        .library(name: "Lode", targets: ["Lode"]),
        .library(name: "LodeS3", targets: ["LodeS3"]),
        .library(name: "RawJSON", targets: ["RawJSON"]),
        .library(name: "ArchiveFormat", targets: ["ArchiveFormat"]),
        .library(name: "ArchiverCore", targets: ["ArchiverCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // C libraries: one system-library target each, imported by exactly one Swift module.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // C wrappers.
        .target(name: "Zstd", dependencies: ["CZstd"]),
        .target(name: "Gzip", dependencies: ["CZlib"]),

        // What every module shares: hex, duration arithmetic.
        .target(name: "Basics"),

        // Formats.
        .target(name: "RawJSON"),
        .target(
            name: "Lode",
            dependencies: ["Basics", "Zstd", "Gzip", "RawJSON", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The S3-compatible object store (AWS Signature V4 on swift-crypto, HTTP on async-http-client).
        .target(
            name: "LodeS3",
            dependencies: [
                "Basics", "Lode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "ArchiveFormat",
            dependencies: ["Basics", "RawJSON", "Lode", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Coordination store.
        .target(
            name: "Coordination",
            dependencies: ["Basics", "RawJSON", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CoordinationSQLite", dependencies: ["Basics", "Coordination", "CSQLite"]),
        .target(
            name: "CoordinationPostgres",
            dependencies: ["Basics", "Coordination", "CLibPQ", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Use cases: flush, replay, audit.
        .target(
            name: "ArchiverCore",
            dependencies: [
                "Basics", "Lode", "ArchiveFormat", "Coordination", "RawJSON",
                .product(name: "Crypto", package: "swift-crypto"),
                // Upcaster rule files (Upcast/UpcastRuleSet+YAML.swift): YAML with line numbers for errors.
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // The configuration model: typed keys with one default each, the file, the environment, one resolver.
        .target(name: "ArchiverConfiguration", dependencies: ["Basics", .product(name: "Yams", package: "Yams")]),

        // Sidecar: `archiver serve` (HTTP API, scheduled flush, metrics, auth).
        .target(
            name: "ArchiverServer",
            dependencies: [
                "ArchiverConfiguration", "ArchiverCore", "ArchiveFormat", "Basics", "Coordination", "Lode", "RawJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // CLI: argument parsing and wiring only.
        .executableTarget(
            name: "archiver",
            dependencies: [
                "ArchiverCore", "Basics", "Lode", "LodeS3", "ArchiveFormat", "Coordination", "CoordinationSQLite",
                "CoordinationPostgres", "RawJSON", "Zstd", "ArchiverConfiguration", "ArchiverServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The Swift Projection API in use (examples/BalancesProjection/main.swift).
        .executableTarget(
            name: "balances-example", dependencies: ["ArchiverCore", "Lode", "RawJSON"],
            path: "examples/BalancesProjection"),

        // A Swift app that keeps its events in the sidecar over HTTP (examples/BankSidecar/main.swift).
        .executableTarget(name: "bank-sidecar-example", path: "examples/BankSidecar"),

        // What several test targets share: reference tools run off the cooperative pool, an SSE parser.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ZstdTests", dependencies: ["Zstd", "Gzip", "TestSupport"]),
        .testTarget(name: "RawJSONTests", dependencies: ["RawJSON"]),
        .testTarget(
            name: "LodeTests", dependencies: ["Lode", "LodeS3", "Zstd", "Gzip", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LodeS3Tests",
            dependencies: [
                "LodeS3", "Lode", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Reference"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ArchiveFormatTests", dependencies: ["ArchiveFormat", "Basics", "RawJSON", "Lode", "TestSupport"]),
        .testTarget(
            name: "CoordinationTests",
            dependencies: ["Coordination", "CoordinationSQLite", "CoordinationPostgres", "TestSupport"]
        ),
        .testTarget(
            name: "ArchiverCoreTests",
            dependencies: [
                "ArchiverCore", "Lode", "ArchiveFormat", "Coordination", "CoordinationSQLite", "RawJSON", "Zstd",
                "TestSupport",
            ]
        ),
        .testTarget(name: "ArchiverConfigurationTests", dependencies: ["ArchiverConfiguration"]),
        .testTarget(
            name: "ArchiverServerTests",
            dependencies: [
                "ArchiverServer", "ArchiverConfiguration", "ArchiverCore", "Coordination", "CoordinationSQLite", "Lode",
                "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "ArchiverCLITests", dependencies: ["ArchiverConfiguration", "Lode", "LodeS3", "TestSupport"],
            exclude: ["Fixtures"]),
    ]
)

for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
