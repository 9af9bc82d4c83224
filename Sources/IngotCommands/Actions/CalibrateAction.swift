import IngotContainer
import IngotCore
import IngotPipeline
import IngotRuntime
import IngotTokenizers

#if canImport(Glibc)
  import Glibc
#endif

/// `ingot calibrate MODEL --file TEXT -o STATS.ingot`: runs the forward pass
/// on the text, with the tokenizer the container carries, and stores for
/// every linear layer's input E[x²] per input channel (llama.cpp's
/// importance matrix) as `NAME.input_sq_mean` [in], f32, under the weight's
/// name. Decoders read the text in chunks of `ctx` tokens, BOS first (as
/// perplexity does); encoders one sequence per non-empty line, truncated to
/// their positions. The stats are a container: its provenance names the
/// model and the text (their SHA-256s), and its metadata the token count and
/// the model digest. The same model, text and options give the same bytes.
public struct CalibrateAction: Sendable {
  public var model: String
  public var textPath: String
  public var output: String
  public var ctx = 512
  /// Stop once this many tokens have been run.
  public var maxTokens = 65_536
  public var force = false
  public var verify = true
  /// Also store each input's Gram matrix E[xxᵀ] as `NAME.input_gram`
  /// [in, in] (GPTQ's Hessian), collected one layer per pass over the text.
  public var hessian = false

  public init(model: String, textPath: String, output: String) {
    self.model = model
    self.textPath = textPath
    self.output = output
  }

  public struct Outcome: Sendable {
    public var outcome: Pipeline.Outcome
    public var tokens: Int
    public var sequences: Int
    public var layers: Int
    /// Gram matrices stored (`hessian`), and the most memory one layer's took while collected.
    public var grams: Int
    public var gramBytes: Int
  }

