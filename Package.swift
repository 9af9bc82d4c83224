// swift-tools-version:6.0
import PackageDescription

// The module graph, bottom up (no back-edges; formats never see the .ingot
// container):
//   IngotCore ← IngotCodec, IngotQuant (and OpenBLAS), IngotArchitectures
//   IngotContainer (core, codec, quant)   IngotFormats (core, quant, architectures)
//   IngotPipeline (container, formats)    IngotRuntime (core, quant, architectures)
//   IngotCommands → ingot
let package = Package(
  name: "Ingot",
  products: [
    .executable(name: "ingot", targets: ["ingot"]),
    .library(name: "IngotCore", targets: ["IngotCore"]),
    .library(name: "IngotContainer", targets: ["IngotContainer"]),
    .library(name: "IngotFormats", targets: ["IngotFormats"]),
    .library(name: "IngotPipeline", targets: ["IngotPipeline"]),
    .library(name: "IngotRuntime", targets: ["IngotRuntime"]),
    .library(name: "IngotArchitectures", targets: ["IngotArchitectures"]),
    .library(name: "IngotTokenizers", targets: ["IngotTokenizers"]),
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
      name: "IngotCore",
      dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "IngotCodec",
      dependencies: ["IngotCore", "CZstd"]),
    .target(
      name: "IngotQuant",
      dependencies: ["IngotCore", "COpenBLAS"]),
    .target(
      name: "IngotTokenizers",
      dependencies: ["IngotCore"]),
    .target(
      name: "IngotArchitectures",
      dependencies: ["IngotCore"]),
    .target(
      name: "IngotContainer",
      dependencies: ["IngotCore", "IngotCodec", "IngotQuant", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "IngotFormats",
      dependencies: ["IngotCore", "IngotQuant", "IngotArchitectures", "CZlib"]),
    .target(
      name: "IngotRuntime",
      dependencies: ["IngotCore", "IngotQuant", "IngotArchitectures", "COpenBLAS"]),
    .target(
      name: "IngotPipeline",
      dependencies: ["IngotCore", "IngotContainer", "IngotFormats", "IngotQuant", "IngotArchitectures"]),
    .target(
      name: "IngotCommands",
      dependencies: [
        "IngotCore", "IngotContainer", "IngotFormats", "IngotPipeline", "IngotQuant", "IngotRuntime", "IngotArchitectures", "IngotTokenizers",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(name: "ingot", dependencies: ["IngotCommands"]),
    .executableTarget(
      name: "ingot-bench",
      dependencies: ["IngotCore", "IngotContainer", "IngotPipeline", "IngotQuant", "IngotRuntime", "IngotArchitectures", "COpenBLAS"],
      path: "Benchmarks/ingot-bench"),

    .target(
      name: "IngotTestSupport",
      dependencies: ["IngotCore", "IngotContainer", "IngotFormats", "IngotCommands"],
      path: "Tests/IngotTestSupport"),
    .testTarget(
      name: "IngotTests",
      dependencies: [
        "IngotCore", "IngotContainer", "IngotFormats", "IngotPipeline", "IngotCommands", "IngotQuant", "IngotCodec", "IngotRuntime",
        "IngotArchitectures", "IngotTokenizers", "IngotTestSupport", "CZstd", "CZlib", "COpenBLAS", "ingot",
      ],
      exclude: ["Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
