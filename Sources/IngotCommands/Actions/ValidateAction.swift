import IngotCore
import IngotContainer
import IngotRuntime

/// `ingot validate BASE CANDIDATE`: both forward passes on the same inputs.
public struct ValidateAction: Sendable {
  public var base: String
  public var candidate: String
  public var tokens: [[Int]]?
  public var thresholds: Validation.Thresholds
  /// Check every weight against its digest as it is loaded.
  public var verify = true
  /// `--text`: inputs from this UTF-8 text, tokenized by the candidate's
  /// tokenizer: for decoders, llama-perplexity's chunks (and the PPLs of
  /// both models); for encoders, one sequence per non-empty line.
  public var text: [UInt8]?
  /// `--text` with a decoder: tokens per chunk, and at most this many chunks.
  public var ctx = 512
  public var maxChunks: Int? = nil

  public init(base: String, candidate: String, tokens: [[Int]]? = nil, thresholds: Validation.Thresholds = .init()) {
    self.base = base
    self.candidate = candidate
    self.tokens = tokens
    self.thresholds = thresholds
  }

  public func run() throws -> Validation {
    let bw = Weights(try ContainerReader(path: base)), cw = Weights(try ContainerReader(path: candidate))
    bw.verifyDigests = verify
    cw.verifyDigests = verify
    let bm = try Models.load(bw), cm = try Models.load(cw)
    var inputs = tokens ?? Validation.defaultInputs(vocab: bm.vocabSize, maxPositions: bm.positionLimit)
    var ppl: JSONValue? = nil
    if let text {
      let tokenizer = try TokenizeAction.tokenizer(candidate)
      if bm.outputKind == "logits" {
        let n = min(ctx, bm.positionLimit ?? ctx)
        var perplexity = PerplexityAction(model: candidate, text: text)
        perplexity.ctx = n
        perplexity.maxChunks = maxChunks
        perplexity.base = base
        perplexity.verify = verify
        ppl = try perplexity.run()
        let all = try tokenizer.encode(utf8: text, addSpecialTokens: true)
        inputs = Perplexity(ctx: n, bos: tokenizer.prefixTokens.first).chunks(all)
        if let maxChunks, inputs.count > maxChunks { inputs = Array(inputs.prefix(maxChunks)) }
      } else {
        guard let s = String(validating: text, as: UTF8.self) else { throw TokenizerError.invalidUTF8(offset: Tokenizer.firstInvalidUTF8(text)) }
        // One sentence per line, cut at the model's positions.
        inputs = s.split(separator: "\n").map { String($0) }.filter { !$0.allSatisfy(\.isWhitespace) }
          .map { Array(tokenizer.encode($0).prefix(bm.positionLimit ?? Int.max)) }
      }
      guard !inputs.isEmpty else { throw RuntimeError.badInput("--text gives no input (fewer tokens than one chunk of \(ctx), or no line)") }
    }
    var v = try Validation.run(
      base: bm, candidate: cm, baseType: try bw.config().1.architecture,
      candidateType: try cw.config().1.architecture, inputs: inputs, thresholds: thresholds)
    if let o = ppl?.objectValue {
      for (k, key) in [("ppl", "candidate_ppl"), ("base_ppl", "base_ppl"), ("ppl_ratio", "ppl_ratio"), ("ppl_ratio_stderr", "ppl_ratio_stderr"),
                       ("kl_mean", "text_kl_mean_second_halves"), ("same_top1_pct", "text_same_top1_pct_second_halves")] {
        if let d = o[k]?.doubleValue { v.metrics[key] = d }
      }
    }
    return v
  }

  public static func summary(_ v: Validation) -> String {
    var lines = ["\(v.kind): \(v.sequences) sequences, \(v.tokens) tokens (inputs sha256 \(v.inputsDigest.prefix(16))…)"]
    let width = v.metrics.keys.map(\.count).max() ?? 0
    for (k, value) in v.metrics.sorted(by: { $0.key < $1.key }) {
      lines.append("  " + k + String(repeating: " ", count: width - k.count) + "  " + formatFixed(value, abs(value) < 0.01 && value != 0 ? 8 : 6))
    }
    let t = v.thresholds
    let gates = v.kind == "decoder"
      ? "max-kld \(formatFixed(t.maxKLD, 4)), min-top1 \(formatFixed(t.minTop1, 1))%, min-cosine \(formatFixed(t.minCosine, 4))"
      : "min-cosine \(formatFixed(t.minCosine, 4)) on the worst sequence's pooled embedding"
    lines.append(v.passed ? "PASS (\(gates))" : "FAIL: " + v.failures.joined(separator: "; ") + " (\(gates))")
    return lines.map { terminalSafe($0) }.joined(separator: "\n")
  }
}

import IngotFormats
import IngotPipeline
import IngotTokenizers

#if canImport(Glibc)
  import Glibc
#endif

extension ValidateAction {
  /// `--record`: appends a "validate" step (inputs' digest, metrics, verdict,
  /// the base's model digest) to the candidate, rewritten in one rename over
  /// it (Pipeline.run(replacing:)). Tensors,
  /// storage and the model digest do not change.
  public func record(_ v: Validation) throws -> Pipeline.Outcome {
    let source = try ContainerReader(path: candidate)
    let baseDigest = try ContainerReader(path: base).header.modelDigest
    var options = Pipeline.Options(
      operation: "validate",
      parameters: [
        "base_model_digest": .string(baseDigest), "inputs_sha256": .string(v.inputsDigest),
        "sequences": .int(Int64(v.sequences)), "tokens": .int(Int64(v.tokens)),
      ])
    // Keep the candidate's storage: recompress if it was compressed.
    if source.header.tensors.contains(where: { $0.storage.chunks != nil }) {
      let size = source.header.tensors.compactMap { $0.storage.chunks?.chunkSize }.max() ?? (1 << 20)
      options.compression = Compression(chunkSize: size)
    }
    options.extraMetrics = ["validate": v.json]
    return try Pipeline(source: source, stages: [], options: options).run(replacing: candidate)
  }
}
