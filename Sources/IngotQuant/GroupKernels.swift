/// Per-group quantization kernels: round-to-nearest and the data-free,
/// error-minimizing scale searches. Plain loops over a group's floats, which
/// the compiler vectorizes. Deterministic: fixed candidate lists, fixed
/// reduction order.

@inline(__always) func f16(_ x: Float) -> Float { Float(Float16(x)) }

/// Round half to even for |v| < 2^22 by the 1.5·2^23 trick: one add and one
/// subtract, which vectorize (baseline x86-64 has no vector round instruction).
/// Callers clamp afterwards, and inputs here are bounded by a few hundred.
@inline(__always) func roundEven(_ v: Float) -> Float { (v + 12_582_912) - 12_582_912 }

@inline(__always) func roundClamp(_ v: Float, _ lo: Float, _ hi: Float) -> Float {
  min(hi, max(lo, roundEven(max(-4_000_000, min(4_000_000, v)))))
}

/// Affine group fit: value = scale · q + min, q ∈ 0…15.
struct AffineFit {
  var scale: Float
  var min: Float
}

enum GroupKernels {
  /// Least-squares (scale, min) for fixed codes q; nil when the codes are all equal.
  @inline(__always)
  static func leastSquares(_ x: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int, nonPositiveMin: Bool = false) -> AffineFit? {
    var a: Float = 0, b: Float = 0, c: Float = 0, d: Float = 0
    for i in 0..<n {
      a += q[i]
      b += q[i] * q[i]
      c += x[i]
      d += q[i] * x[i]
    }
    let fn = Float(n)
    let det = fn * b - a * a
    guard det > 0 else { return nil }
    let fit = AffineFit(scale: (fn * d - a * c) / det, min: (b * c - a * d) / det)
    // q6 stores the minimum as a magnitude: with min pinned at 0, the best
    // scale is the plain projection.
    if nonPositiveMin && fit.min > 0 { return b > 0 ? AffineFit(scale: d / b, min: 0) : nil }
    return fit
  }

  @inline(__always)
  static func affineError(_ x: UnsafePointer<Float>, _ n: Int, _ fit: AffineFit, codes: UnsafeMutablePointer<Float>) -> Float {
    let inv: Float = fit.scale > 0 ? 1 / fit.scale : 0
    var err: Float = 0
    for i in 0..<n {
      let q = roundClamp((x[i] - fit.min) * inv, 0, 15)
      codes[i] = q
      let e = x[i] - (q * fit.scale + fit.min)
      err += e * e
    }
    return err
  }

  /// Asymmetric 4-bit fit of one group of n values. `roundF16` rounds scale
  /// and min to f16 before they are scored, as they will be stored. Search:
  /// 21 candidate inverse scales around 15/(max−min), each refined twice by
  /// least squares (llama.cpp's make_qkx2_quants, unweighted); the lowest
  /// squared error wins. Codes for the winner are left in `codes`.
  static func asymmetric(_ x: UnsafePointer<Float>, _ n: Int, search: Bool, roundF16: Bool, nonPositiveMin: Bool = false, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> AffineFit {
    var lo = x[0], hi = x[0]
    for i in 1..<n {
      lo = min(lo, x[i])
      hi = max(hi, x[i])
    }
    if nonPositiveMin { lo = min(lo, 0) }
    @inline(__always) func store(_ v: Float) -> Float { roundF16 ? f16(v) : v }
    var best = AffineFit(scale: store((hi - lo) / 15), min: store(lo))
    var bestErr = affineError(x, n, best, codes: codes)
    guard search, hi > lo else { return best }
    let range = hi - lo
    for step in 0...20 {
      let iscale = (14 + 0.1 * Float(step)) / range
      for i in 0..<n { scratch[i] = roundClamp((x[i] - lo) * iscale, 0, 15) }
      var fit: AffineFit? = nil
      for _ in 0..<2 {
        guard var f = leastSquares(x, scratch, n, nonPositiveMin: nonPositiveMin) else { break }
        f.scale = store(f.scale)
        f.min = store(f.min)
        guard f.scale > 0 else { break }
        fit = f
        let inv = 1 / f.scale
        for i in 0..<n { scratch[i] = roundClamp((x[i] - f.min) * inv, 0, 15) }
      }
      guard let f = fit else { continue }
      let err = affineError(x, n, f, codes: scratch)
      if err < bestErr {
        bestErr = err
        best = f
        codes.update(from: scratch, count: n)
      }
    }
    return best
  }

  /// Symmetric fit: value = scale · q, q ∈ qmin…qmax; returns the scale as
  /// it will be stored (f16-rounded when asked). Round-to-nearest uses the
  /// value of largest magnitude over qmin (Q4_0) or |max| over qmax (Q8_0);
  /// the search tries 19 nearby inverse scales with a least-squares refit
  /// each (llama.cpp's make_qx_quants, unweighted).
  static func symmetric(_ x: UnsafePointer<Float>, _ n: Int, qmin: Float, qmax: Float, search: Bool, roundF16: Bool, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
    var amax: Float = 0, signed: Float = 0
    for i in 0..<n where abs(x[i]) > amax {
      amax = abs(x[i])
      signed = x[i]
    }
    @inline(__always) func store(_ v: Float) -> Float { roundF16 ? f16(v) : v }
    @inline(__always) func error(_ s: Float, _ out: UnsafeMutablePointer<Float>) -> Float {
      let inv: Float = s != 0 ? 1 / s : 0
      var err: Float = 0
      for i in 0..<n {
        let q = roundClamp(x[i] * inv, qmin, qmax)
        out[i] = q
        let e = x[i] - q * s
        err += e * e
      }
      return err
    }
    guard amax > 0 else {
      codes.update(repeating: 0, count: n)
      return 0
    }
    // Q4_0 maps the extreme value to −8 (qmin < −qmax); Q8_0 maps |max| to 127.
    let (target, reference) = qmin < -qmax ? (qmin, signed) : (qmax, amax)
    var best = store(reference / target)
    var bestErr = error(best, codes)
    guard search else { return best }
    // 8-bit grids are fine enough that nearby candidates rarely win: refit
    // the round-to-nearest codes by least squares, twice.
    let steps: ClosedRange<Int> = qmax > 7 ? 0...1 : -9...9
    for step in steps {
      if qmax > 7 {
        var sxq: Float = 0, sqq: Float = 0
        for i in 0..<n {
          sxq += x[i] * codes[i]
          sqq += codes[i] * codes[i]
        }
        guard sqq > 0 else { break }
        let s = store(sxq / sqq)
        guard s != 0, s.isFinite else { break }
        let err = error(s, scratch)
        guard err < bestErr else { break }
        bestErr = err
        best = s
        codes.update(from: scratch, count: n)
        _ = step
        continue
      }
      let iscale = target * (1 + 0.0125 * Float(step)) / reference
      var sxq: Float = 0, sqq: Float = 0
      for i in 0..<n {
        let q = roundClamp(x[i] * iscale, qmin, qmax)
        sxq += x[i] * q
        sqq += q * q
      }
      guard sqq > 0 else { continue }
      let s = store(sxq / sqq)
      guard s != 0, s.isFinite else { continue }
      let err = error(s, scratch)
      if err < bestErr {
        bestErr = err
        best = s
        codes.update(from: scratch, count: n)
      }
    }
    return best
  }
}
