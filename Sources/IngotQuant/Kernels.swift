/// Row helpers the codecs share: finite-value check, code and scale
/// stores, the per-row int8 search.
enum Kernels {
  /// Room for a whole row (a q6 super-block can be one); `work` holds two.
  struct Scratch {
    let x: UnsafeMutablePointer<Float>
    let codes: UnsafeMutablePointer<Float>
    let work: UnsafeMutablePointer<Float>
    init(_ cols: Int) {
      x = .allocate(capacity: cols)
      codes = .allocate(capacity: cols)
      work = .allocate(capacity: 2 * cols)
    }
    func deallocate() {
      x.deallocate()
      codes.deallocate()
      work.deallocate()
    }
  }

  /// Row `r` of `values`, refused when it holds NaN or ±Inf.
  static func row(_ values: UnsafeBufferPointer<Float>, _ r: Int, _ cols: Int, name: String) throws(QuantError) -> UnsafeBufferPointer<Float> {
    let row = UnsafeBufferPointer(rebasing: values[(r * cols)..<((r + 1) * cols)])
    guard allFinite(row) else { throw .nonFinite(tensor: name, row: r) }
    return row
  }

  /// True when no value is NaN or ±Inf (x·0 is NaN exactly for those).
  static func allFinite(_ row: UnsafeBufferPointer<Float>) -> Bool {
    guard let p = row.baseAddress else { return true }
    var acc = F8()
    var i = 0
    while i + 8 <= row.count {
      acc += load8(p, i) * 0
      i += 8
    }
    var tail: Float = 0
    while i < row.count {
      tail += p[i] * 0
      i += 1
    }
    return !acc.sum().isNaN && !tail.isNaN
  }

  /// One row's int8 scale: absmax/127, then (with search) one least-squares
  /// refit kept if it errs less. A second refit gained < 0.01 dB on MiniLM
  /// for a third more time. Returns the winner's codes (`codes` or `trial`).
  static func int8Row(_ row: UnsafeBufferPointer<Float>, search: Bool, codes: UnsafeMutablePointer<Float>, trial: UnsafeMutablePointer<Float>) -> (scale: Float, codes: UnsafeMutablePointer<Float>) {
    let cols = row.count
    let x = row.baseAddress!  // audited: cols > 0
    var vmax = F8(), vsxx = F8()
    var i = 0
    while i + 8 <= cols {
      let v = load8(x, i)
      let a = v.replacing(with: -v, where: v .< 0)
      vmax = vmax.replacing(with: a, where: a .> vmax)
      vsxx += v * v
      i += 8
    }
    var amax = hmax(vmax)
    var sxx = Double(vsxx.sum())
    while i < cols {
      amax = max(amax, abs(x[i]))
      sxx += Double(x[i]) * Double(x[i])
      i += 1
    }
    func pass(_ s: Float, _ out: UnsafeMutablePointer<Float>) -> CodeSums {
      GroupKernels.quantizePassAny(x, cols, inv: s > 0 ? 1 / s : 0, lo: -127, hi: 127, codes: out)
    }
    func error(_ s: Float, _ c: CodeSums) -> Double { sxx - 2 * Double(s) * Double(c.qx) + Double(s) * Double(s) * Double(c.qq) }
    var scale = amax / 127
    let c = pass(scale, codes)
    guard search && amax > 0 && c.qq > 0 else { return (scale, codes) }
    let s = c.qx / c.qq
    let nc = pass(s, trial)
    guard error(s, nc) < error(scale, c) else { return (scale, codes) }
    scale = s
    return (scale, trial)
  }

  @inline(__always) static func load(_ row: UnsafeBufferPointer<Float>, from: Int, count: Int, into x: UnsafeMutablePointer<Float>) {
    x.update(from: row.baseAddress! + from, count: count)  // audited: from + count ≤ row length
  }

  /// The low byte of an integral float q with |q| < 2^22 is q mod 256 once
  /// 1.5·2^23 is added: no range-checked conversion, so the loop vectorizes.
  @inline(__always) static func lowByte(_ q: Float) -> UInt8 { UInt8(truncatingIfNeeded: (q + 12_582_912).bitPattern) }

  @inline(__always) static func storeI8(_ codes: UnsafePointer<Float>, _ n: Int, _ out: UnsafeMutableRawPointer) {
    let p = out.assumingMemoryBound(to: UInt8.self)
    for i in 0..<n { p[i] = lowByte(codes[i]) }
  }

  /// Element 2i in the low nibble, 2i+1 in the high nibble.
  @inline(__always) static func storeNibbles(_ codes: UnsafePointer<Float>, _ n: Int, _ out: UnsafeMutableRawPointer) {
    let p = out.assumingMemoryBound(to: UInt8.self)
    for i in 0..<(n / 2) { p[i] = lowByte(codes[2 * i]) | lowByte(codes[2 * i + 1]) << 4 }
  }

  @inline(__always) static func storeF16(_ v: Float, _ out: UnsafeMutableRawPointer) {
    out.storeBytes(of: Float16(v).bitPattern.littleEndian, as: UInt16.self)
  }

  @inline(__always) static func f16At(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }

  /// Exact f16 → f32: bit arithmetic for normal numbers and zero, the
  /// library conversion (software on baseline x86-64) for the rest.
  @inline(__always) static func halfToFloat(_ h: UInt16) -> Float {
    let e = (h >> 10) & 0x1F
    if e != 0 && e != 31 {
      return Float(bitPattern: UInt32(h & 0x8000) << 16 | (UInt32(e) + 112) << 23 | UInt32(h & 0x3FF) << 13)
    }
    if h & 0x7FFF == 0 { return Float(bitPattern: UInt32(h) << 16) }
    return Float(Float16(bitPattern: h))
  }
}
