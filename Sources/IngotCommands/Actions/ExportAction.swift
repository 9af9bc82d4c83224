import IngotCore
import IngotContainer
import IngotFormats
import IngotPipeline

#if canImport(Glibc)
  import Glibc
#endif

/// `ingot export --to safetensors`: tensors back out, dequantized and optionally cast.
/// When OUT is a folder, writes `model.safetensors` plus the companion files
/// (config.json, tokenizer files) the container carries, so the folder loads
/// as a model again.
public struct ExportAction: Sendable {
  public var input: String
  public var output: String
  public var format: String
  public var dtype: DType?
  public var force = false
  /// Check every payload against its digest on the way out.
  public var verify = true
  /// MLX: write a sliding-window model mlx-lm runs with full attention.
  public var fullAttention = false
  /// MLX: quantize again what has no exact MLX form, instead of refusing it.
  public var requantize = false

  public init(input: String, output: String, format: String = "safetensors", dtype: DType? = nil, force: Bool = false) {
    self.input = input
    self.output = output
    self.format = format
    self.dtype = dtype
    self.force = force
  }

  public struct Outcome: Sendable {
    public var files: [String]
    public var tensors: Int
    public var bytes: Int
    /// `files/…` entries not written: names that are not companion files.
    public var skipped: [String] = []
    /// GGUF: tensors llama.cpp's layout has no place for (BERT's pooler).
    public var droppedTensors: [String] = []
    /// MLX --requantize: each tensor quantized again, with its error.
    public var requantized: [JSONValue] = []
  }

