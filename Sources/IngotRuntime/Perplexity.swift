import Foundation
import IngotCore

/// Perplexity as llama.cpp's llama-perplexity computes it: the tokens cut
/// into chunks of `ctx` (the remainder dropped), each chunk run alone with
/// its first token replaced by BOS when the model adds one, and only the
/// second half of each chunk scored (token j + 1 from the logits at j, for
/// ctx/2 ≤ j < ctx − 1). Against a base model it also gives, per scored
/// token, KL(base ‖ model), whether the top-1 tokens agree, and the change
/// in the correct token's probability.
public struct Perplexity: Sendable {
  public let ctx: Int
  public let bos: Int?

  public init(ctx: Int, bos: Int?) {
    self.ctx = ctx
    self.bos = bos
  }

  /// The chunks to run, each `ctx` tokens.
  public func chunks(_ tokens: [Int]) -> [[Int]] {
    guard ctx >= 2 else { return [] }
    return (0..<(tokens.count / ctx)).map { c in
      var chunk = Array(tokens[(c * ctx)..<((c + 1) * ctx)])
      if let bos { chunk[0] = bos }
      return chunk
    }
  }

  /// What one chunk contributes, scored from its logits ([ctx × vocab]) and
  /// the true tokens (not the BOS-replaced ones: only positions ≥ ctx/2 + 1
  /// are targets, and those are unchanged).
  public struct Scores: Sendable {
    public var nll: [Double] = []
    /// With a base: per token KL(base ‖ model), top-1 agreement, p(model) − p(base).
    public var kl: [Double] = []
    public var sameTop: [Bool] = []
    public var deltaP: [Double] = []
    public var baseNLL: [Double] = []
    public init() {}

    public mutating func append(_ o: Scores) {
      nll += o.nll
      kl += o.kl
      sameTop += o.sameTop
      deltaP += o.deltaP
      baseNLL += o.baseNLL
    }
  }

  public func score(_ chunk: [Int], logits: [Float], vocab: Int, base: [Float]? = nil) -> Scores {
    var s = Scores()
    let first = ctx / 2
    var lp = [Double](repeating: 0, count: vocab), lb = [Double](repeating: 0, count: vocab)
    for j in first..<(ctx - 1) {
      let target = chunk[j + 1]
      Self.logSoftmax(logits, row: j, vocab: vocab, into: &lp)
      s.nll.append(-lp[target])
      guard let base else { continue }
      Self.logSoftmax(base, row: j, vocab: vocab, into: &lb)
      var kl = 0.0
      var topM = 0, topB = 0
      for v in 0..<vocab {
        let pb = exp(lb[v])
        if pb > 0 { kl += pb * (lb[v] - lp[v]) }
        if lp[v] > lp[topM] { topM = v }
        if lb[v] > lb[topB] { topB = v }
      }
      s.kl.append(max(kl, 0))
      s.sameTop.append(topM == topB)
      s.deltaP.append(exp(lp[target]) - exp(lb[target]))
      s.baseNLL.append(-lb[target])
    }
    return s
  }

  static func logSoftmax(_ x: [Float], row: Int, vocab: Int, into out: inout [Double]) {
    let base = row * vocab
    var m = -Double.infinity
    for v in 0..<vocab { m = max(m, Double(x[base + v])) }
    var sum = 0.0
    for v in 0..<vocab { sum += exp(Double(x[base + v]) - m) }
    let lse = m + log(sum)
    for v in 0..<vocab { out[v] = Double(x[base + v]) - lse }
  }

  /// The report: PPL ± its standard error (llama-perplexity's formula), and
  /// with a base the distribution metrics and the PPL ratio ± its error.
  public static func report(_ s: Scores, chunks: Int, ctx: Int) -> JSONValue {
    let n = Double(s.nll.count)
    func meanAndError(_ x: [Double]) -> (Double, Double) {
      let m = x.reduce(0, +) / Double(x.count)
      let m2 = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
      let v = m2 - m * m
      return (m, v > 0 && x.count > 1 ? (v / Double(x.count - 1)).squareRoot() : 0)
    }
    let (nll, err) = meanAndError(s.nll)
    var o: [String: JSONValue] = [
      "chunks": .int(Int64(chunks)), "ctx": .int(Int64(ctx)), "tokens_scored": .int(Int64(n)),
      "ppl": .number(exp(nll)), "ppl_stderr": .number(exp(nll) * err), "mean_nll": .number(nll),
    ]
    if !s.kl.isEmpty {
      let sorted = s.kl.sorted()
      let (klMean, klErr) = meanAndError(s.kl)
      let diff = zip(s.nll, s.baseNLL).map { $0 - $1 }
      let (d, dErr) = meanAndError(diff)
      let (bnll, bErr) = meanAndError(s.baseNLL)
      o["base_ppl"] = .number(exp(bnll))
      o["base_ppl_stderr"] = .number(exp(bnll) * bErr)
      o["kl_mean"] = .number(klMean)
      o["kl_mean_stderr"] = .number(klErr)
      o["kl_median"] = .number(Statistics.percentile(sorted, 0.5))
      o["kl_p99"] = .number(Statistics.percentile(sorted, 0.99))
      o["kl_max"] = .number(sorted.last ?? 0)
      o["same_top1_pct"] = .number(100 * Double(s.sameTop.filter { $0 }.count) / Double(s.sameTop.count))
      o["rms_delta_p"] = .number((s.deltaP.reduce(0) { $0 + $1 * $1 } / Double(s.deltaP.count)).squareRoot())
      o["ppl_ratio"] = .number(exp(d))
      o["ppl_ratio_stderr"] = .number(exp(d) * dErr)
    }
    return .object(o)
  }
}
