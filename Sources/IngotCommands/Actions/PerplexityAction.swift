import IngotContainer
import IngotCore
import IngotPipeline
import IngotRuntime
import IngotTokenizers

/// `ingot perplexity`: the model's perplexity on a text, as llama-perplexity
/// computes it (Perplexity), with the tokenizer the container carries; with
/// a base, how far the model's next-token distributions moved from it.
public struct PerplexityAction: Sendable {
  public var model: String
  public var text: [UInt8]
  public var ctx = 512
  /// At most this many chunks (llama-perplexity's --chunks); nil: all.
  public var maxChunks: Int?
  public var base: String?
  /// Chunks per forward-pass batch.
  public var batch = 4
  public var verify = true

  public init(model: String, text: [UInt8]) {
    self.model = model
    self.text = text
  }

  public func run(progress: ProgressBar? = nil) throws -> JSONValue {
    let tokenizer = try TokenizeAction.tokenizer(model)
    let tokens = try tokenizer.encode(utf8: text, addSpecialTokens: true)
    let p = Perplexity(ctx: ctx, bos: tokenizer.prefixTokens.first)
    var chunks = p.chunks(tokens)
    if let maxChunks, maxChunks >= 0, chunks.count > maxChunks { chunks = Array(chunks.prefix(maxChunks)) }
    guard !chunks.isEmpty else {
      throw PipelineError.usage("the text is \(tokens.count) tokens: perplexity needs at least one chunk of --ctx \(ctx)")
    }
    func load(_ path: String) throws -> any ForwardModel {
      let w = Weights(try ContainerReader(path: path))
      w.verifyDigests = verify
      let m = try Models.load(w)
      guard m.outputKind == "logits" else { throw PipelineError.usage("\(path): \(m.outputKind) is not next-token logits: perplexity needs a decoder") }
      return m
    }
    let m = try load(model)
    let b = try base.map(load)
    if let b, b.outputDim != m.outputDim {
      throw PipelineError.usage("--base has \(b.outputDim) logits per token, the model \(m.outputDim): not the same vocabulary")
    }
    var scores = Perplexity.Scores()
    var done = 0
    for start in stride(from: 0, to: chunks.count, by: max(batch, 1)) {
      let group = Array(chunks[start..<min(chunks.count, start + max(batch, 1))])
      let logits = try m.run(group)
      let baseLogits = try b?.run(group)
      for k in group.indices {
        // Targets are the text's own tokens (the BOS only replaced position 0).
        let truth = Array(tokens[((start + k) * ctx)..<((start + k + 1) * ctx)])
        scores.append(p.score(truth, logits: logits[k], vocab: m.outputDim, base: baseLogits?[k]))
      }
      done += group.count
      progress?.update(done: done, total: chunks.count)
    }
    progress?.finish()
    guard case .object(var o) = Perplexity.report(scores, chunks: chunks.count, ctx: ctx) else { return .null }
    o["tokens"] = .int(Int64(tokens.count))
    o["bos"] = p.bos.map { .int(Int64($0)) } ?? .null
    return .object(o)
  }
}

extension PerplexityAction {
  /// `--record`: appends a "perplexity" step (the text's SHA-256, ctx, the
  /// base's model digest, the report) to the model, rewritten in one rename
  /// over it, as validate --record does.
  public func record(_ report: JSONValue) throws -> Pipeline.Outcome {
    let source = try ContainerReader(path: model)
    var parameters: [String: JSONValue] = ["text_sha256": .string(Digest.sha256Hex(text)), "ctx": .int(Int64(ctx))]
    if let base { parameters["base_model_digest"] = .string(try ContainerReader(path: base).header.modelDigest) }
    var options = Pipeline.Options(operation: "perplexity", parameters: parameters)
    if source.header.tensors.contains(where: { $0.storage.chunks != nil }) {
      let size = source.header.tensors.compactMap { $0.storage.chunks?.chunkSize }.max() ?? (1 << 20)
      options.compression = Compression(chunkSize: size)
    }
    options.extraMetrics = ["perplexity": report]
    return try Pipeline(source: source, stages: [], options: options).run(replacing: model)
  }
}
