import IngotCore

/// Quantizers that write ggml's block bytes (formats/ingot-v1.md §5.3
/// "ggml"), with this project's own deterministic, unweighted scale search
/// (GroupKernels): each fit is scored by its squared error as it will be
/// read back, and the k-quants re-round every code under the 6-bit (or
/// 8-bit) sub-block scale actually stored.
enum GGMLQuantize {
  /// Scratch for one block of up to 256 values.
  struct Scratch {
    let codes: UnsafeMutablePointer<Float>
    let work: UnsafeMutablePointer<Float>
    let fits: UnsafeMutablePointer<Float>
    /// Sub-block scales and minimums as stored.
    let small: UnsafeMutablePointer<UInt8>
    init() {
      codes = .allocate(capacity: 256)
      work = .allocate(capacity: 512)
      fits = .allocate(capacity: 64)
      small = .allocate(capacity: 32)
    }
    func deallocate() {
      small.deallocate()
      codes.deallocate()
      work.deallocate()
      fits.deallocate()
    }
  }

  /// Quantizes `n` values (whole blocks) of `x` into `out`, each value's
  /// error weighted by `w` (its input channel's importance) when given.
  /// False when a stored scale would not fit in f16.
  static func row(_ type: GGMLType, _ x: UnsafePointer<Float>, _ n: Int, search: Bool, importance w: UnsafePointer<Float>? = nil, hqq: Bool = false,
                  _ s: Scratch, into out: UnsafeMutableRawPointer) -> Bool {
    let (elements, bytes) = type.block
    var ok = true
    for b in 0..<(n / elements) {
      let xb = x + b * elements, ob = out + b * bytes, wb = w.map { $0 + b * elements }
      switch type {
      case .q8_0: ok = q8_0(xb, wb, search, s, ob) && ok
      case .q4_0: ok = q4_0(xb, wb, search, s, ob) && ok
      case .q4_1: ok = q4_1(xb, wb, search, s, ob, hqq: hqq) && ok
      case .q5_0: ok = q5_0(xb, wb, search, s, ob) && ok
      case .q5_1: ok = q5_1(xb, wb, search, s, ob, hqq: hqq) && ok
      case .q4_K: ok = kAffine(xb, wb, levels: 15, search, s, ob, hqq: hqq) && ok
      case .q5_K: ok = kAffine(xb, wb, levels: 31, search, s, ob, hqq: hqq) && ok
      case .q6_K: ok = q6_K(xb, wb, search, s, ob) && ok
      case .iq4_nl: ok = iq4_nl(xb, wb, search, s, ob) && ok
      case .iq4_xs: ok = iq4_xs(xb, wb, search, s, ob) && ok
      default: return false
      }
    }
    return ok
  }

