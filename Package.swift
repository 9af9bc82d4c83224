// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Ingot",
  products: [
    .executable(name: "ingot", targets: ["ingot"]),
    .library(name: "IngotContainer", targets: ["IngotContainer"]),
    .library(name: "IngotFormats", targets: ["IngotFormats"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
  ],
  targets: [
    // System libraries: declared once so the install path (apt: libzstd-dev,
    // libopenblas-dev) is settled for every later module.
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

    .target(
      name: "IngotCodec",
      dependencies: ["CZstd"]),
    .target(
      name: "IngotContainer",
      dependencies: ["IngotCodec", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "IngotFormats",
      dependencies: ["IngotContainer", "CZlib"]),
    .target(
      name: "IngotQuant",
      dependencies: ["IngotContainer"]),
    .target(
      name: "IngotRuntime",
      dependencies: ["IngotContainer", "IngotQuant", "COpenBLAS", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "IngotPipeline",
      dependencies: ["IngotContainer", "IngotFormats", "IngotQuant"]),
    .target(
      name: "IngotCommands",
      dependencies: [
        "IngotContainer", "IngotFormats", "IngotPipeline", "IngotQuant", "IngotRuntime",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(name: "ingot", dependencies: ["IngotCommands"]),

    .target(
      name: "IngotTestSupport",
      dependencies: ["IngotContainer", "IngotFormats"],
      path: "Tests/IngotTestSupport"),
    .testTarget(
      name: "IngotTests",
      dependencies: [
        "IngotContainer", "IngotFormats", "IngotPipeline", "IngotCommands", "IngotQuant", "IngotCodec", "IngotRuntime",
        "IngotTestSupport", "CZstd", "COpenBLAS", "ingot",
      ],
      exclude: ["Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
