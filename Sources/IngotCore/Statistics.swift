#if canImport(Glibc)
  import Glibc
#endif

/// The few statistics several modules report, written once.
public enum Statistics {
  /// Cosine of two vectors in float64; 1 for two zero vectors, 0 for one.
  public static func cosine(_ x: [Double], _ y: [Double]) -> Double {
    var xy = 0.0, xx = 0.0, yy = 0.0
    for i in x.indices {
      xy += x[i] * y[i]
      xx += x[i] * x[i]
      yy += y[i] * y[i]
    }
    return (xx == 0 || yy == 0) ? (xx == yy ? 1 : 0) : xy / (xx.squareRoot() * yy.squareRoot())
  }

  /// Linear interpolation between the closest ranks of sorted values.
  public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
  }

  /// The middle value (mean of the middle two for an even count); NaN when empty.
  public static func median(_ x: [Double]) -> Double {
    let s = x.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
  }

  /// log softmax in float64: x − (max + log Σ exp(x − max)).
  public static func logSoftmax(_ x: [Double]) -> [Double] {
    let m = x.max() ?? 0
    let lse = m + log(x.reduce(0) { $0 + exp($1 - m) })
    return x.map { $0 - lse }
  }

  /// KL(p ‖ q) from log-probabilities (rounding can make it slightly negative).
  public static func klDivergence(_ lp: [Double], _ lq: [Double]) -> Double {
    var kl = 0.0
    for i in lp.indices { kl += exp(lp[i]) * (lp[i] - lq[i]) }
    return kl
  }
}
