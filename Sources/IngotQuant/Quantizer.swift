import Dispatch
import IngotContainer

public enum QuantError: Error, Equatable, Sendable, CustomStringConvertible {
  case nonFinite(tensor: String, row: Int)
  case outOfRange(tensor: String, row: Int)
  case alreadyQuantized(tensor: String, kind: String)

  public var description: String {
    switch self {
    case .nonFinite(let t, let row): return "\(t): row \(row) holds NaN or Inf; quantization needs finite values"
    case .outOfRange(let t, let row): return "\(t): row \(row): a scale does not fit in f16 (values beyond ±8.3 million)"
    case .alreadyQuantized(let t, let kind): return "\(t): already quantized (\(kind)); refusing to quantize twice (export or convert it to a float dtype first)"
    }
  }
}

/// Quantizes a tensor into its payload and measures the error against what a
/// reader will dequantize (the same `Dequantizer`, rounded to the logical dtype).
public enum Quantizer {
  /// - Parameters:
  ///   - values: rows × cols original values, row-major.
  ///   - logical: the tensor's dtype; dequantized values are rounded to it for the metrics.
  public static func quantize(
    _ values: UnsafeBufferPointer<Float>, layout: QuantLayout, search: Bool, logical: DType, name: String,
    into payload: UnsafeMutableRawBufferPointer, parallel: Bool = true
  ) throws(QuantError) -> ErrorMetrics {
    let rowsPerChunk = chunkRows(layout)
    let chunks = (layout.rows + rowsPerChunk - 1) / rowsPerChunk
    let results = ChunkResults(count: chunks)
    nonisolated(unsafe) let src = values
    nonisolated(unsafe) let dst = payload
    let work: @Sendable (Int) -> Void = { c in
      let rows = (c * rowsPerChunk)..<min(layout.rows, (c + 1) * rowsPerChunk)
      do throws(QuantError) {
        try quantizeRows(rows, src, layout: layout, search: search, name: name, into: dst)
        results.set(c, .success(measure(rows, src, layout: layout, logical: logical, payload: UnsafeRawBufferPointer(dst))))
      } catch {
        results.set(c, .failure(error))
      }
    }
    if parallel {
      DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
    } else {
      for c in 0..<chunks { work(c) }
    }
    var total = ErrorMetrics()
    for c in 0..<chunks {  // fixed order: same sums on any number of threads
      switch results.get(c) {
      case .success(let m): total.merge(m)
      case .failure(let e): throw e
      case nil: break
      }
    }
    return total
  }

  /// About 64 K values per chunk; an even row count when rows hold an odd
  /// number of q6 groups, so no two chunks share a byte of the bit stream.
  static func chunkRows(_ layout: QuantLayout) -> Int {
    var n = max(1, (64 << 10) / max(layout.cols, 1))
    if layout.scales == .q6 && (layout.cols / 32) % 2 == 1 && n % 2 == 1 { n += 1 }
    return n
  }