  public func run(progress: ProgressBar? = nil) throws -> Outcome {
    guard ctx > 1 else { throw PipelineError.usage("--ctx must be at least 2") }
    guard maxTokens > 0 else { throw PipelineError.usage("--max-tokens must be positive") }
    let mapped = try MappedFile(path: textPath)
    let text = withExtendedLifetime(mapped) { Array(mapped.all) }
    let reader = try ContainerReader(path: model)
    let weights = Weights(reader)
    weights.verifyDigests = verify
    let forward = try Models.load(weights)
    let tokenizer = try TokenizeAction.tokenizer(model)
    var sequences: [[Int]] = []
    if forward.outputKind == "logits" {
      let tokens = try tokenizer.encode(utf8: text, addSpecialTokens: true)
      let chunks = Perplexity(ctx: ctx, bos: tokenizer.prefixTokens.first).chunks(tokens)
      guard !chunks.isEmpty else { throw PipelineError.usage("the text is \(tokens.count) tokens: calibration needs at least one chunk of --ctx \(ctx)") }
      sequences = chunks
    } else {
      let limit = forward.positionLimit ?? ctx
      for line in text.split(separator: 0x0A) where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) {
        let ids = try tokenizer.encode(utf8: Array(line), addSpecialTokens: true)
        sequences.append(Array(ids.prefix(min(limit, ctx))))
      }
    }
    // At most maxTokens, whole sequences.
    var used = 0, kept: [[Int]] = []
    for s in sequences where used + s.count <= maxTokens {
      kept.append(s)
      used += s.count
    }
    guard !kept.isEmpty else { throw PipelineError.usage("--max-tokens \(maxTokens) is shorter than the first sequence (\(sequences.first?.count ?? 0) tokens)") }
    let stats = ActivationStats()
    weights.observer = stats
    defer { weights.observer = nil }
    let batch = forward.outputKind == "logits" ? 4 : 32
    // One pass over the text; a pass stopped by ActivationStats.Enough has
    // seen all it needs.
    func pass() throws {
      for start in stride(from: 0, to: kept.count, by: batch) {
        do { _ = try forward.run(Array(kept[start..<min(kept.count, start + batch)])) } catch is ActivationStats.Enough { continue }
        progress?.update(done: min(kept.count, start + batch), total: kept.count)
      }
    }
    var spilled: [(tensor: SourceTensor, payload: MemorySource.Payload)] = []
    var spill: MappedFile? = nil
    var gramBytes = 0
    let spillPath = output + ".grams.partial"
    defer { if hessian { unlink(spillPath) } }
    if hessian {
      // Layer by layer: pass l collects layer l's Grams only (stopping
      // after it), which go to the spill file before the next pass, so
      // memory holds one layer's Grams (GramSpill).
      let file = try GramSpill(path: spillPath)
      stats.gramLayer = 0
      try pass()
      stats.recordsSquares = false
      stats.stopsAfterGrams = true
      // The first pass checked every payload it read: the rest need not again.
      weights.verifyDigests = false
      var layer = 0
      while true {
        let grams = stats.takeGrams()
        gramBytes = max(gramBytes, grams.reduce(0) { $0 + $1.cols * $1.cols * 16 })
        for g in grams {
          let range = try file.append(g.mean)
          for name in g.names {
            let base = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
            spilled.append((SourceTensor(name: base + ".input_gram", dtype: .f32, shape: [g.cols, g.cols], byteCount: range.count), .spilled(range)))
          }
        }
        layer += 1
        guard layer < stats.layersSeen else { break }
        stats.gramLayer = layer
        try pass()
      }
      try file.close()
      spill = try MappedFile(path: spillPath)
    } else {
      try pass()
    }
    progress?.finish()
    let entries = stats.entries
    guard !entries.isEmpty else { throw PipelineError.usage("\(model): this architecture's forward pass records no linear-layer inputs (GPT-2's Conv1D layers are not calibrated yet)") }
    var tensors: [(tensor: SourceTensor, payload: MemorySource.Payload)] = []
    for name in entries.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
      let e = entries[name]!  // audited: a key of the same table
      var bytes: [UInt8] = []
      bytes.reserveCapacity(e.sumSquares.count * 4)
      for v in e.meanSquares { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
      let base = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
      tensors.append((SourceTensor(name: base + ".input_sq_mean", dtype: .f32, shape: [e.sumSquares.count], byteCount: bytes.count), .bytes(bytes)))
    }
    let layerCount = tensors.count
    tensors += spilled
    // The token ids themselves (i32), so that what calibrated the model can
    // be replayed without the tokenizer: `quantize --target-bpw` measures
    // sensitivity on them.
    func int32Bytes(_ v: [Int]) -> [UInt8] {
      var b: [UInt8] = []
      b.reserveCapacity(v.count * 4)
      for x in v { withUnsafeBytes(of: Int32(truncatingIfNeeded: x).littleEndian) { b.append(contentsOf: $0) } }
      return b
    }
    let ids = int32Bytes(kept.flatMap { $0 }), lengths = int32Bytes(kept.map(\.count))
    tensors.append((SourceTensor(name: CalibrationTokens.ids, dtype: .i32, shape: [ids.count / 4], byteCount: ids.count), .bytes(ids)))
    tensors.append((SourceTensor(name: CalibrationTokens.lengths, dtype: .i32, shape: [kept.count], byteCount: lengths.count), .bytes(lengths)))
    let tokenCount = entries.values.map(\.tokens).max() ?? 0
    let metadata: [String: String] = [
      "calibration/model_digest": reader.header.modelDigest, "calibration/text_sha256": Digest.sha256Hex(text),
      "calibration/tokens": String(tokenCount), "calibration/sequences": String(kept.count), "calibration/statistic": hessian ? "input_sq_mean input_gram" : "input_sq_mean",
    ]
    let files = reader.files + [SourceFile(path: textPath, recordedPath: baseName(textPath), format: "text", size: text.count)]
    let source = MemorySource(format: "calibration", payloads: tensors, spill: spill, metadata: metadata, files: files)
    let parameters: [String: JSONValue] = [
      "ctx": .int(Int64(ctx)), "max_tokens": .int(Int64(maxTokens)), "tokens": .int(Int64(tokenCount)),
      "sequences": .int(Int64(kept.count)), "hessian": .bool(hessian), "model_digest": .string(reader.header.modelDigest), "text_sha256": .string(Digest.sha256Hex(text)),
    ]
    let outcome = try Pipeline(source: source, stages: [], options: Pipeline.Options(operation: "calibrate", parameters: parameters, force: force)).run(to: output)
    return Outcome(outcome: outcome, tokens: tokenCount, sequences: kept.count, layers: layerCount, grams: spilled.count, gramBytes: gramBytes)
  }
}