  /// Source → [dequantize, cast] → safetensors sink, through the same
  /// pipeline as every other command; each payload is checked against its
  /// digest on the way, so a damaged container is never exported as sound.
  public func run() throws -> Outcome {
    if format == "mlx" { return try runMLX() }
    if format == "gguf" { return try runGGUF() }
    guard format == "safetensors" else { throw PipelineError.usage("--to must be safetensors, mlx or gguf") }
    let reader = try ContainerReader(path: input)
    let cast = try dtype.map { try CastStage(target: $0) }
    var folder: String? = nil
    var target = output
    var st = stat()
    var created = false
    if output.hasSuffix("/") || (stat(output, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR) {
      let dir = output.hasSuffix("/") ? String(output.dropLast()) : output
      folder = dir
      target = dir + "/model.safetensors"
    }
    var meta: [String: String] = [:]
    for (k, v) in reader.metadata where k.hasPrefix("safetensors/") && k != "safetensors/format" {
      meta[String(k.dropFirst("safetensors/".count))] = v
    }
    meta["ingot.model_digest"] = reader.header.modelDigest
    // Export writes only the files it owns: the weights, and the companion
    // files convert reads (SafetensorsSource.companionFiles). Any other
    // `files/` entry, such as one named model.safetensors, is reported and
    // left out.
    var companions: [(String, String)] = []
    var skipped: [String] = []
    if let folder {
      for (k, text) in reader.metadata.sorted(by: { $0.key < $1.key }) where k.hasPrefix("files/") {
        let name = String(k.dropFirst("files/".count))
        guard SafetensorsSource.companionFiles.contains(name) else {
          skipped.append(name)
          continue
        }
        companions.append((name, name == "config.json" ? Self.withoutMLXQuantization(text) : text))
      }
      // Every refusal before the first byte: no half-written folder.
      if !force {
        for path in [target] + companions.map({ folder + "/" + $0.0 }) where stat(path, &st) == 0 { throw FileError.exists(file: path) }
      }
      if stat(folder, &st) != 0 {
        guard mkdir(folder, 0o755) == 0 else { throw FileError.io(file: folder, operation: "create folder", errno: errno) }
        created = true
      }
    }
    var written: [String] = []
    do {
      let sink = try SafetensorsWriter(path: target, inputs: [input], force: force, metadata: meta)
      var options = Pipeline.Options(operation: "export")
      options.verifyInputs = verify
      let stages: [any TensorStage] = [DequantizeStage()] + (cast.map { [$0] } ?? [])
      let summary = try Pipeline(source: reader, stages: stages, options: options).run(into: sink)
      written.append(target)
      for (name, text) in companions {
        let path = (folder ?? ".") + "/" + name
        let file = try AtomicFile(path: path, inputs: [input], force: force)
        try file.write(Array(text.utf8), at: 0)
        try file.commit()
        written.append(path)
      }
      return Outcome(files: written, tensors: reader.tensors.count, bytes: summary.bytesOut, skipped: skipped)
    } catch {
      // A folder this export created holds only what it wrote: remove both.
      if created, let folder {
        for path in written { unlink(path) }
        rmdir(folder)
      }
      throw error
    }
  }

  /// An MLX folder's config.json without its `quantization` block (and the
  /// copy mlx-lm writes as `quantization_config`): the safetensors export
  /// holds float weights, and transformers would read the block as a
  /// quantization method it does not know. Any other config is unchanged.
  static func withoutMLXQuantization(_ text: String) -> String {
    guard let json = try? JSONParser.parse(Array(text.utf8)), var c = json.objectValue, let block = c["quantization"] else { return text }
    c["quantization"] = nil
    if c["quantization_config"] == block { c["quantization_config"] = nil }
    return String(decoding: CanonicalJSON.encode(.object(c)) + [0x0A], as: UTF8.self)
  }

  /// Source → [cast of float tensors, MLX layout] → MLX folder sink. The
  /// quantized tensors keep their codes (MLXStage); the config is the
  /// container's own config.json with a quantization block.
  func runMLX() throws -> Outcome {
    let reader = try ContainerReader(path: input)
    let folder = output.hasSuffix("/") ? String(output.dropLast()) : output
    guard let configText = reader.metadata["files/config.json"] else {
      throw MLXError.noConfig(reason: "\(input) carries no config.json (mlx-lm builds the model from it; convert from a Hugging Face or MLX folder)")
    }
    let config: JSONValue
    do { config = try JSONParser.parse(Array(configText.utf8)) } catch { throw MLXError.noConfig(reason: "config.json: \(error.description)") }
    var companions: [(name: String, text: String)] = []
    var skipped: [String] = []
    for (k, text) in reader.metadata.sorted(by: { $0.key < $1.key }) where k.hasPrefix("files/") {
      let name = String(k.dropFirst("files/".count))
      guard name != "config.json" else { continue }
      guard SafetensorsSource.companionFiles.contains(name) else {
        skipped.append(name)
        continue
      }
      companions.append((name, text))
    }
    // The config is checked before the folder exists.
    guard let object = config.objectValue else { throw MLXError.noConfig(reason: "config.json is not a JSON object") }
    _ = try MLXConfig.translate(object, fullAttention: fullAttention)
    var st = stat()
    if !force {
      for name in ["model.safetensors", "config.json"] + companions.map({ $0.name }) where stat(folder + "/" + name, &st) == 0 {
        throw FileError.exists(file: folder + "/" + name)
      }
    }
    var created = false
    if stat(folder, &st) != 0 {
      guard mkdir(folder, 0o755) == 0 else { throw FileError.io(file: folder, operation: "create folder", errno: errno) }
      created = true
    }
    let stage = MLXStage(requantize: requantize)
    var meta = ["ingot.model_digest": reader.header.modelDigest]
    // What was quantized again is named in the weights file itself.
    let again = try stage.requantizedNames(reader.tensors)
    if !again.isEmpty { meta["ingot.requantized"] = String(decoding: CanonicalJSON.encode(.array(again.map { .string($0) })), as: UTF8.self) }
    let sink: MLXWriter
    do {
      sink = try MLXWriter(folder: folder, inputs: [input], force: force, config: config, companions: companions,
                           metadata: meta, fullAttention: fullAttention)
      var options = Pipeline.Options(operation: "export")
      options.verifyInputs = verify
      let cast = try dtype.map { try CastStage(target: $0) }
      let stages: [any TensorStage] = (cast.map { [$0] } ?? []) + [stage]
      let summary = try Pipeline(source: reader, stages: stages, options: options).run(into: sink)
      var outcome = Outcome(files: sink.written, tensors: reader.tensors.count, bytes: summary.bytesOut, skipped: skipped)
      outcome.requantized = summary.metrics["mlx"]?["requantized"]?.arrayValue ?? []
      return outcome
    } catch {
      if created { rmdir(folder) }
      throw error
    }
  }
}
