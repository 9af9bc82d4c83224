import IngotCore
import IngotQuant

#if canImport(Glibc)
  import Glibc
#endif

/// The MLX sink: an mlx-lm model folder. `model.safetensors` holds each
/// `mlx_affine` tensor as MLX's three (`weight` uint32 words, `scales`,
/// `biases`) and every other tensor as it is; `config.json` is the model's
/// own with a `quantization` block (the most common bits and group size,
/// and an entry for each layer that differs); the tokenizer files follow.
/// Every file is written atomically, config and tokenizer after the weights.
public final class MLXWriter: TensorSink {
  public let folder: String
  let weights: SafetensorsWriter
  var config: [String: JSONValue]
  let companions: [(name: String, text: String)]
  let inputs: [String]
  let force: Bool
  public private(set) var written: [String] = []
  public private(set) var quantization: MLXQuantization?

  /// - Parameters:
  ///   - config: the model's config.json (any quantization block is replaced).
  ///   - companions: tokenizer and generation files, by name.
  ///   - fullAttention: see MLXConfig.translate.
  public init(folder: String, inputs: [String], force: Bool, config: JSONValue, companions: [(name: String, text: String)],
              metadata: [String: String] = [:], fullAttention: Bool = false) throws {
    guard let c = config.objectValue else { throw MLXError.noConfig(reason: "config.json is not a JSON object") }
    guard c["model_type"]?.stringValue != nil else { throw MLXError.noConfig(reason: "config.json has no model_type, which mlx-lm picks its model by") }
    self.folder = folder
    self.config = try MLXConfig.translate(c, fullAttention: fullAttention)
    self.companions = companions
    self.inputs = inputs
    self.force = force
    var meta = metadata
    meta["format"] = "mlx"
    weights = try SafetensorsWriter(path: folder + "/model.safetensors", inputs: inputs, force: force, metadata: meta, layout: Self.entries)
  }

  /// A tensor's safetensors entries as mlx-lm names them.
  static func entries(_ t: SourceTensor) throws -> [SafetensorsWriter.Entry] {
    if t.encoding.isRaw { return [.init(name: t.name, dtype: t.dtype, shape: t.shape, byteCount: t.byteCount)] }
    guard t.encoding.kind == MLXAffineCodec.kind, let codec = try? QuantCodecs.layout(t.encoding, dtype: t.dtype, shape: t.shape) as? MLXAffineCodec else {
      throw MLXError.noMLXForm(tensor: t.name, reason: "encoding \(t.encoding.kind) reached the MLX writer")
    }
    guard t.name.hasSuffix(".weight") else { throw MLXError.noMLXForm(tensor: t.name, reason: "MLX quantizes only layer weights (names ending in .weight)") }
    let last = t.shape.last!  // audited: the codec needs rank ≥ 2
    guard last % codec.groupSize == 0 else { throw MLXError.noMLXForm(tensor: t.name, reason: "last dimension \(last) is not a multiple of the group size \(codec.groupSize)") }
    let layer = String(t.name.dropLast(".weight".count))
    let lead = Array(t.shape.dropLast())
    return [
      .init(name: t.name, dtype: .u32, shape: lead + [last * codec.bits / 32], byteCount: codec.scaleSection.lowerBound),
      .init(name: layer + ".scales", dtype: codec.scaleDType, shape: lead + [last / codec.groupSize], byteCount: codec.scaleSection.count),
      .init(name: layer + ".biases", dtype: codec.scaleDType, shape: lead + [last / codec.groupSize], byteCount: codec.biasSection.count),
    ]
  }

  /// The quantization block for these tensors: the most common (bits, group
  /// size) as defaults (ties: fewer bits, then smaller groups), and an entry
  /// per layer that differs. Nil when nothing is quantized.
  public static func quantization(_ tensors: [SourceTensor]) -> MLXQuantization? {
    var layers: [(String, MLXLayerQuant)] = []
    for t in tensors where t.encoding.kind == MLXAffineCodec.kind {
      guard let bits = t.encoding.parameters["bits"]?.intValue, let g = t.encoding.parameters["group_size"]?.intValue else { continue }
      layers.append((String(t.name.dropLast(".weight".count)), MLXLayerQuant(bits: Int(bits), groupSize: Int(g))))
    }
    guard !layers.isEmpty else { return nil }
    var counts: [MLXLayerQuant: Int] = [:]
    for (_, q) in layers { counts[q, default: 0] += 1 }
    let defaults = counts.max { a, b in
      a.value != b.value ? a.value < b.value : (a.key.bits, a.key.groupSize) > (b.key.bits, b.key.groupSize)
    }!.key  // audited: layers is not empty
    var result = MLXQuantization(defaults: defaults)
    for (path, q) in layers where q != defaults { result.layers[path] = q }
    return result
  }

  public func plan(_ plan: SinkPlan) throws {
    if let q = Self.quantization(plan.tensors) {
      quantization = q
      // mlx-lm reads `quantization`; `quantization_config` is what it also
      // writes, for Hugging Face's tree.
      config["quantization"] = q.json
      config["quantization_config"] = q.json
    }
    try weights.plan(plan)
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws { try weights.write(bytes) }

  public func end(_ index: Int, digest: String) throws { try weights.end(index, digest: digest) }

  public func finish(_ step: ProvenanceStep) throws {
    try weights.finish(step)
    written.append(weights.path)
    var files = [("config.json", CanonicalJSON.encode(.object(config)) + [0x0A])]
    files += companions.filter { $0.name != "config.json" }.map { ($0.name, Array($0.text.utf8)) }
    for (name, bytes) in files {
      let file = try AtomicFile(path: folder + "/" + name, inputs: inputs, force: force)
      try file.write(bytes, at: 0)
      try file.commit()
      written.append(file.path)
    }
  }
}
