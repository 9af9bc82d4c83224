import IngotCore

/// Per-group quantization kernels: round-to-nearest and the data-free,
/// error-minimizing scale searches.
///
/// Speed: each pass over a group is an explicit SIMD8 loop whose sums go to
/// vector accumulators (a scalar `sum += …` is a serial dependency the
/// compiler may not vectorize under IEEE rules), and a candidate's squared
/// error comes from its sums in closed form instead of another pass.
/// Determinism: fixed candidate lists, fixed lane assignment and reduction order.

typealias F8 = SIMD8<Float>

/// `x` rounded to the nearest f16 value (ties to even), kept as f32. Inline
/// bit arithmetic for the normal f16 range; the library conversion (a
/// software routine on baseline x86-64) for the rest.
@inline(__always) func f16(_ x: Float) -> Float {
  let bits = x.bitPattern
  let exponent = Int((bits >> 23) & 0xFF) - 127
  guard exponent >= -14 && exponent <= 15 else { return Float(Float16(x)) }
  let rounded = (bits &+ 0x0FFF &+ ((bits >> 13) & 1)) & 0xFFFF_E000
  let r = Float(bitPattern: rounded)
  return abs(r) > 65504 ? Float(Float16(x)) : r
}

/// Round half to even for |v| < 2^22 by the 1.5·2^23 trick: an add and a
/// subtract, which vectorize where a round instruction is not available.
/// Inputs are clamped to ±4·10^6 first.
@inline(__always) func roundEven(_ v: Float) -> Float { (min(4_000_000, max(-4_000_000, v)) + 12_582_912) - 12_582_912 }

@inline(__always) func roundClamp(_ v: Float, _ lo: Float, _ hi: Float) -> Float { min(hi, max(lo, roundEven(v))) }

@inline(__always) func clamp8(_ v: F8, _ lo: Float, _ hi: Float) -> F8 {
  let a = v.replacing(with: lo, where: v .< lo)
  return a.replacing(with: hi, where: a .> hi)
}

/// Rounded to nearest even and clamped to lo…hi (lo ≥ −4·10^6, hi ≤ 4·10^6).
/// lo and hi are integers, so rounding a clamped value stays in range.
@inline(__always) func roundClamp8(_ v: F8, _ lo: Float, _ hi: Float) -> F8 {
  (clamp8(v, lo, hi) + 12_582_912) - 12_582_912
}

/// Lane minimum / maximum, written out: the generic SIMD reductions are not inlined.
@inline(__always) func hmin(_ v: F8) -> Float { min(min(min(v[0], v[1]), min(v[2], v[3])), min(min(v[4], v[5]), min(v[6], v[7]))) }
@inline(__always) func hmax(_ v: F8) -> Float { max(max(max(v[0], v[1]), max(v[2], v[3])), max(max(v[4], v[5]), max(v[6], v[7]))) }

@inline(__always) func load8(_ p: UnsafePointer<Float>, _ i: Int) -> F8 { UnsafeRawPointer(p + i).loadUnaligned(as: F8.self) }
@inline(__always) func store8(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ v: F8) { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: F8.self) }

/// How a fit's scale and minimum are stored, so that they are scored as
/// they will be read back.
enum ScaleRounding {
  case none, f16, bf16

  @inline(__always) func callAsFunction(_ v: Float) -> Float {
    switch self {
    case .none: v
    case .f16: IngotQuant.f16(v)
    case .bf16: Float(bitPattern: UInt32(FloatConversion.bfloat16Bits(v)) << 16)
    }
  }
}

/// Affine group fit: value = scale · q + min, q ∈ 0…levels.
struct AffineFit {
  var scale: Float
  var min: Float
}

/// Sums over a group for fixed codes q: Σq, Σq², Σqx.
struct CodeSums {
  var q: Float
  var qq: Float
  var qx: Float
}

enum GroupKernels {
  /// q = clamp(round((x − offset) · inv), lo, hi) into `codes`, with the sums.
  @inline(__always)
  static func quantizePass(_ x: UnsafePointer<Float>, _ n: Int, offset: Float, inv: Float, lo: Float, hi: Float, codes: UnsafeMutablePointer<Float>) -> CodeSums {
    // Two loops: the first has no reduction, so the compiler vectorizes it
    // with min/max instructions; the second sums into vector accumulators.
    for i in 0..<n {
      let v = min(hi, max(lo, (x[i] - offset) * inv))
      codes[i] = (v + 12_582_912) - 12_582_912
    }
    var sq = F8(), sqq = F8(), sqx = F8()
    var i = 0
    while i < n {
      let q = load8(codes, i)
      sq += q
      sqq += q * q
      sqx += q * load8(x, i)
      i += 8
    }
    return CodeSums(q: sq.sum(), qq: sqq.sum(), qx: sqx.sum())
  }

