import IngotCore

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
    let n = min(x.count, y.count)
    guard n > 0, let px = x.baseAddress, let py = y.baseAddress else { return }
    // Eight lanes of float64 partial sums: vectorizes, and the lane order is
    // fixed, so the result does not depend on anything but the values.
    typealias D8 = SIMD8<Double>
    var sx2 = D8(), se2 = D8(), sxy = D8(), sy2 = D8(), mx = D8(repeating: maxAbs)
    var i = 0
    while i + 8 <= n {
      let a = D8(UnsafeRawPointer(px + i).loadUnaligned(as: SIMD8<Float>.self))
      let b = D8(UnsafeRawPointer(py + i).loadUnaligned(as: SIMD8<Float>.self))
      let e = a - b
      sx2 += a * a
      se2 += e * e
      sxy += a * b
      sy2 += b * b
      let ae = e.replacing(with: -e, where: e .< 0)
      mx = mx.replacing(with: ae, where: ae .> mx)
      i += 8
    }
    var t = (sx2.sum(), se2.sum(), sxy.sum(), sy2.sum(), max(max(max(mx[0], mx[1]), max(mx[2], mx[3])), max(max(mx[4], mx[5]), max(mx[6], mx[7]))))
    while i < n {
      let a = Double(px[i]), b = Double(py[i])
      t.0 += a * a
      t.1 += (a - b) * (a - b)
      t.2 += a * b
      t.3 += b * b
      t.4 = max(t.4, abs(a - b))
      i += 1
    }
    count += n
    sumX2 += t.0
    sumE2 += t.1
    sumXY += t.2
    sumY2 += t.3
    maxAbs = t.4
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
