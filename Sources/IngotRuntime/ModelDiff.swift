import COpenBLAS
import Foundation
import IngotCore
import IngotQuant

/// `ingot diff A B [--control C]`: is B derived from A? Similarities are
/// reported with their baselines (mismatched layers, an optional unrelated
/// control) and a permutation-robust row-matching test, so that raw cosines
/// of norm gains (≈ 0.99 for any two models) cannot decide anything.
public struct ModelDiff {
  /// One model's tensors by (normalised) name, loaded as f32 on demand.
  public struct Model {
    public let source: any TensorSource
    public let names: [String: Int]
    public let metadata: [String: String]
    let weights: Weights

    public init(_ source: any TensorSource, verify: Bool = true) {
      self.source = source
      weights = Weights(source)
      weights.verifyDigests = verify
      var names: [String: Int] = [:]
      for (i, t) in source.tensors.enumerated() { names[t.name] = i }
      self.names = names
      metadata = source.metadata
    }

    public func values(_ name: String) throws -> [Float] {
      guard names[name] != nil else { return [] }
      return try weights.load(name)
    }

    public func shape(_ name: String) -> [Int] { names[name].map { source.tensors[$0].shape } ?? [] }
    func digest(_ name: String) -> String? { names[name].flatMap { source.expectedDigest($0) } }
  }

  public struct Stats {
    public var cosine: Double
    public var pearson: Double
    public var relativeL2: Double
    public var sqnrDB: Double
    public var identicalFraction: Double
    /// The mean dominates the spread (norm gains): raw cosine says nothing.
    public var rawCosineUninformative: Bool
  }

  public static func stats(_ a: [Float], _ b: [Float]) -> Stats {
    let n = Double(max(a.count, 1))
    var sa = 0.0, sb = 0.0, same = 0
    for i in a.indices {
      sa += Double(a[i])
      sb += Double(b[i])
      if a[i].bitPattern == b[i].bitPattern { same += 1 }
    }
    let ma = sa / n, mb = sb / n
    var ab = 0.0, aa = 0.0, bb = 0.0, cab = 0.0, caa = 0.0, cbb = 0.0, e2 = 0.0
    for i in a.indices {
      let x = Double(a[i]), y = Double(b[i])
      ab += x * y
      aa += x * x
      bb += y * y
      cab += (x - ma) * (y - mb)
      caa += (x - ma) * (x - ma)
      cbb += (y - mb) * (y - mb)
      e2 += (x - y) * (x - y)
    }
    func ratio(_ num: Double, _ d1: Double, _ d2: Double) -> Double { d1 == 0 || d2 == 0 ? (d1 == d2 && num == 0 ? 1 : 0) : num / (d1.squareRoot() * d2.squareRoot()) }
    let std = (caa / n).squareRoot()
    return Stats(
      cosine: ratio(ab, aa, bb), pearson: ratio(cab, caa, cbb), relativeL2: aa == 0 ? 0 : (e2 / aa).squareRoot(),
      sqnrDB: e2 == 0 ? .infinity : 10 * log10(aa / e2), identicalFraction: Double(same) / n,
      rawCosineUninformative: abs(ma) > 3 * std)
  }

  /// Row-matching test: each row of A is paired with the row of B of largest
  /// |cosine|. Under the null (independent matrices), a row's cosine with one
  /// other row is ≈ N(0, 1/d), so the largest of n in absolute value exceeds
  /// x with probability 1 − (1 − 2Q(x√d))ⁿ. Per-row p-values are combined by
  /// Fisher's method (rows taken as independent: an assumption, documented).
  /// Returns the median matched |cosine| and log10 of the combined p-value.
  public static func rowMatching(_ a: [Float], _ b: [Float], rows n: Int, cols d: Int) -> (median: Double, log10p: Double) {
    func normalize(_ m: [Float]) -> [Float] {
      var out = m
      for r in 0..<n {
        var s: Float = 0
        for c in 0..<d { s += m[r * d + c] * m[r * d + c] }
        let inv = s > 0 ? 1 / s.squareRoot() : 0
        for c in 0..<d { out[r * d + c] = m[r * d + c] * inv }
      }
      return out
    }
    let na = normalize(a), nb = normalize(b)
    let cos = Ops.linear(na, rows: n, nb, out: n, in: d)  // all row cosines: na · nbᵀ
    var best: [Double] = []
    var chi2 = 0.0
    for r in 0..<n {
      var m: Float = 0
      for c in 0..<n { m = max(m, abs(cos[r * n + c])) }
      best.append(Double(m))
      // P(|N(0,1/d)| ≥ m) = erfc(m·√(d/2)); P(max of n ≥ m) = 1 − (1 − that)ⁿ.
      let single = erfc(Double(m) * (Double(d) / 2).squareRoot())
      let p = single < 1e-12 ? Double(n) * single : 1 - pow(1 - single, Double(n))
      chi2 += -2 * log(max(p, 1e-300))
    }
    best.sort()
    return (best[best.count / 2], log10(max(chiSquareSurvival(chi2, dof: 2 * n), 1e-300)))
  }

  /// P(χ²(k) ≥ x) for even k, by the closed form e^(−x/2) Σ (x/2)^i / i!, in logs.
  public static func chiSquareSurvival(_ x: Double, dof k: Int) -> Double {
    let h = x / 2
    var terms: [Double] = [0]
    var t = 0.0
    for i in 1..<max(k / 2, 1) {
      t += log(h) - log(Double(i))
      terms.append(t)
    }
    let m = terms.max() ?? 0
    let lse = m + log(terms.reduce(0) { $0 + exp($1 - m) })
    return min(1, exp(-h + lse))
  }
}