  /// The types these quantizers write.
  static let quantizable: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs]

  @inline(__always) static func putF16(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) -> Bool {
    let h = Float16(v)
    (p + offset).storeBytes(of: h.bitPattern.littleEndian, as: UInt16.self)
    return h.isFinite
  }

  @inline(__always) static func byte(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: UInt8) {
    (p + offset).storeBytes(of: v, as: UInt8.self)
  }

  @inline(__always) static func code(_ c: UnsafeMutablePointer<Float>, _ i: Int, plus bias: Float = 0) -> UInt8 { Kernels.lowByte(c[i] + bias) }

  /// ggml's 32-value packing: byte j holds element j (low) and j + 16 (high).
  @inline(__always) static func packHalves(_ c: UnsafeMutablePointer<Float>, bias: Float, _ out: UnsafeMutableRawPointer, mask: UInt8 = 0x0F) {
    for j in 0..<16 { byte(out, j, (code(c, j, plus: bias) & mask) | (code(c, j + 16, plus: bias) & mask) << 4) }
  }

  /// Q5's fifth bits: bit j of the u32 is element j's (elements 0…31).
  @inline(__always) static func highBits(_ c: UnsafeMutablePointer<Float>, bias: Float, _ out: UnsafeMutableRawPointer) {
    var qh: UInt32 = 0
    for j in 0..<32 { qh |= UInt32((code(c, j, plus: bias) >> 4) & 1) << UInt32(j) }
    out.storeBytes(of: qh.littleEndian, as: UInt32.self)
  }

  /// Writes a block's codes (as the quantizers hold them: signed for Q8_0,
  /// Q4_0 and Q5_0, 0…63 for Q6_K, level indices for IQ4) into its bytes,
  /// leaving its scales as they are.
  static func pack(_ type: GGMLType, _ c: UnsafeMutablePointer<Float>, _ out: UnsafeMutableRawPointer) {
    switch type {
    case .q8_0: Kernels.storeI8(c, 32, out + 2)
    case .q4_0: packHalves(c, bias: 8, out + 2)
    case .q5_0:
      highBits(c, bias: 16, out + 2)
      packHalves(c, bias: 16, out + 6)
    case .q4_1: packHalves(c, bias: 0, out + 4)
    case .q5_1:
      highBits(c, bias: 0, out + 4)
      packHalves(c, bias: 0, out + 8)
    case .iq4_nl: packHalves(c, bias: 0, out + 2)
    case .iq4_xs: for j in 0..<8 { packHalves(c + 32 * j, bias: 0, out + 8 + 16 * j) }
    case .q4_K, .q5_K:
      let five = type == .q5_K
      let qs = out + (five ? 48 : 16)
      if five {
        // Byte l of qh holds element 64c + l's fifth bit at bit 2c and
        // element 64c + 32 + l's at bit 2c + 1.
        for l in 0..<32 {
          var h: UInt8 = 0
          for g in 0..<4 {
            h |= ((code(c, 64 * g + l) >> 4) & 1) << UInt8(2 * g)
            h |= ((code(c, 64 * g + 32 + l) >> 4) & 1) << UInt8(2 * g + 1)
          }
          byte(out, 16 + l, h)
        }
      }
      for g in 0..<4 {
        for l in 0..<32 { byte(qs, 32 * g + l, (code(c, 64 * g + l) & 0xF) | (code(c, 64 * g + 32 + l) & 0xF) << 4) }
      }
    case .q6_K:
      // Per 128 values (half k): ql at 64k, qh at 128 + 32k; element
      // 128k + l (+32, +64, +96) from ql[l] low, ql[l+32] low, ql[l] high,
      // ql[l+32] high, with its top two bits at qh[l] bits 0, 2, 4, 6.
      for k in 0..<2 {
        for l in 0..<32 {
          let base = 128 * k + l
          // Codes are integral 0…63 here: their low byte, without a range-checked conversion.
          let q1 = Kernels.lowByte(c[base]), q2 = Kernels.lowByte(c[base + 32])
          let q3 = Kernels.lowByte(c[base + 64]), q4 = Kernels.lowByte(c[base + 96])
          byte(out, 64 * k + l, (q1 & 0xF) | (q3 & 0xF) << 4)
          byte(out, 64 * k + l + 32, (q2 & 0xF) | (q4 & 0xF) << 4)
          byte(out, 128 + 32 * k + l, (q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6)
        }
      }
    default: break
    }
  }

  /// A symmetric fit, weighted when importances are given.
  @inline(__always) static func sym(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ n: Int, _ qmin: Float, _ qmax: Float, _ search: Bool,
                                     roundF16: Bool, steps: Int, _ s: Scratch) -> Float {
    if let w { return WeightedKernels.symmetric(x, w, n, qmin: qmin, qmax: qmax, search: search, roundF16: roundF16, steps: steps, codes: s.codes, scratch: s.work) }
    return GroupKernels.symmetric(x, n, qmin: qmin, qmax: qmax, search: search, roundF16: roundF16, codes: s.codes, scratch: s.work)
  }

  /// The types `--method hqq` fits (an affine zero point to optimise).
  static let hqqTypes: [GGMLType] = [.q4_1, .q5_1, .q4_K, .q5_K]

  /// An affine fit, weighted when importances are given; HQQ's when asked.
  @inline(__always) static func affine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ n: Int, levels: Float, _ search: Bool,
                                        rounding: ScaleRounding, nonPositiveMin: Bool, _ s: Scratch, hqq: Bool = false) -> AffineFit {
    if hqq { return HQQKernels.asymmetric(x, n, rounding: rounding, levels: levels, nonPositiveMin: nonPositiveMin, codes: s.codes) }
    if let w {
      return WeightedKernels.asymmetric(x, w, n, search: search, rounding: rounding, levels: levels, nonPositiveMin: nonPositiveMin, codes: s.codes, scratch: s.work)
    }
    return GroupKernels.asymmetric(x, n, search: search, rounding: rounding, levels: levels, nonPositiveMin: nonPositiveMin, codes: s.codes, scratch: s.work)
  }

  static func q8_0(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer) -> Bool {
    let d = sym(x, w, 32, -127, 127, search, roundF16: true, steps: 1, s)
    pack(.q8_0, s.codes, out)
    return putF16(d, out, 0)
  }

  static func q4_0(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer) -> Bool {
    let d = sym(x, w, 32, -8, 7, search, roundF16: true, steps: 9, s)
    pack(.q4_0, s.codes, out)
    return putF16(d, out, 0)
  }

  static func q5_0(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer) -> Bool {
    let d = sym(x, w, 32, -16, 15, search, roundF16: true, steps: 2, s)
    pack(.q5_0, s.codes, out)
    return putF16(d, out, 0)
  }

  static func q4_1(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer, hqq: Bool = false) -> Bool {
    let f = affine(x, w, 32, levels: 15, search, rounding: .f16, nonPositiveMin: false, s, hqq: hqq)
    pack(.q4_1, s.codes, out)
    return putF16(f.scale, out, 0) && putF16(f.min, out, 2)
  }

  static func q5_1(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer, hqq: Bool = false) -> Bool {
    let f = affine(x, w, 32, levels: 31, search, rounding: .f16, nonPositiveMin: false, s, hqq: hqq)
    pack(.q5_1, s.codes, out)
    return putF16(f.scale, out, 0) && putF16(f.min, out, 2)
  }

  /// Codes of `n` values for value = d·q − m, q ∈ 0…levels, into `codes`.
  @inline(__always) static func affineCodes(_ x: UnsafePointer<Float>, _ n: Int, d: Float, m: Float, levels: Float, _ codes: UnsafeMutablePointer<Float>) {
    let inv: Float = d > 0 ? 1 / d : 0
    for i in 0..<n { codes[i] = roundClamp((x[i] + m) * inv, 0, levels) }
  }

  /// Q4_K (levels 15) and Q5_K (31): eight sub-blocks of 32, each fitted
  /// as scale·q + min with min ≤ 0 (stored as the magnitude m = −min); the
  /// sixteen values go to 6-bit integers under the f16 super-scales d =
  /// max scale / 63 and dmin = max m / 63; then every code is re-rounded
  /// under the sub-block's stored d·sc and dmin·m.
  static func kAffine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, levels: Float, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer,
                      hqq: Bool = false) -> Bool {
    let scales = s.fits, mins = s.fits + 8
    var maxScale: Float = 0, maxMin: Float = 0
    for j in 0..<8 {
      let f = affine(x + 32 * j, w.map { $0 + 32 * j }, 32, levels: levels, search, rounding: .none, nonPositiveMin: true, s, hqq: hqq)
      scales[j] = max(0, f.scale)
      mins[j] = max(0, -f.min)
      maxScale = max(maxScale, scales[j])
      maxMin = max(maxMin, mins[j])
    }
    let d = f16(maxScale / 63), dmin = f16(maxMin / 63)
    let sc = s.small, mn = s.small + 8
    for j in 0..<8 {
      sc[j] = d > 0 ? UInt8(roundClamp(scales[j] / d, 0, 63)) : 0
      mn[j] = dmin > 0 ? UInt8(roundClamp(mins[j] / dmin, 0, 63)) : 0
      // HQQ's fit stands as it is (its ℓp objective, not refineK's squared error).
      if search && !hqq { refineK(x + 32 * j, w.map { $0 + 32 * j }, levels: levels, d: d, dmin: dmin, sc: &sc[j], mn: &mn[j], s) }
      affineCodes(x + 32 * j, 32, d: d * Float(sc[j]), m: dmin * Float(mn[j]), levels: levels, s.codes + 32 * j)
    }
    let ok = putF16(d, out, 0) && putF16(dmin, out, 2)
    // get_scale_min_k4's inverse: sub-blocks 0–3 whole in bytes 0–7; 4–7 as
    // low nibbles in bytes 8–11 and high two bits atop bytes 0–7.
    for j in 0..<4 {
      byte(out, 4 + j, (sc[j] & 63) | (sc[j + 4] >> 4) << 6)
      byte(out, 8 + j, (mn[j] & 63) | (mn[j + 4] >> 4) << 6)
      byte(out, 12 + j, (sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4)
    }
    pack(levels > 15 ? .q5_K : .q4_K, s.codes, out)
    return ok
  }

  /// The stored 6-bit scale and minimum of one sub-block, moved by ±1 where
  /// that lowers the sub-block's squared error under the fixed super-scales.
  static func refineK(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, levels: Float, d: Float, dmin: Float, sc: inout UInt8, mn: inout UInt8, _ s: Scratch) {
    @inline(__always) func err(_ a: Int, _ b: Int) -> Float {
      let dd = d * Float(a), mm = dmin * Float(b)
      let inv: Float = dd > 0 ? 1 / dd : 0
      var e = F8()
      var i = 0
      while i < 32 {
        let v = load8(x, i)
        let q = roundClamp8((v + mm) * inv, 0, levels)
        let r = dd * q - mm - v
        e += w.map { load8($0, i) * r * r } ?? r * r
        i += 8
      }
      return e.sum()
    }
    var best = err(Int(sc), Int(mn)), bs = Int(sc), bm = Int(mn)
    for a in max(0, Int(sc) - 1)...min(63, Int(sc) + 1) {
      for b in max(0, Int(mn) - 1)...min(63, Int(mn) + 1) where a != Int(sc) || b != Int(mn) {
        let e = err(a, b)
        if e < best {
          best = e
          bs = a
          bm = b
        }
      }
    }
    sc = UInt8(bs)
    mn = UInt8(bm)
  }

  /// Q6_K: sixteen sub-blocks of 16 fitted as scale·q, q ∈ −32…31; the
  /// scales as int8 under the f16 d = −(scale of largest magnitude)/128,
  /// so that one maps to −128; codes re-rounded under d·sc.
  /// A Q6_K sub-block's starting scale: its value of largest magnitude
  /// mapped to −32 (two SIMD8 halves). The search is in refine6, on the
  /// stored int8 scale (measured on MiniLM's 1536-wide matrices with
  /// tools/bench_ggml.py: least-squares candidates here cost ≈ 36 ns each
  /// per sub-block for +0.05 dB apiece; eight stored scales tried at once
  /// gain 0.2 dB over the extreme mapping for less).
  @inline(__always) static func q6Start(_ x: UnsafePointer<Float>) -> Float {
    let v0 = load8(x, 0), v1 = load8(x, 8)
    let hi = v0.replacing(with: v1, where: v1 .> v0), lo = v0.replacing(with: v1, where: v1 .< v0)
    let top = hmax(hi), bottom = hmin(lo)
    let signed = -bottom > top ? bottom : top
    return signed / -32
  }


  static func q6_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer) -> Bool {
    let scales = s.fits
    var top: Float = 0
    for j in 0..<16 {
      scales[j] = q6Start(x + 16 * j)
      if abs(scales[j]) > abs(top) { top = scales[j] }
    }
    let d = f16(-top / 128)
    let sc = s.small
    for j in 0..<16 {
      var l = d != 0 ? Int(roundClamp(scales[j] / d, -128, 127)) : 0
      if search && d != 0 { l = refine6(x + 16 * j, w.map { $0 + 16 * j }, d: d, l) }
      sc[j] = UInt8(bitPattern: Int8(l))
      let dd = d * Float(l)
      let inv: Float = dd != 0 ? 1 / dd : 0
      store8(s.codes, 16 * j, roundClamp8(load8(x, 16 * j) * inv, -32, 31) + 32)
      store8(s.codes, 16 * j + 8, roundClamp8(load8(x, 16 * j + 8) * inv, -32, 31) + 32)
    }
    pack(.q6_K, s.codes, out)
    for j in 0..<16 { byte(out, 192 + j, sc[j]) }
    return putF16(d, out, 208)
  }

  /// A Q6_K sub-block's int8 scale: the one of l − 4 … l + 3 whose
  /// re-rounded codes err least (ties: the lower). The eight candidates
  /// are the eight lanes of one SIMD8 pass over the sixteen values, so
  /// there is no horizontal sum per candidate.
  static func refine6(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, d: Float, _ l: Int) -> Int {
    let offsets = F8(-4, -3, -2, -1, 0, 1, 2, 3)
    var scales = F8(repeating: Float(l)) + offsets
    scales = scales.replacing(with: -128, where: scales .< -128).replacing(with: 127, where: scales .> 127)
    let dd = scales * d
    var inv = F8(repeating: 1) / dd
    inv = inv.replacing(with: 0, where: dd .== 0)
    var e = F8()
    for i in 0..<16 {
      let v = F8(repeating: x[i])
      let r = dd * roundClamp8(v * inv, -32, 31) - v
      e += w.map { F8(repeating: $0[i]) * r * r } ?? r * r
    }
    var best = 4
    for k in 0..<8 where e[k] < e[best] || (e[k] == e[best] && k < best) { best = k }
    return Int(scales[best])
  }

  // MARK: IQ4 (non-uniform levels)

  /// The level nearest `v` among GGMLDequant.iq4Values (sorted).
  @inline(__always) static func nearestLevel(_ v: Float) -> Int {
    let t = GGMLDequant.iq4Values
    var lo = 0, hi = 15
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if v < t[mid] { hi = mid } else { lo = mid }
    }
    return v - t[lo] <= t[hi] - v ? lo : hi
  }

  /// The best d for value = d·level over `n` values: the two extreme
  /// mappings (largest magnitude to −127 or to 113) and nearby inverse
  /// scales, each refitted by least squares on its chosen levels. Leaves
  /// the chosen level indices in `codes`; returns d (0 for an all-zero block).
  static func iq4Scale(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ n: Int, search: Bool, roundF16: Bool, codes: UnsafeMutablePointer<Float>) -> Float {
    var signed: Float = 0, sxx: Float = 0
    for i in 0..<n {
      if abs(x[i]) > abs(signed) { signed = x[i] }
      sxx += x[i] * x[i]
    }
    guard signed != 0 else {
      for i in 0..<n { codes[i] = 8 }  // level 1: the nearest to 0 (times d = 0)
      return 0
    }
    let t = GGMLDequant.iq4Values
    @inline(__always) func store(_ v: Float) -> Float { roundF16 ? f16(v) : v }
    // Squared error of d with each value's nearest level; the sums for a refit.
    func trial(_ d: Float, keep: Bool) -> (err: Float, sxv: Float, svv: Float) {
      let inv = 1 / d
      var sxv: Float = 0, svv: Float = 0, e: Float = 0
      for i in 0..<n {
        let k = nearestLevel(x[i] * inv)
        let v = t[k]
        if keep { codes[i] = Float(k) }
        let wt = w?[i] ?? 1
        sxv += wt * x[i] * v
        svv += wt * v * v
        let r = x[i] - d * v
        e += wt * r * r
      }
      return (e, sxv, svv)
    }
    var best = store(signed / -127)
    var bestErr = trial(best, keep: false).err
    if search {
      for target in [-127, 113] as [Float] {
        for k in -3...3 {
          let d0 = signed / (target + Float(k) * (target < 0 ? -3 : 3))
          let r = trial(d0, keep: false)
          guard r.svv > 0 else { continue }
          let d = store(r.sxv / r.svv)
          guard d != 0, d.isFinite else { continue }
          let e = trial(d, keep: false).err
          if e < bestErr {
            bestErr = e
            best = d
          }
        }
      }
    }
    _ = trial(best, keep: true)
    return best
  }

  static func iq4_nl(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer) -> Bool {
    let d = iq4Scale(x, w, 32, search: search, roundF16: true, codes: s.codes)
    pack(.iq4_nl, s.codes, out)
    return putF16(d, out, 0)
  }

  /// IQ4_XS: eight sub-blocks of 32 with their own d (as IQ4_NL), stored as
  /// 6-bit ls − 32 under the f16 d = −(largest magnitude)/32; levels then
  /// re-chosen under each stored d·(ls − 32).
  static func iq4_xs(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ search: Bool, _ s: Scratch, _ out: UnsafeMutableRawPointer) -> Bool {
    let scales = s.fits
    var top: Float = 0
    for j in 0..<8 {
      scales[j] = iq4Scale(x + 32 * j, w.map { $0 + 32 * j }, 32, search: search, roundF16: false, codes: s.codes)
      if abs(scales[j]) > abs(top) { top = scales[j] }
    }
    let d = f16(-top / 32)
    var high: UInt16 = 0
    let low = s.small
    low.update(repeating: 0, count: 4)
    let t = GGMLDequant.iq4Values
    for j in 0..<8 {
      var l = d != 0 ? Int(roundClamp(scales[j] / d, -32, 31)) : 0
      func levels(_ a: Int, keep: Bool) -> Float {
        let dl = d * Float(a)
        var e: Float = 0
        for i in 0..<32 {
          let v = x[32 * j + i]
          let k = dl != 0 ? nearestLevel(v / dl) : 8
          if keep { s.codes[32 * j + i] = Float(k) }
          let r = v - dl * t[k]
          e += (w?[32 * j + i] ?? 1) * r * r
        }
        return e
      }
      if search && d != 0 {
        var bestErr = levels(l, keep: false)
        let l0 = l
        for a in [l0 - 1, l0 + 1] where a >= -32 && a <= 31 {
          let e = levels(a, keep: false)
          if e < bestErr {
            bestErr = e
            l = a
          }
        }
      }
      _ = levels(l, keep: true)
      let ls = UInt8(l + 32)
      low[j / 2] |= (ls & 0xF) << (4 * UInt8(j % 2))
      high |= UInt16(ls >> 4) << (2 * UInt16(j))
    }
    (out + 2).storeBytes(of: high.littleEndian, as: UInt16.self)
    for j in 0..<4 { byte(out, 4 + j, low[j]) }
    pack(.iq4_xs, s.codes, out)
    return putF16(d, out, 0)
  }
}
