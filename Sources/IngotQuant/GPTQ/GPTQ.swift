import COpenBLAS
import Dispatch
import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// GPTQ (Frantar et al., 2022) into ggml's block layouts: the columns of a
/// weight W [out, in] are rounded left to right, and each rounding error is
/// spread over the columns not yet rounded so that the layer's output
/// XWᵀ, for the calibration inputs X, moves as little as it can. H = E[xxᵀ]
/// is the layer input's Gram matrix (`ingot calibrate --hessian`); with U
/// the upper Cholesky factor of H⁻¹ (H damped), column j's error
/// e = (w_j − q_j)/U_jj moves every later column k by −e·U_jk.
///
/// A block's scales are fitted when the sweep reaches it (on the weights as
/// compensated so far, each column weighed by E[x²] as imatrix does); its
/// codes are then chosen one column at a time on the grid those stored
/// scales allow (GGMLGrid), so the bytes are exactly what ggml reads. Rows
/// are independent: chunks of rows run in parallel, each with a
/// single-threaded sgemm for the update past the block.
public enum GPTQ {
  /// Damping as a fraction of H's mean diagonal (GPTQ's percdamp).
  public static let defaultDamping = 0.01

  /// Quantizes `values` (rows × cols) with `hessian` (cols × cols) into `payload`.
  /// The metrics compare the result with the original values.
  public static func quantize(
    _ values: UnsafeBufferPointer<Float>, codec: GGMLBlockCodec, hessian: UnsafeBufferPointer<Float>, damping: Double = defaultDamping,
    search: Bool, logical: DType, name: String, into payload: UnsafeMutableRawBufferPointer
  ) throws(QuantError) -> ErrorMetrics {
    let cols = codec.cols, rows = codec.rows
    guard hessian.count == cols * cols, let h = hessian.baseAddress, let out = payload.baseAddress, let src = values.baseAddress else {
      throw .outOfRange(tensor: name, row: 0)
    }
    guard let u = inverseFactor(h, cols, damping: damping) else { throw .outOfRange(tensor: name, row: 0) }
    var diagonal = [Float](repeating: 0, count: cols)
    for i in 0..<cols { diagonal[i] = max(0, h[i * cols + i]) }
    // Chunks of a fixed row count, whatever the core count: each chunk's
    // sgemm is then the same call, so the bytes do not depend on the machine.
    let rowsPerChunk = 16
    let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
    let failed = Slots<Int>(count: chunks)
    // nonisolated(unsafe): chunk c reads all of u and the diagonal, and
    // writes only its own rows' payload bytes.
    nonisolated(unsafe) let (x, dst) = (src, out)
    let factor = u, weights = diagonal
    // Our threads split the rows; OpenBLAS runs single-threaded inside them.
    let blasThreads = openblas_get_num_threads()
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(blasThreads) }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
      let first = c * rowsPerChunk, count = min(rows, first + rowsPerChunk) - first
      factor.withUnsafeBufferPointer { ub in
        weights.withUnsafeBufferPointer { wb in
          if let bad = sweep(x + first * cols, rows: count, codec: codec, u: ub.baseAddress!, importance: wb.baseAddress!, search: search,  // audited: cols > 0
                             into: dst + first * codec.rowBytes) {
            failed[c] = first + bad
          }
        }
      }
    }
    if let (_, row) = failed.first { throw .outOfRange(tensor: name, row: row) }
    return Quantizer.measure(0..<rows, values, codec: codec, logical: logical, payload: UnsafeRawPointer(out))
  }

  /// One chunk of rows; the index of a row whose scales overflow f16, if any.
  static func sweep(_ x: UnsafePointer<Float>, rows: Int, codec: GGMLBlockCodec, u: UnsafePointer<Float>, importance: UnsafePointer<Float>,
                    search: Bool, into out: UnsafeMutableRawPointer) -> Int? {
    let cols = codec.cols, type = codec.type
    let (width, bytes) = type.block
    let w = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
    let err = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
    let codes = UnsafeMutablePointer<Float>.allocate(capacity: width)
    let grid = UnsafeMutablePointer<Float>.allocate(capacity: 32)
    let scratch = GGMLQuantize.Scratch()
    defer {
      w.deallocate()
      err.deallocate()
      codes.deallocate()
      grid.deallocate()
      scratch.deallocate()
    }
    w.update(from: x, count: rows * cols)
    for b in 0..<(cols / width) {
      let c0 = b * width
      for r in 0..<rows {
        let row = w + r * cols, block = out + r * codec.rowBytes + b * bytes
        guard GGMLQuantize.row(type, row + c0, width, search: search, importance: importance + c0, scratch, into: block),
          let g = GGMLGrid(type, block: block, storage: grid)
        else { return r }
        let e = err + r * width
        for j in 0..<width {
          let col = c0 + j
          let (code, q) = g.round(row[col], at: j)
          codes[j] = code
          let ej = (row[col] - q) / u[col * cols + col]
          e[j] = ej
          let uj = u + col * cols
          for k in (col + 1)..<(c0 + width) { row[k] -= ej * uj[k] }
        }
        GGMLQuantize.pack(type, codes, block)
      }
      let rest = cols - c0 - width
      if rest > 0 {
        // W[:, c0+width…] −= E · U[c0…c0+width, c0+width…]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(rest), Int32(width), -1,
                    err, Int32(width), u + c0 * cols + c0 + width, Int32(cols), 1, w + c0 + width, Int32(cols))
      }
    }
    return nil
  }

  /// U, upper triangular (row-major, f32) with UᵀU = (H + λI)⁻¹, λ =
  /// damping × H's mean diagonal; a channel never seen (H_ii = 0) gets
  /// H_ii = 1. The damping grows tenfold while H is not positive definite
  /// (at most four times); nil if it never is.
  static func inverseFactor(_ h: UnsafePointer<Float>, _ n: Int, damping: Double) -> [Float]? {
    var mean = 0.0
    for i in 0..<n { mean += Double(max(0, h[i * n + i])) }
    mean = mean > 0 ? mean / Double(n) : 1
    var lambda = damping * mean
    var n32 = Int32(n), info: Int32 = 0
    var lower = Int8(UInt8(ascii: "L"))
    for _ in 0..<5 {
      var a = [Double](repeating: 0, count: n * n)
      for i in 0..<(n * n) { a[i] = Double(h[i]) }
      for i in 0..<n where a[i * n + i] <= 0 { a[i * n + i] = 1 }
      for i in 0..<n { a[i * n + i] += lambda }
      // Row-major upper = column-major lower: 'L' in LAPACK's terms.
      dpotrf_(&lower, &n32, &a, &n32, &info)
      if info == 0 { dpotri_(&lower, &n32, &a, &n32, &info) }
      if info == 0 {
        for i in 0..<n { for j in (i + 1)..<n { a[j * n + i] = a[i * n + j] } }
        dpotrf_(&lower, &n32, &a, &n32, &info)
      }
      if info == 0 {
        var u = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { u[i * n + j] = Float(a[i * n + j]) } }
        return u
      }
      lambda *= 10
    }
    return nil
  }
}

