import Dispatch
import IngotCore

/// Quantizes a tensor into its payload and measures the error against what a
/// reader will dequantize (the codec's own row decoder, rounded to the
/// logical dtype).
public enum Quantizer {
  /// - Parameters:
  ///   - values: rows × cols original values, row-major.
  ///   - logical: the tensor's dtype; dequantized values are rounded to it for the metrics.
  public static func quantize(
    _ values: UnsafeBufferPointer<Float>, codec: any QuantCodec, search: Bool, logical: DType, name: String,
    into payload: UnsafeMutableRawBufferPointer, parallel: Bool = true, importance: [Float]? = nil
  ) throws(QuantError) -> ErrorMetrics {
    let rowsPerChunk = codec.chunkRows
    let chunks = (codec.rows + rowsPerChunk - 1) / rowsPerChunk
    let results = Slots<Result<ErrorMetrics, QuantError>>(count: chunks)
    guard let base = payload.baseAddress else { return ErrorMetrics() }
    // nonisolated(unsafe): chunk c writes only its own rows' bytes (chunkRows guarantees no sharing).
    nonisolated(unsafe) let (src, dst) = (values, base)
    let weights = importance
    let work: @Sendable (Int) -> Void = { c in
      let rows = (c * rowsPerChunk)..<min(codec.rows, (c + 1) * rowsPerChunk)
      do throws(QuantError) {
        if let weights {
          try weights.withUnsafeBufferPointer { w throws(QuantError) in try codec.quantizeRows(rows, src, search: search, importance: w, name: name, into: dst) }
        } else {
          try codec.quantizeRows(rows, src, search: search, name: name, into: dst)
        }
        results[c] = .success(measure(rows, src, codec: codec, logical: logical, payload: UnsafeRawPointer(dst)))
      } catch {
        results[c] = .failure(error)
      }
    }
    if parallel {
      DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
    } else {
      for c in 0..<chunks { work(c) }
    }
    var total = ErrorMetrics()
    for c in 0..<chunks {  // fixed order: same sums on any number of threads
      switch results[c] {
      case .success(let m): total.merge(m)
      case .failure(let e): throw e
      case nil: break
      }
    }
    return total
  }

  static func measure(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, codec: any QuantCodec, logical: DType, payload: UnsafeRawPointer) -> ErrorMetrics {
    let cols = codec.cols
    let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: cols)
    defer { out.deallocate() }
    var m = ErrorMetrics()
    for r in rows {
      codec.dequantizeRow(r, payload: payload, into: out.baseAddress!)  // audited: cols > 0
      if logical != .f32 {
        for i in 0..<cols { out[i] = FloatConversion.round(out[i], to: logical) }
      }
      m.add(original: UnsafeBufferPointer(rebasing: values[(r * cols)..<((r + 1) * cols)]), dequantized: UnsafeBufferPointer(out))
    }
    return m
  }
}

/// Quantized payload → f32, exactly as formats/ingot-v1.md §5.3 defines it
/// (every product rounded to f32, no fused multiply-add), so tools/ingot_read.py
/// with numpy float32 gets the same bits.
public enum Dequantizer {
  /// Dequantizes the whole tensor into `out` (rows × cols), rows in parallel.
  public static func dequantize(_ payload: UnsafeRawBufferPointer, codec: any QuantCodec, into out: UnsafeMutablePointer<Float>) {
    guard let base = payload.baseAddress else { return }
    let rowsPerChunk = codec.chunkRows
    let chunks = (codec.rows + rowsPerChunk - 1) / rowsPerChunk
    // nonisolated(unsafe): chunk c writes rows [c·n, (c+1)·n) of `out` only.
    nonisolated(unsafe) let (src, dst) = (base, out)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
      for r in (c * rowsPerChunk)..<min(codec.rows, (c + 1) * rowsPerChunk) {
        codec.dequantizeRow(r, payload: src, into: dst + r * codec.cols)
      }
    }
  }
}