  /// quantizePass for any length (the int8 row pass): SIMD8 body, scalar tail.
  static func quantizePassAny(_ x: UnsafePointer<Float>, _ n: Int, inv: Float, lo: Float, hi: Float, codes: UnsafeMutablePointer<Float>) -> CodeSums {
    let body = n / 8 * 8
    var c = body > 0 ? quantizePass(x, body, offset: 0, inv: inv, lo: lo, hi: hi, codes: codes) : CodeSums(q: 0, qq: 0, qx: 0)
    for i in body..<n {
      let q = roundClamp(x[i] * inv, lo, hi)
      codes[i] = q
      c.q += q
      c.qq += q * q
      c.qx += q * x[i]
    }
    return c
  }

  /// Least-squares (scale, min) for codes with sums `c` (n values, Σx = sx);
  /// nil when the codes are all equal. With `nonPositiveMin`, a positive
  /// minimum is pinned at 0 (q6 stores it as a magnitude).
  @inline(__always)
  static func fit(_ c: CodeSums, n: Int, sx: Float, nonPositiveMin: Bool) -> AffineFit? {
    let fn = Float(n)
    let det = fn * c.qq - c.q * c.q
    guard det > 0 else { return nil }
    let f = AffineFit(scale: (fn * c.qx - c.q * sx) / det, min: (c.qq * sx - c.q * c.qx) / det)
    if nonPositiveMin && f.min > 0 { return c.qq > 0 ? AffineFit(scale: c.qx / c.qq, min: 0) : nil }
    return f
  }

  /// Σ(x − (s·q + m))² from the sums, in double to avoid cancellation.
  @inline(__always)
  static func error(_ f: AffineFit, _ c: CodeSums, n: Int, sx: Float, sxx: Float) -> Double {
    let s = Double(f.scale), m = Double(f.min)
    return Double(sxx) - 2 * s * Double(c.qx) - 2 * m * Double(sx) + s * s * Double(c.qq) + 2 * s * m * Double(c.q) + Double(n) * m * m
  }

  /// Plain least squares of one group against its codes (q6 refinement).
  static func leastSquares(_ x: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int, nonPositiveMin: Bool = false) -> AffineFit? {
    var sq = F8(), sqq = F8(), sqx = F8(), sx = F8()
    var i = 0
    while i < n {
      let v = load8(x, i), c = load8(q, i)
      sq += c
      sqq += c * c
      sqx += c * v
      sx += v
      i += 8
    }
    return fit(CodeSums(q: sq.sum(), qq: sqq.sum(), qx: sqx.sum()), n: n, sx: sx.sum(), nonPositiveMin: nonPositiveMin)
  }

