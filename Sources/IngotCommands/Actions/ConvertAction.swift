import IngotCore
import IngotContainer
import IngotFormats
import IngotPipeline
import IngotQuant

/// `ingot convert`: any readable input to `.ingot`, optionally cast.
public struct ConvertAction: Sendable {
  public var sources: [String]
  public var output: String
  public var dtype: DType?
  public var force = false
  /// Check payloads from an `.ingot` input against their digests.
  public var verify = true
  public var note: String?
  public var timestamp: String?
  /// Quantize in the same pass (after the cast, if any).
  public var quantize: QuantScheme?
  public var policy = QuantPolicy()
  /// Store payloads zstd-compressed.
  public var compression: Compression?
  /// GGUF input: llama.cpp names or Hugging Face names (default: hf for llama).
  public var ggufNames: GGUFNames?
  /// GGUF input: keep Q8_0 / Q4_0 / Q4_1 matrices as int8_block /
  /// int4_group instead of dequantizing them to f32 (the same values, the
  /// size of the GGUF blocks).
  public var ggufNative = true

  public init(sources: [String], output: String, dtype: DType? = nil, force: Bool = false, note: String? = nil, timestamp: String? = nil) {
    self.sources = sources
    self.output = output
    self.dtype = dtype
    self.force = force
    self.note = note
    self.timestamp = timestamp
  }

  public func run(progress: ProgressBar? = nil) throws -> Pipeline.Outcome {
    let source = try Inputs.open(sources, ggufNames: ggufNames, ggufNative: ggufNative)
    var stages: [any TensorStage] = []
    if let dtype { stages.append(try CastStage(target: dtype)) }
    var parameters: [String: JSONValue] = ["dtype": .string(dtype?.rawValue ?? "keep")]
    if let quantize {
      stages.append(QuantizeStage(scheme: quantize, policy: policy))
      parameters["quantize"] = .object(quantize.parameters.merging(policy.parameters) { a, _ in a })
    }
    if let compression { parameters["compress"] = .object(compression.parameters) }
    if source is GGUFSource { parameters["gguf_quant"] = .string(ggufNative ? "native" : "dequantize") }
    var options = Pipeline.Options(
      operation: "convert", parameters: parameters, force: force, note: note, timestamp: timestamp, compression: compression)
    options.verifyInputs = verify
    return try Pipeline(source: source, stages: stages, options: options).run(to: output, progress: progress)
  }

  /// The human summary printed on stdout.
  public static func summary(_ r: Pipeline.Outcome, dtype: DType?) -> String {
    var lines = [
      "wrote \(r.path): \(r.header.tensors.count) tensors, \(formatBytes(r.bytesOut)) of tensor data (from \(formatBytes(r.bytesIn)))",
      "model digest  \(r.header.modelDigest)",
    ]
    if let dtype {
      let cast = r.changed["cast"] ?? []
      let castSet = Set(cast)
      let kept = r.header.tensors.filter { !castSet.contains($0.name) && $0.dtype != dtype }
      lines.append("cast to \(dtype.rawValue): \(cast.count) tensors")
      if !kept.isEmpty {
        lines.append("kept (not f32/f16/bf16): " + kept.map { "\($0.name) (\($0.dtype.rawValue))" }.joined(separator: ", "))
      }
    }
    return lines.map { terminalSafe($0) }.joined(separator: "\n")
  }
}
