import IngotContainer
import IngotRuntime

/// `ingot validate BASE CANDIDATE`: both forward passes on the same inputs.
public struct ValidateAction: Sendable {
  public var base: String
  public var candidate: String
  public var tokens: [[Int]]?
  public var thresholds: Validation.Thresholds

  public init(base: String, candidate: String, tokens: [[Int]]? = nil, thresholds: Validation.Thresholds = .init()) {
    self.base = base
    self.candidate = candidate
    self.tokens = tokens
    self.thresholds = thresholds
  }

  public func run() throws -> Validation {
    let bw = Weights(try ContainerReader(path: base)), cw = Weights(try ContainerReader(path: candidate))
    let bm = try Models.load(bw), cm = try Models.load(cw)
    let inputs = tokens ?? Validation.defaultInputs(vocab: bm.vocabSize, maxPositions: bm.positionLimit)
    return try Validation.run(
      base: bm, candidate: cm, baseType: try bw.config()["model_type"]?.stringValue ?? "?",
      candidateType: try cw.config()["model_type"]?.stringValue ?? "?", inputs: inputs, thresholds: thresholds)
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
    return lines.joined(separator: "\n")
  }
}
