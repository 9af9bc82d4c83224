// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses, one per parser, built apart from the main package
// because every module here is compiled with -sanitize=fuzzer,address
// (tools/fuzz builds and runs them; corpora live in .build, not in git).
let harnesses = ["safetensors", "gguf", "pytorch", "numpy", "onnx", "ingot", "config", "tokenizer"]

let package = Package(
  name: "IngotFuzz",
  dependencies: [.package(name: "Ingot", path: "..")],
  targets: [
    .target(
      name: "FuzzSupport",
      dependencies: [
        .product(name: "IngotCore", package: "Ingot"), .product(name: "IngotFormats", package: "Ingot"),
        .product(name: "IngotContainer", package: "Ingot"), .product(name: "IngotPipeline", package: "Ingot"),
        .product(name: "IngotArchitectures", package: "Ingot"), .product(name: "IngotTokenizers", package: "Ingot"),
      ])
  ] + harnesses.map { name in
    .executableTarget(name: "fuzz-" + name, dependencies: ["FuzzSupport"], path: "Sources/fuzz-" + name)
  },
  swiftLanguageModes: [.v6]
)
