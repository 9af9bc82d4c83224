import IngotCore

/// `ingot validate`: how far a candidate's outputs moved from the base's.
public struct Validation: Sendable {
  public struct Thresholds: Sendable {
    public var maxKLD: Double
    public var minTop1: Double
    public var minCosine: Double
    public init(maxKLD: Double = 0.1, minTop1: Double = 90, minCosine: Double = 0.99) {
      self.maxKLD = maxKLD
      self.minTop1 = minTop1
      self.minCosine = minCosine
    }
  }

  public var kind: String
  public var sequences: Int
  public var tokens: Int
  public var inputsDigest: String
  public var metrics: [String: Double]
  public var thresholds: Thresholds
  /// Failed checks, by name; empty means pass.
  public var failures: [String]
  public var passed: Bool { failures.isEmpty }

  /// The documented default inputs: 8 sequences of 32 tokens (capped at the
  /// model's positions), each token drawn uniformly from the vocabulary by
  /// SplitMix64 seeded with 20261129: the protocol the issue's reference
  /// numbers used, so they compare.
  public static func defaultInputs(vocab: Int, maxPositions: Int?) -> [[Int]] {
    var rng = SplitMix64(seed: 20_261_129)
    return [Int](repeating: 32, count: 8).map { n in
      (0..<min(n, maxPositions ?? n)).map { _ in Int(rng.next() % UInt64(max(vocab, 1))) }
    }
  }

  public static func digest(_ inputs: [[Int]]) -> String {
    Digest.sha256Hex(CanonicalJSON.encode(.array(inputs.map { .array($0.map { .int(Int64($0)) }) })))
  }

  /// Runs both models on the same inputs and compares.
  public static func run(base: any ForwardModel, candidate: any ForwardModel, baseType: String, candidateType: String,
                         inputs: [[Int]], thresholds: Thresholds) throws -> Validation {
    guard baseType == candidateType else {
      throw RuntimeError.badInput("the models differ in architecture ('\(baseType)' vs '\(candidateType)')")
    }
    guard base.vocabSize == candidate.vocabSize, base.outputDim == candidate.outputDim, base.outputKind == candidate.outputKind else {
      throw RuntimeError.badInput("the models differ in vocabulary or output size (\(base.vocabSize)/\(base.outputDim) vs \(candidate.vocabSize)/\(candidate.outputDim))")
    }
    let a = try base.run(inputs), b = try candidate.run(inputs)
    let dim = base.outputDim
    var metrics: [String: Double] = [:]
    var failures: [String] = []
    let kind = base.outputKind == "logits" ? "decoder" : "encoder"
    if kind == "decoder" {
      var klds: [Double] = [], agree = 0, dp2 = 0.0, cosines: [Double] = [], worst = Double.infinity
      for (s, seq) in inputs.enumerated() {
        var seqCos = 0.0
        for t in 0..<seq.count {
          let x = a[s][(t * dim)..<((t + 1) * dim)].map(Double.init), y = b[s][(t * dim)..<((t + 1) * dim)].map(Double.init)
          let lp = Statistics.logSoftmax(x), lq = Statistics.logSoftmax(y)
          klds.append(max(Statistics.klDivergence(lp, lq), 0))
          let top = argmax(x)
          if top == argmax(y) { agree += 1 }
          let d = exp(lp[top]) - exp(lq[top])
          dp2 += d * d
          let c = cosine(x, y)
          cosines.append(c)
          seqCos += c
        }
        worst = min(worst, seqCos / Double(seq.count))
      }
      let sorted = klds.sorted()
      metrics["kld_mean"] = klds.reduce(0, +) / Double(klds.count)
      metrics["kld_median"] = percentile(sorted, 0.5)
      metrics["kld_p99"] = percentile(sorted, 0.99)
      metrics["kld_max"] = sorted.last ?? 0
      metrics["top1_agreement_pct"] = 100 * Double(agree) / Double(klds.count)
      metrics["rms_delta_p_top"] = (dp2 / Double(klds.count)).squareRoot()
      metrics["logit_cosine_mean"] = cosines.reduce(0, +) / Double(cosines.count)
      metrics["logit_cosine_worst_sequence"] = worst
      if metrics["kld_mean"]! > thresholds.maxKLD { failures.append("mean KLD \(metrics["kld_mean"]!) > \(thresholds.maxKLD)") }  // audited: set above
      if metrics["top1_agreement_pct"]! < thresholds.minTop1 { failures.append("top-1 agreement \(metrics["top1_agreement_pct"]!)% < \(thresholds.minTop1)%") }  // audited: set above
      if worst < thresholds.minCosine { failures.append("worst-sequence logit cosine \(worst) < \(thresholds.minCosine)") }
    } else {
      var tokenCos: [Double] = [], pooled: [Double] = [], maxAbs = 0.0
      for (s, seq) in inputs.enumerated() {
        for t in 0..<seq.count {
          let x = a[s][(t * dim)..<((t + 1) * dim)].map(Double.init), y = b[s][(t * dim)..<((t + 1) * dim)].map(Double.init)
          tokenCos.append(cosine(x, y))
          for i in 0..<dim { maxAbs = max(maxAbs, abs(x[i] - y[i])) }
        }
        pooled.append(cosine(meanPool(a[s], tokens: seq.count, dim: dim).map(Double.init), meanPool(b[s], tokens: seq.count, dim: dim).map(Double.init)))
      }
      metrics["token_cosine_mean"] = tokenCos.reduce(0, +) / Double(tokenCos.count)
      metrics["token_cosine_min"] = tokenCos.min() ?? 1
      metrics["pooled_cosine_mean"] = pooled.reduce(0, +) / Double(pooled.count)
      metrics["pooled_cosine_min"] = pooled.min() ?? 1
      metrics["max_abs_diff"] = maxAbs
      if metrics["pooled_cosine_min"]! < thresholds.minCosine { failures.append("worst-sequence pooled cosine \(metrics["pooled_cosine_min"]!) < \(thresholds.minCosine)") }  // audited: set above
    }
    return Validation(kind: kind, sequences: inputs.count, tokens: inputs.reduce(0) { $0 + $1.count }, inputsDigest: digest(inputs),
                      metrics: metrics, thresholds: thresholds, failures: failures)
  }

  static func argmax(_ x: [Double]) -> Int { x.indices.max { x[$0] < x[$1] } ?? 0 }

  static func cosine(_ x: [Double], _ y: [Double]) -> Double { Statistics.cosine(x, y) }

  static func percentile(_ sorted: [Double], _ q: Double) -> Double { Statistics.percentile(sorted, q) }

  public var json: JSONValue {
    [
      "kind": .string(kind), "sequences": .int(Int64(sequences)), "tokens": .int(Int64(tokens)),
      "inputs_sha256": .string(inputsDigest),
      "metrics": .object(metrics.mapValues { .double($0) }),
      "thresholds": ["max_kld": .double(thresholds.maxKLD), "min_top1_pct": .double(thresholds.minTop1), "min_cosine": .double(thresholds.minCosine)],
      "passed": .bool(passed), "failures": .array(failures.map { .string($0) }),
    ]
  }
}

import Foundation
