import IngotCore

/// The group fits of GroupKernels with an importance per value (a layer
/// input's E[x²] for that column, from `ingot calibrate`): each candidate is
/// scored by Σ wᵢ(xᵢ − x̂ᵢ)², which for one output row is the expected
/// squared error of that output when the inputs' channels are uncorrelated
/// (llama.cpp's imatrix weighting, without its |x| term).
enum WeightedKernels {
  struct Sums {
    var w: Float = 0, wq: Float = 0, wqq: Float = 0, wqx: Float = 0
  }

  /// q = clamp(round((x − offset) · inv)) into `codes`, with the weighted sums.
  @inline(__always)
  static func pass(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, offset: Float, inv: Float, lo: Float, hi: Float,
                   codes: UnsafeMutablePointer<Float>) -> Sums {
    var sw = F8(), swq = F8(), swqq = F8(), swqx = F8()
    var i = 0
    while i < n {
      let v = load8(x, i), wt = load8(w, i)
      let q = roundClamp8((v - offset) * inv, lo, hi)
      store8(codes, i, q)
      sw += wt
      swq += wt * q
      swqq += wt * q * q
      swqx += wt * q * v
      i += 8
    }
    return Sums(w: sw.sum(), wq: swq.sum(), wqq: swqq.sum(), wqx: swqx.sum())
  }

  /// Σw·x and Σw·x² of a group.
  @inline(__always)
  static func moments(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int) -> (wx: Float, wxx: Float, lo: Float, hi: Float) {
    var swx = F8(), swxx = F8(), vlo = load8(x, 0), vhi = vlo
    var i = 0
    while i < n {
      let v = load8(x, i), wt = load8(w, i)
      swx += wt * v
      swxx += wt * v * v
      vlo = vlo.replacing(with: v, where: v .< vlo)
      vhi = vhi.replacing(with: v, where: v .> vhi)
      i += 8
    }
    return (swx.sum(), swxx.sum(), hmin(vlo), hmax(vhi))
  }

  /// Weighted least-squares (scale, min) for fixed codes.
  @inline(__always)
  static func fit(_ s: Sums, wx: Float, nonPositiveMin: Bool) -> AffineFit? {
    let det = s.w * s.wqq - s.wq * s.wq
    guard det > 0 else { return nil }
    let f = AffineFit(scale: (s.w * s.wqx - s.wq * wx) / det, min: (s.wqq * wx - s.wq * s.wqx) / det)
    if nonPositiveMin && f.min > 0 { return s.wqq > 0 ? AffineFit(scale: s.wqx / s.wqq, min: 0) : nil }
    return f
  }

  @inline(__always)
  static func error(_ f: AffineFit, _ s: Sums, wx: Float, wxx: Float) -> Double {
    let a = Double(f.scale), b = Double(f.min)
    return Double(wxx) - 2 * a * Double(s.wqx) - 2 * b * Double(wx) + a * a * Double(s.wqq) + 2 * a * b * Double(s.wq) + b * b * Double(s.w)
  }

  /// GroupKernels.asymmetric with importances: the same candidates and
  /// refits, each weighted. All-zero importances fall back to the plain fit.
  static func asymmetric(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, search: Bool, rounding: ScaleRounding, levels: Float,
                         nonPositiveMin: Bool, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> AffineFit {
    let m = moments(x, w, n)
    var lo = m.lo
    let hi = m.hi
    if nonPositiveMin { lo = min(lo, 0) }
    var best = AffineFit(scale: rounding((hi - lo) / levels), min: rounding(lo))
    guard search, hi > lo, best.scale > 0 else {
      _ = pass(x, w, n, offset: best.min, inv: best.scale > 0 ? 1 / best.scale : 0, lo: 0, hi: levels, codes: codes)
      return best
    }
    var bestErr = error(best, pass(x, w, n, offset: best.min, inv: 1 / best.scale, lo: 0, hi: levels, codes: scratch), wx: m.wx, wxx: m.wxx)
    let range = hi - lo
    for target in [levels - 1, levels, levels + 1] {
      var s = pass(x, w, n, offset: lo, inv: target / range, lo: 0, hi: levels, codes: scratch)
      var previous = Double.infinity
      for _ in 0..<3 {
        guard var f = fit(s, wx: m.wx, nonPositiveMin: nonPositiveMin) else { break }
        f.scale = rounding(f.scale)
        f.min = rounding(f.min)
        guard f.scale > 0 else { break }
        s = pass(x, w, n, offset: f.min, inv: 1 / f.scale, lo: 0, hi: levels, codes: scratch)
        let e = error(f, s, wx: m.wx, wxx: m.wxx)
        if e < bestErr {
          bestErr = e
          best = f
        }
        guard e < previous else { break }
        previous = e
      }
    }
    _ = pass(x, w, n, offset: best.min, inv: 1 / best.scale, lo: 0, hi: levels, codes: codes)
    return best
  }

  /// GroupKernels.symmetric with importances: the extreme mapping, then
  /// `steps` nearby inverse scales (1.25 % apart) each refitted by weighted
  /// least squares; the stored (f16 when asked) scale that errs least.
  static func symmetric(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, qmin: Float, qmax: Float, search: Bool, roundF16: Bool,
                        steps: Int, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
    let m = moments(x, w, n)
    let signed = -m.lo > m.hi ? m.lo : m.hi
    guard signed != 0 else {
      codes.update(repeating: 0, count: n)
      return 0
    }
    @inline(__always) func store(_ v: Float) -> Float { roundF16 ? f16(v) : v }
    @inline(__always) func err(_ d: Float, _ s: Sums) -> Double { Double(m.wxx) - 2 * Double(d) * Double(s.wqx) + Double(d) * Double(d) * Double(s.wqq) }
    let (target, reference) = qmin < -qmax ? (qmin, signed) : (qmax, abs(signed))
    var best = store(reference / target)
    var bestErr = err(best, pass(x, w, n, offset: 0, inv: best != 0 ? 1 / best : 0, lo: qmin, hi: qmax, codes: codes))
    guard search, best != 0 else { return best }
    for i in -steps...steps {
      let s0 = pass(x, w, n, offset: 0, inv: target * (1 + 0.0125 * Float(i)) / reference, lo: qmin, hi: qmax, codes: scratch)
      guard s0.wqq > 0 else { continue }
      let d = store(s0.wqx / s0.wqq)
      guard d != 0, d.isFinite else { continue }
      let s1 = pass(x, w, n, offset: 0, inv: 1 / d, lo: qmin, hi: qmax, codes: scratch)
      let e = err(d, s1)
      if e < bestErr {
        bestErr = e
        best = d
        codes.update(from: scratch, count: n)
      }
    }
    return best
  }
}
