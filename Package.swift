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
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
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

        // Formats.
        .target(name: "RawJSON"),
        .target(
            name: "Lode",
            dependencies: ["Zstd", "Gzip", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The S3-compatible object store (AWS Signature V4 on swift-crypto, HTTP on async-http-client).
        .target(
            name: "LodeS3",
            dependencies: [
                "Lode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "ArchiveFormat",
            dependencies: ["RawJSON", "Lode", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Coordination store.
        .target(name: "Coordination", dependencies: ["RawJSON", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CoordinationSQLite", dependencies: ["Coordination", "CSQLite"]),
        .target(
            name: "CoordinationPostgres",
            dependencies: ["Coordination", "CLibPQ", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Use cases: flush, replay, audit.
        .target(
            name: "ArchiverCore",
            dependencies: [
                "Lode", "ArchiveFormat", "Coordination", "RawJSON",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // CLI: argument parsing and wiring only.
        .executableTarget(
            name: "archiver",
            dependencies: [
                "ArchiverCore", "Lode", "LodeS3", "ArchiveFormat", "Coordination", "CoordinationSQLite",
                "CoordinationPostgres", "RawJSON", "Zstd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The Swift Projection API in use (examples/BalancesProjection/main.swift).
        .executableTarget(
            name: "balances-example", dependencies: ["ArchiverCore", "Lode", "RawJSON"],
            path: "examples/BalancesProjection"),

        .testTarget(name: "ZstdTests", dependencies: ["Zstd", "Gzip"]),
        .testTarget(name: "RawJSONTests", dependencies: ["RawJSON"]),
        .testTarget(
            name: "LodeTests", dependencies: ["Lode", "LodeS3", "Zstd", "Gzip"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LodeS3Tests",
            dependencies: [
                "LodeS3", "Lode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Reference"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "ArchiveFormatTests", dependencies: ["ArchiveFormat", "RawJSON", "Lode"]),
        .testTarget(
            name: "CoordinationTests",
            dependencies: ["Coordination", "CoordinationSQLite", "CoordinationPostgres"]
        ),
        .testTarget(
            name: "ArchiverCoreTests",
            dependencies: [
                "ArchiverCore", "Lode", "ArchiveFormat", "Coordination", "CoordinationSQLite", "RawJSON",
            ]
        ),
        .testTarget(name: "ArchiverCLITests", dependencies: ["Lode", "LodeS3"], exclude: ["Fixtures"]),
    ]
)

for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