  static func measure(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, layout: QuantLayout, logical: DType, payload: UnsafeRawBufferPointer) -> ErrorMetrics {
    let cols = layout.cols
    let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: cols)
    defer { out.deallocate() }
    var m = ErrorMetrics()
    for r in rows {
      Dequantizer.dequantizeRow(r, payload: payload, layout: layout, into: out.baseAddress!)  // audited: cols > 0
      if logical != .f32 {
        for i in 0..<cols { out[i] = roundTo(logical, out[i]) }
      }
      m.add(original: UnsafeBufferPointer(rebasing: values[(r * cols)..<((r + 1) * cols)]), dequantized: UnsafeBufferPointer(out))
    }
    return m
  }

  static func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, layout: QuantLayout, search: Bool, name: String, into payload: UnsafeMutableRawBufferPointer) throws(QuantError) {
    let cols = layout.cols
    let g = layout.kind == .int8Channel ? cols : layout.groupSize
    // Room for a whole row (a q6 super-block can be one); scratch holds two.
    let x = UnsafeMutablePointer<Float>.allocate(capacity: cols)
    let codes = UnsafeMutablePointer<Float>.allocate(capacity: cols)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * cols)
    defer { x.deallocate(); codes.deallocate(); scratch.deallocate() }
    let base = payload.baseAddress!  // audited: a quantized payload is never empty
    for r in rows {
      let row = UnsafeBufferPointer(rebasing: values[(r * cols)..<((r + 1) * cols)])
      guard allFinite(row) else { throw .nonFinite(tensor: name, row: r) }
      switch layout.kind {
      case .int8Channel:
        try int8ChannelRow(row, r, layout: layout, search: search, name: name, base: base)
      case .int8Block:
        for b in 0..<(cols / 32) {
          load(row, from: b * 32, count: 32, into: x)
          let s = GroupKernels.symmetric(x, 32, qmin: -127, qmax: 127, search: search, roundF16: true, codes: codes, scratch: scratch)
          guard s.isFinite else { throw .outOfRange(tensor: name, row: r) }
          storeI8(codes, 32, base + r * cols + b * 32)
          storeF16(s, base + layout.scaleSection.lowerBound + 2 * (r * (cols / 32) + b))
        }
      case .int4Group where layout.scales == .plain:
        for j in 0..<(cols / g) {
          load(row, from: j * g, count: g, into: x)
          let gi = r * (cols / g) + j
          if layout.symmetric {
            let s = GroupKernels.symmetric(x, g, qmin: -8, qmax: 7, search: search, roundF16: true, codes: codes, scratch: scratch)
            guard s.isFinite else { throw .outOfRange(tensor: name, row: r) }
            for i in 0..<g { codes[i] += 8 }
            storeF16(s, base + layout.scaleSection.lowerBound + 2 * gi)
          } else {
            let fit = GroupKernels.asymmetric(x, g, search: search, roundF16: true, codes: codes, scratch: scratch)
            guard fit.scale.isFinite, fit.min.isFinite else { throw .outOfRange(tensor: name, row: r) }
            storeF16(fit.scale, base + layout.scaleSection.lowerBound + 2 * gi)
            storeF16(fit.min, base + layout.minSection.lowerBound + 2 * gi)
          }
          storeNibbles(codes, g, base + (r * cols + j * g) / 2)
        }
      case .int4Group:
        for sb in 0..<(cols / layout.superBlock) {
          try Q6.quantizeSuperBlock(row, r, sb, layout: layout, search: search, name: name, base: base, x: x, codes: codes, scratch: scratch)
        }
      }
    }
  }

  static func int8ChannelRow(_ row: UnsafeBufferPointer<Float>, _ r: Int, layout: QuantLayout, search: Bool, name: String, base: UnsafeMutableRawPointer) throws(QuantError) {
    let cols = layout.cols
    let x = row.baseAddress!  // audited: cols > 0
    var codes = UnsafeMutablePointer<Float>.allocate(capacity: cols + 8)
    var trial = UnsafeMutablePointer<Float>.allocate(capacity: cols + 8)
    defer { codes.deallocate(); trial.deallocate() }
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
    var c = pass(scale, codes)
    if search && amax > 0 {
      // A least-squares refit of the row scale; kept if it errs less (the
      // winner's codes stay in `codes`). A second refit gained < 0.01 dB on
      // MiniLM for a third more time.
      var bestErr = error(scale, c)
      for _ in 0..<1 where c.qq > 0 {
        let s = c.qx / c.qq
        let nc = pass(s, trial)
        let e = error(s, nc)
        guard e < bestErr else { break }
        (bestErr, scale, c) = (e, s, nc)
        swap(&codes, &trial)
      }
    }
    storeI8(codes, cols, base + r * cols)
    (base + layout.scaleSection.lowerBound + 4 * r).storeBytes(of: scale.bitPattern.littleEndian, as: UInt32.self)
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

  @inline(__always) static func roundTo(_ dtype: DType, _ v: Float) -> Float {
    switch dtype {
    case .f16: return Float(Float16(v))
    case .bf16:
      let bits = v.bitPattern
      return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    default: return v
    }
  }
}

/// Results of concurrent chunks, one slot each.
final class ChunkResults: @unchecked Sendable {
  private var slots: [Result<ErrorMetrics, QuantError>?]
  private let lock = PThreadMutex()
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ r: Result<ErrorMetrics, QuantError>) { lock.locked { slots[i] = r } }
  func get(_ i: Int) -> Result<ErrorMetrics, QuantError>? { lock.locked { slots[i] } }
}

extension QuantError: ReportableError {}