  /// Asymmetric fit of one group of n values (n a multiple of 8) to codes
  /// 0…levels (15: 4 bits). `rounding` rounds scale and min before they are
  /// scored, as they will be stored. Search: 3 candidate inverse scales,
  /// (levels − 1, levels, levels + 1)/(max−min);
  /// from each, up to three rounds of least-squares (scale, min) then new
  /// codes (the approach of llama.cpp's k-quant search, unweighted). The
  /// lowest squared error wins (measured on MiniLM: 0.16 dB below 21
  /// candidates × 2 refits at a fifth of the time, and no worse on model
  /// outputs); the winner's codes are left in `codes`.
  static func asymmetric(_ x: UnsafePointer<Float>, _ n: Int, search: Bool, rounding: ScaleRounding, levels: Float = 15, nonPositiveMin: Bool = false, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> AffineFit {
    var vlo = load8(x, 0), vhi = vlo, vsx = F8(), vsxx = F8()
    var i = 0
    while i < n {
      let v = load8(x, i)
      vlo = vlo.replacing(with: v, where: v .< vlo)
      vhi = vhi.replacing(with: v, where: v .> vhi)
      vsx += v
      vsxx += v * v
      i += 8
    }
    var lo = hmin(vlo), hi = hmax(vhi)
    let sx = vsx.sum(), sxx = vsxx.sum()
    if nonPositiveMin { lo = min(lo, 0) }
    @inline(__always) func store(_ v: Float) -> Float { rounding(v) }
    var best = AffineFit(scale: store((hi - lo) / levels), min: store(lo))
    if !search || !(hi > lo) {
      _ = quantizePass(x, n, offset: best.min, inv: best.scale > 0 ? 1 / best.scale : 0, lo: 0, hi: levels, codes: codes)
      return best
    }
    var bestErr = error(best, quantizePass(x, n, offset: best.min, inv: 1 / best.scale, lo: 0, hi: levels, codes: scratch), n: n, sx: sx, sxx: sxx)
    let range = hi - lo
    for target in [levels - 1, levels, levels + 1] {
      var c = quantizePass(x, n, offset: lo, inv: target / range, lo: 0, hi: levels, codes: scratch)
      var previous = Double.infinity
      for _ in 0..<3 {
        guard var f = fit(c, n: n, sx: sx, nonPositiveMin: nonPositiveMin) else { break }
        f.scale = store(f.scale)
        f.min = store(f.min)
        guard f.scale > 0 else { break }
        // These are f's best codes, so the error is exact for f.
        c = quantizePass(x, n, offset: f.min, inv: 1 / f.scale, lo: 0, hi: levels, codes: scratch)
        let e = error(f, c, n: n, sx: sx, sxx: sxx)
        if e < bestErr {
          bestErr = e
          best = f
        }
        // Converged: another refit of the same codes gives the same fit.
        guard e < previous else { break }
        // A candidate more than 5 % behind the best so far rarely catches up
        // (measured on MiniLM: −0.02 dB, +33 % speed).
        guard e < bestErr * 1.05 else { break }
        previous = e
      }
    }
    _ = quantizePass(x, n, offset: best.min, inv: 1 / best.scale, lo: 0, hi: levels, codes: codes)
    return best
  }

  /// Symmetric fit: value = scale · q, q ∈ qmin…qmax; returns the scale as
  /// it will be stored (f16-rounded when asked). Round-to-nearest uses the
  /// value of largest magnitude over qmin (Q4_0) or |max| over qmax (Q8_0).
  /// Search, 4-bit: 19 nearby inverse scales, each with a least-squares
  /// refit (the approach of llama.cpp's Q4_0 search, unweighted); 8-bit: two refits of
  /// the round-to-nearest codes (nearby candidates rarely win on a fine grid).
  /// `steps` overrides the candidate count (k = −steps…steps, 1.25 % apart)
  /// for any width (Q6_K's 6-bit sub-blocks).
  static func symmetric(_ x: UnsafePointer<Float>, _ n: Int, qmin: Float, qmax: Float, search: Bool, roundF16: Bool, steps: Int? = nil, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
    var vmax = F8(), vmin = F8(), vsxx = F8()
    var i = 0
    while i < n {
      let v = load8(x, i)
      vmax = vmax.replacing(with: v, where: v .> vmax)
      vmin = vmin.replacing(with: v, where: v .< vmin)
      vsxx += v * v
      i += 8
    }
    let top = hmax(vmax), bottom = hmin(vmin)
    let signed = -bottom > top ? bottom : top
    let amax = abs(signed)
    let sxx = Double(vsxx.sum())
    @inline(__always) func store(_ v: Float) -> Float { roundF16 ? f16(v) : v }
    @inline(__always) func err(_ s: Float, _ c: CodeSums) -> Double {
      Double(sxx) - 2 * Double(s) * Double(c.qx) + Double(s) * Double(s) * Double(c.qq)
    }
    guard amax > 0 else {
      codes.update(repeating: 0, count: n)
      return 0
    }
    // Q4_0 maps the extreme value to −8 (qmin < −qmax); Q8_0 maps |max| to 127.
    let (target, reference) = qmin < -qmax ? (qmin, signed) : (qmax, amax)
    var best = store(reference / target)
    let c0 = quantizePass(x, n, offset: 0, inv: best != 0 ? 1 / best : 0, lo: qmin, hi: qmax, codes: codes)
    guard search, best != 0 else { return best }
    var bestErr = err(best, c0)
    // Candidates are computed in the loop: an array per group was a heap
    // allocation per 16 values.
    let wide = qmax > 7 && steps == nil
    let k = steps ?? 9
    var refit = c0
    for i in 0..<(wide ? 2 : 2 * k + 1) {
      let c = wide ? refit : quantizePass(x, n, offset: 0, inv: target * (1 + 0.0125 * Float(i - k)) / reference, lo: qmin, hi: qmax, codes: scratch)
      guard c.qq > 0 else { continue }
      let s = store(c.qx / c.qq)
      guard s != 0, s.isFinite else { continue }
      let c2 = quantizePass(x, n, offset: 0, inv: 1 / s, lo: qmin, hi: qmax, codes: scratch)
      let e = err(s, c2)
      if e < bestErr {
        bestErr = e
        best = s
        codes.update(from: scratch, count: n)
        refit = c2
      } else if wide {
        break
      }
    }
    return best
  }
}