/// The error a quantized weight puts on its layer's output for inputs
/// with Gram matrix H = E[xxᵀ]: for each row w and its error d = w − ŵ,
/// E[(x·d)²] = dᵀHd beside the signal wᵀHw.
public enum OutputError {
  /// 10·log10(Σ wᵀHw / Σ dᵀHd) over the rows, in dB; nil when the error is zero.
  public static func sqnr(original w: UnsafePointer<Float>, quantized q: UnsafePointer<Float>, rows: Int, cols: Int, hessian h: UnsafePointer<Float>) -> Double? {
    let d = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
    let p = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
    defer {
      d.deallocate()
      p.deallocate()
    }
    for i in 0..<(rows * cols) { d[i] = w[i] - q[i] }
    let signal = quadratic(w, rows: rows, cols: cols, hessian: h, scratch: p), noise = quadratic(d, rows: rows, cols: cols, hessian: h, scratch: p)
    guard noise > 0 else { return nil }
    return 10 * log10(signal / noise)
  }

  /// Σ over rows of xᵀHx (x: rows × cols); `scratch` holds rows × cols.
  public static func quadratic(_ x: UnsafePointer<Float>, rows: Int, cols: Int, hessian h: UnsafePointer<Float>, scratch p: UnsafeMutablePointer<Float>) -> Double {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(cols), Int32(cols), 1, x, Int32(cols), h, Int32(cols), 0, p, Int32(cols))
    var s = 0.0
    for i in 0..<(rows * cols) { s += Double(x[i]) * Double(p[i]) }
    return s
  }
}
