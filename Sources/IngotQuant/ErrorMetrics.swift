import IngotContainer

/// Error of a quantized tensor against its original values, accumulated in
/// float64 (DESIGN.md "Quantization report schema").
public struct ErrorMetrics: Equatable, Sendable {
  public var count = 0
  public var sumX2 = 0.0
  public var sumE2 = 0.0
  public var sumXY = 0.0
  public var sumY2 = 0.0
  public var maxAbs = 0.0

  public init() {}

  /// Adds `x` (original) against `y` (dequantized).
  public mutating func add(original x: UnsafeBufferPointer<Float>, dequantized y: UnsafeBufferPointer<Float>) {
    var sx2 = 0.0, se2 = 0.0, sxy = 0.0, sy2 = 0.0, mx = maxAbs
    for i in 0..<min(x.count, y.count) {
      let a = Double(x[i]), b = Double(y[i])
      let e = a - b
      sx2 += a * a
      se2 += e * e
      sxy += a * b
      sy2 += b * b
      mx = max(mx, abs(e))
    }
    count += min(x.count, y.count)
    sumX2 += sx2
    sumE2 += se2
    sumXY += sxy
    sumY2 += sy2
    maxAbs = mx
  }

  /// Combines partial sums; callers merge in a fixed order, so results do
  /// not depend on thread scheduling.
  public mutating func merge(_ other: ErrorMetrics) {
    count += other.count
    sumX2 += other.sumX2
    sumE2 += other.sumE2
    sumXY += other.sumXY
    sumY2 += other.sumY2
    maxAbs = max(maxAbs, other.maxAbs)
  }

  public var mse: Double { count == 0 ? 0 : sumE2 / Double(count) }
  public var rmse: Double { mse.squareRoot() }
  /// 10·log10(Σx² / Σ(x−x̂)²); +∞ when exact.
  public var sqnrDB: Double { sumE2 == 0 ? .infinity : 10 * log10(sumX2 / sumE2) }
  public var cosine: Double { (sumX2 == 0 || sumY2 == 0) ? (sumX2 == sumY2 ? 1 : 0) : sumXY / (sumX2.squareRoot() * sumY2.squareRoot()) }
  public var relativeError: Double { sumX2 == 0 ? (sumE2 == 0 ? 0 : .infinity) : (sumE2 / sumX2).squareRoot() }
}

#if canImport(Glibc)
  import Glibc
#endif
