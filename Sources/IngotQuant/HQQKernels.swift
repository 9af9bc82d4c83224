#if canImport(Glibc)
  import Glibc
#endif

/// HQQ (Badri & Shaji, 2023), the data-free fit: for value = scale·q + min,
/// the scale stays at the min–max fit's and the minimum (the zero point)
/// is found by half-quadratic splitting on an ℓp error (p = 0.7), which
/// cares less than squared error about the few values far from the grid:
/// each round takes the codes under the current minimum, shrinks the
/// residual toward zero (the ℓp proximal step at strength β), sets the
/// minimum to the mean of what the codes leave unexplained, and raises β by
/// 1 %. The fit with the lowest ℓp error wins; at most 20 rounds, stopping
/// at the first that does not improve (as HQQ's reference does).
enum HQQKernels {
  static let p: Float = 0.7

  static func asymmetric(_ x: UnsafePointer<Float>, _ n: Int, rounding: ScaleRounding, levels: Float, nonPositiveMin: Bool,
                         codes: UnsafeMutablePointer<Float>) -> AffineFit {
    var lo = x[0], hi = x[0]
    for i in 0..<n {
      lo = min(lo, x[i])
      hi = max(hi, x[i])
    }
    if nonPositiveMin { lo = min(lo, 0) }
    let scale = rounding((hi - lo) / levels)
    @inline(__always) func codesFor(_ m: Float) {
      let inv: Float = scale > 0 ? 1 / scale : 0
      for i in 0..<n { codes[i] = roundClamp((x[i] - m) * inv, 0, levels) }
    }
    @inline(__always) func lp(_ f: AffineFit) -> Float {
      let inv: Float = f.scale > 0 ? 1 / f.scale : 0
      var e: Float = 0
      for i in 0..<n { e += powf(abs(x[i] - (f.scale * roundClamp((x[i] - f.min) * inv, 0, levels) + f.min)), p) }
      return e
    }
    var best = AffineFit(scale: scale, min: rounding(lo))
    guard scale > 0 else {
      codesFor(best.min)
      return best
    }
    var bestErr = lp(best)
    var m = lo, beta: Float = 10
    for _ in 0..<20 {
      codesFor(m)
      var sum: Float = 0
      for i in 0..<n {
        let r = x[i] - (scale * codes[i] + m)
        let a = abs(r)
        let shrunk = a > 0 ? max(0, a - powf(a, p - 1) / beta) : 0
        sum += x[i] - (r < 0 ? -shrunk : shrunk) - scale * codes[i]
      }
      m = sum / Float(n)
      if nonPositiveMin { m = min(m, 0) }
      let f = AffineFit(scale: scale, min: rounding(m))
      let e = lp(f)
      guard e < bestErr else { break }
      best = f
      bestErr = e
      beta *= 1.01
    }
    codesFor(best.min)
    return best
  }
}
