import ArgumentParser
import IngotCore
import IngotFormats
import IngotQuant

/// `--dtype keep|f32|f16|bf16`.
public enum DTypeChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
  case keep, f32, f16, bf16
  var dtype: DType? { self == .keep ? nil : DType(rawValue: rawValue) }
}

/// `--scheme` and `--quantize`: the codec families in the registry.
struct SchemeChoice: ExpressibleByArgument, Equatable, Sendable {
  let family: String
  init?(argument: String) {
    guard QuantCodecs.families.contains(argument) else { return nil }
    family = argument
  }
  static var allValueStrings: [String] { QuantCodecs.families }
  static let mlx = SchemeChoice(argument: MLXAffineCodec.family)!  // audited: registered in QuantCodecs.all
}

/// `--scales`: f16 or q6 for int4; f16, bf16 or f32 for mlx.
enum ScalesChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
  case f16, q6, bf16, f32
}

/// `--for mlx`: a runtime's defaults.
enum QuantTarget: String, ExpressibleByArgument, CaseIterable, Sendable {
  case mlx
}

/// `--names hf|gguf`.
extension GGUFNames: ExpressibleByArgument {}

/// `--gguf-quant dequantize|native`.
enum GGUFQuantChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
  case dequantize, native
}

/// `--to safetensors`.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case safetensors
  case mlx
  case gguf
}

/// `--embeddings` and `--output-head`.
enum KeepOrQuantize: String, ExpressibleByArgument, CaseIterable, Sendable {
  case keep, quantize
}

/// `--compress zstd` or `zstd:LEVEL`.
struct CompressChoice: ExpressibleByArgument, Sendable {
  let level: Int32
  init?(argument: String) {
    let parts = argument.split(separator: ":", maxSplits: 1)
    guard parts.first == "zstd", let level = parts.count == 2 ? Int32(parts[1]) : 1, (1...19).contains(level) else { return nil }
    self.level = level
  }
  static var allValueStrings: [String] { ["zstd", "zstd:LEVEL (1-19)"] }
}
