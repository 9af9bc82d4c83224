import IngotCore

/// int4_group with q6 scales (formats/ingot-v1.md §5.3): per group of 32 a
/// 6-bit scale index and a 6-bit minimum index, under an f16 super-scale d
/// and super-minimum dmin per super-block:
///   value = (sc·d)·q − (mn·dmin),  q ∈ 0…15, sc, mn ∈ 0…63.
/// 4 + 12/32 bits per weight, plus 32 bits per super-block (4.5 at 256).
enum Q6 {
  struct Candidate {
    var d: Float
    var dmin: Float
    var sc: [UInt8]
    var mn: [UInt8]
    var error: Float
  }

  static func quantizeSuperBlock(
    _ row: UnsafeBufferPointer<Float>, _ r: Int, _ sb: Int, layout: Int4GroupCodec, search: Bool, name: String,
    base: UnsafeMutableRawPointer, x: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) throws(QuantError) {
    let groups = layout.superBlock / 32
    let n = layout.superBlock
    let first = sb * layout.superBlock
    Kernels.load(row, from: first, count: layout.superBlock, into: x)

    // 1. Each group's best float (scale, min).
    var scales = [Float](repeating: 0, count: groups)
    var mins = [Float](repeating: 0, count: groups)
    for j in 0..<groups {
      let fit = GroupKernels.asymmetric(x + 32 * j, 32, search: search, rounding: .none, nonPositiveMin: true, codes: codes + 32 * j, scratch: scratch)
      scales[j] = fit.scale
      mins[j] = fit.min
    }
    var best = candidate(x, groups, scales, mins, codes: codes)
    if search {
      // 2. Refit each group's (scale, min) to the codes just chosen, requantize.
      for j in 0..<groups {
        if let f = GroupKernels.leastSquares(x + 32 * j, codes + 32 * j, 32, nonPositiveMin: true) {
          scales[j] = f.scale
          mins[j] = f.min
        }
      }
      let refit = candidate(x, groups, scales, mins, codes: scratch + n)
      if refit.error < best.error {
        best = refit
        codes.update(from: scratch + n, count: n)
      }
      // 3. Refit d and dmin together to the chosen indices and codes.
      if let (d, dmin) = superFit(x, groups, best, codes: codes) {
        var c = best
        c.d = f16(d)
        c.dmin = f16(dmin)
        c.error = requantize(x, groups, &c, codes: scratch + n)
        if c.error < best.error && c.d > 0 && c.dmin >= 0 {
          best = c
          codes.update(from: scratch + n, count: n)
        }
      }
    }
    guard best.d.isFinite, best.dmin.isFinite else { throw .outOfRange(tensor: name, row: r) }

    // Store codes, the 12-bit (sc, mn) entries, and d / dmin.
    Kernels.storeNibbles(codes, layout.superBlock, base + (r * layout.cols + first) / 2)
    let stream = (base + layout.scaleSection.lowerBound).assumingMemoryBound(to: UInt8.self)
    let firstGroup = (r * layout.cols + first) / 32
    for j in 0..<groups {
      let gi = firstGroup + j
      let entry = UInt16(best.sc[j]) | UInt16(best.mn[j]) << 6
      let bit = gi * 12
      if bit % 8 == 0 {
        stream[bit / 8] = UInt8(entry & 0xFF)
        stream[bit / 8 + 1] = (stream[bit / 8 + 1] & 0xF0) | UInt8(entry >> 8)
      } else {
        stream[bit / 8] = (stream[bit / 8] & 0x0F) | UInt8((entry & 0xF) << 4)
        stream[bit / 8 + 1] = UInt8(entry >> 4)
      }
    }
    let sbIndex = (r * layout.cols + first) / layout.superBlock
    Kernels.storeF16(best.d, base + layout.minSection.lowerBound + 2 * sbIndex)
    Kernels.storeF16(best.dmin, base + layout.minSection.lowerBound + 2 * layout.superBlocks + 2 * sbIndex)
  }

  /// Quantizes float (scale, min) pairs to 6-bit indices (the minimum is
  /// stored as a magnitude: positive minimums become 0) and the codes to them.
  static func candidate(_ x: UnsafePointer<Float>, _ groups: Int, _ scales: [Float], _ mins: [Float], codes: UnsafeMutablePointer<Float>) -> Candidate {
    var smax: Float = 0, mmax: Float = 0
    for j in 0..<groups {
      smax = max(smax, scales[j])
      mmax = max(mmax, -mins[j])
    }
    let d = f16(smax / 63), dmin = f16(mmax / 63)
    var c = Candidate(d: d, dmin: dmin, sc: [], mn: [], error: 0)
    for j in 0..<groups {
      c.sc.append(d > 0 ? UInt8(min(63, max(0, (scales[j] / d).rounded(.toNearestOrEven)))) : 0)
      c.mn.append(dmin > 0 ? UInt8(min(63, max(0, (-mins[j] / dmin).rounded(.toNearestOrEven)))) : 0)
    }
    c.error = requantize(x, groups, &c, codes: codes)
    return c
  }

  /// Best codes for fixed indices and super-scales; returns the squared error.
  /// Arithmetic as the dequantizer does it: S = sc·d, M = mn·dmin, S·q − M.
  static func requantize(_ x: UnsafePointer<Float>, _ groups: Int, _ c: inout Candidate, codes: UnsafeMutablePointer<Float>) -> Float {
    var err = F8()
    for j in 0..<groups {
      let s = Float(c.sc[j]) * c.d
      let m = Float(c.mn[j]) * c.dmin
      let inv: Float = s > 0 ? 1 / s : 0
      var i = 32 * j
      while i < 32 * j + 32 {
        let v = load8(x, i)
        let q = roundClamp8((v + m) * inv, 0, 15)
        store8(codes, i, q)
        let e = v - (s * q - m)
        err += e * e
        i += 8
      }
    }
    return err.sum()
  }

  /// Least squares for x ≈ d·(sc·q) − dmin·mn over the super-block.
  static func superFit(_ x: UnsafePointer<Float>, _ groups: Int, _ c: Candidate, codes: UnsafePointer<Float>) -> (Float, Float)? {
    var aa = 0.0, bb = 0.0, ab = 0.0, ax = 0.0, bx = 0.0
    for j in 0..<groups {
      let sc = Float(c.sc[j]), b = -Float(c.mn[j])
      var qq: Float = 0, qs: Float = 0, qx: Float = 0, xs: Float = 0
      for i in (32 * j)..<(32 * j + 32) {
        qq += codes[i] * codes[i]
        qs += codes[i]
        qx += codes[i] * x[i]
        xs += x[i]
      }
      aa += Double(sc * sc * qq)
      bb += Double(b * b * 32)
      ab += Double(sc * qs * b)
      ax += Double(sc * qx)
      bx += Double(xs * b)
    }
    let det = aa * bb - ab * ab
    guard det > 0 else { return nil }
    return (Float((ax * bb - bx * ab) / det), Float((bx * aa - ax * ab) / det))
  }
}
