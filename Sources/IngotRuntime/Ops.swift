#if canImport(Glibc)
  import Glibc
#endif
import COpenBLAS
import Dispatch
import Foundation

/// The building blocks, in plain f32. Matrix products go through OpenBLAS.
enum Ops {
  /// y[n×m] = x[n×k] · w[m×k]ᵀ (+ bias): a PyTorch Linear (weight [out, in]).
  static func linear(_ x: [Float], rows n: Int, _ w: [Float], out m: Int, in k: Int, bias: [Float]? = nil) -> [Float] {
    product(x, rows: n, w, out: m, in: k, transposed: true, bias: bias)
  }

  /// y[n×m] = x[n×k] · w[k×m] (+ bias): GPT-2's Conv1D (weight [in, out]).
  static func conv1d(_ x: [Float], rows n: Int, _ w: [Float], in k: Int, out m: Int, bias: [Float]) -> [Float] {
    product(x, rows: n, w, out: m, in: k, transposed: false, bias: bias)
  }

  /// One sgemm per share of x's rows, the shares side by side on `threads`
  /// threads (OpenBLAS itself runs single-threaded: see `threads`).
  static func product(_ x: [Float], rows n: Int, _ w: [Float], out m: Int, in k: Int, transposed: Bool, bias: [Float]?) -> [Float] {
    // Every element is written (by the bias rows or by sgemm with β = 0),
    // so the array starts uninitialized: no zero-filling of fresh pages.
    var y = [Float](unsafeUninitializedCapacity: n * m) { _, count in count = n * m }
    if let bias { fillRows(&y, rows: n, bias) }
    x.withUnsafeBufferPointer { xb in
      w.withUnsafeBufferPointer { wb in
        y.withUnsafeMutableBufferPointer { yb in
          guard let xp = xb.baseAddress, let wp = wb.baseAddress, let yp = yb.baseAddress else { return }
          nonisolated(unsafe) let (xs, ws, ys) = (xp, wp, yp)
          // Shares of at least 64 rows: smaller products do not pay for a thread.
          let shares = max(1, min(threads, n / 64))
          parallel(shares) { s, _ in
            let first = n * s / shares, rows = n * (s + 1) / shares - first
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transposed ? CblasTrans : CblasNoTrans, Int32(rows), Int32(m), Int32(k), 1,
                        xs + first * k, Int32(k), ws, Int32(transposed ? k : m), bias == nil ? 0 : 1, ys + first * m, Int32(m))
          }
        }
      }
    }
    return y
  }

  /// Every row of `y` set to `bias` (before a product accumulates onto it).
  static func fillRows(_ y: inout [Float], rows n: Int, _ bias: [Float]) {
    let m = bias.count
    y.withUnsafeMutableBufferPointer { out in
      bias.withUnsafeBufferPointer { b in
        for r in 0..<n { (out.baseAddress! + r * m).update(from: b.baseAddress!, count: m) }  // audited: n·m = count, m > 0
      }
    }
  }

  static func layerNorm(_ x: inout [Float], rows: Int, dim: Int, weight: [Float], bias: [Float], eps: Float) {
    x.withUnsafeMutableBufferPointer { xp in
      weight.withUnsafeBufferPointer { wp in
        bias.withUnsafeBufferPointer { bp in
          // Rows are independent: one contiguous share of them per thread.
          nonisolated(unsafe) let (xs, ws, bs) = (xp, wp, bp)
          let shares = rows * dim >= 1 << 16 ? threads : 1
          parallel(shares) { s, _ in
          let (xp, wp, bp) = (xs, ws, bs)
          for r in (rows * s / shares)..<(rows * (s + 1) / shares) {
            let row = xp.baseAddress! + r * dim  // audited: rows·dim = count
            var mean: Float = 0
            for c in 0..<dim { mean += row[c] }
            mean /= Float(dim)
            var variance: Float = 0
            for c in 0..<dim {
              let d = row[c] - mean
              variance += d * d
            }
            variance /= Float(dim)
            let inv = 1 / (variance + eps).squareRoot()
            for c in 0..<dim { row[c] = (row[c] - mean) * inv * wp[c] + bp[c] }
          }
          }
        }
      }
    }
  }

  static func rmsNorm(_ x: [Float], rows: Int, dim: Int, weight: [Float], eps: Float) -> [Float] {
    var y = x
    y.withUnsafeMutableBufferPointer { yb in
      weight.withUnsafeBufferPointer { wb in
        nonisolated(unsafe) let (yp, wp) = (yb.baseAddress!, wb.baseAddress!)  // audited: rows·dim = count > 0, weight has dim
        let shares = rows * dim >= 1 << 16 ? threads : 1
        parallel(shares) { s, _ in
          for r in (rows * s / shares)..<(rows * (s + 1) / shares) {
            let row = yp + r * dim
            var ss: Float = 0
            for c in 0..<dim { ss += row[c] * row[c] }
            let inv = 1 / (ss / Float(dim) + eps).squareRoot()
            for c in 0..<dim { row[c] = wp[c] * (row[c] * inv) }
          }
        }
      }
    }
    return y
  }

  /// Rotate-half rotary on each head of rows `rows` (positions from the
  /// range's start), from precomputed cos/sin [position × headDim/2].
  static func rope(_ x: inout [Float], rows: Range<Int>, heads h: Int, headDim: Int, cos: [Float], sin: [Float]) {
    let half = headDim / 2
    x.withUnsafeMutableBufferPointer { xb in
      guard let xp = xb.baseAddress else { return }
      for t in 0..<rows.count {
        for hh in 0..<h {
          let base = xp + (rows.lowerBound + t) * h * headDim + hh * headDim
          for i in 0..<half {
            let c = cos[t * half + i], s = sin[t * half + i]
            let a = base[i], b = base[i + half]
            base[i] = a * c - b * s
            base[i + half] = b * c + a * s
          }
        }
      }
    }
  }

  /// Columns `range` of a [rows × width] matrix, as a [rows × range.count] one.
  static func columns(_ x: [Float], rows: Int, width: Int, _ range: Range<Int>) -> [Float] {
    var out = [Float](repeating: 0, count: rows * range.count)
    for r in 0..<rows { for (j, c) in range.enumerated() { out[r * range.count + j] = x[r * width + c] } }
    return out
  }

  /// x = cap·tanh(x / cap).
  static func softcap(_ x: inout [Float], _ cap: Float) {
    for i in x.indices { x[i] = cap * tanhf(x[i] / cap) }
  }

  /// Multi-head attention over stacked sequences: q [N×Hq·d], k, v
  /// [N×Hkv·d] → [N×Hq·d], each sequence (a row range) attending only to
  /// itself. Query head h reads key/value head h / (Hq/Hkv). Both products
  /// per head go through sgemm on strided views (no copies). The
  /// (sequence, head) pairs are independent: with several threads they run
  /// side by side, each sgemm on one thread.
  /// - Parameters:
  ///   - scale: multiplies q·k (default 1/√d).
  ///   - softcap: scores become cap·tanh(score / cap) before the mask (Gemma 2).
  ///   - window: row i attends only rows i − window + 1 … i (sliding layers).
  static func attention(
    q: [Float], k: [Float], v: [Float], ranges: [Range<Int>], heads: Int, kvHeads: Int, headDim d: Int, causal: Bool,
    scale: Float? = nil, softcap: Float? = nil, window: Int? = nil
  ) -> [Float] {
    let n = ranges.last?.upperBound ?? 0
    var out = [Float](repeating: 0, count: n * heads * d)
    let group = heads / kvHeads
    let scale = scale ?? 1 / Float(d).squareRoot()
    let longest = ranges.map(\.count).max() ?? 0
    // Query rows in blocks: a causal block needs only the keys up to its
    // last row (and from its first row's window on), which halves a long
    // sequence's attention work; blocks also give one long sequence's
    // heads more tasks to share out.
    let block = 64
    let tasks = ranges.flatMap { r in (0..<heads).flatMap { h in stride(from: 0, to: r.count, by: block).map { (r, h, $0) } } }
    q.withUnsafeBufferPointer { qb in
      k.withUnsafeBufferPointer { kb in
        v.withUnsafeBufferPointer { vb in
          out.withUnsafeMutableBufferPointer { ob in
            guard let qp = qb.baseAddress, let kp = kb.baseAddress, let vp = vb.baseAddress, let op = ob.baseAddress else { return }
            nonisolated(unsafe) let (qs, ks, vs, os) = (qp, kp, vp, op)
            parallel(tasks.count, scratch: block * longest) { i, scores in
              let (r, h, b0) = tasks[i]
              let t = r.count, kh = h / group
              let b1 = min(b0 + block, t), rows = b1 - b0
              // Keys [k0, k1) of this block.
              let k1 = causal ? b1 : t
              let k0 = causal ? window.map { max(0, b0 - $0 + 1) } ?? 0 : 0
              let width = k1 - k0
              // scores[rows × width] = scale · Q_h[b0..<b1] · K_h[k0..<k1]ᵀ
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(width), Int32(d), scale,
                          qs + (r.lowerBound + b0) * heads * d + h * d, Int32(heads * d),
                          ks + (r.lowerBound + k0) * kvHeads * d + kh * d, Int32(kvHeads * d), 0, scores, Int32(width))
              if let softcap {
                for j in 0..<(rows * width) { scores[j] = softcap * tanhf(scores[j] / softcap) }
              }
              for ri in 0..<rows {
                let row = scores + ri * width, pos = b0 + ri
                if let window, causal, pos - window + 1 > k0 { for j in 0..<(pos - window + 1 - k0) { row[j] = -.infinity } }
                softmax(row, last: causal ? pos - k0 : width - 1, count: width)
              }
              // out_h[b0..<b1] = P · V_h[k0..<k1]
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(width), 1,
                          scores, Int32(width), vs + (r.lowerBound + k0) * kvHeads * d + kh * d, Int32(kvHeads * d),
                          0, os + (r.lowerBound + b0) * heads * d + h * d, Int32(heads * d))
            }
          }
        }
      }
    }
    return out
  }

  /// Threads for the whole pass: as many as OpenBLAS was given
  /// (OPENBLAS_NUM_THREADS, else its default), read once. OpenBLAS is then
  /// set to one thread and every product is split across our own threads:
  /// its workers spin (sched_yield) for a while after each call, and on two
  /// cores they took a third of the time from the element-wise work between
  /// products.
  static let threads: Int = {
    let n = max(1, Int(openblas_get_num_threads()))
    openblas_set_num_threads(1)
    return n
  }()

  /// Runs `body(i, scratch)` for i in 0..<count, on `threads` threads in
  /// coarse interleaved shares, each thread with its own scratch buffer of
  /// `scratch` floats.
  static func parallel(_ count: Int, scratch: Int = 0, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
    let n = min(threads, count)
    withoutActuallyEscaping(body) { body in
      nonisolated(unsafe) let work = body
      let run: @Sendable (Int) -> Void = { worker in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1))
        defer { buffer.deallocate() }
        for i in stride(from: worker, to: count, by: n) { work(i, buffer) }
      }
      if n <= 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: n, execute: run) }
    }
  }

  /// x[i] = f(x[i]), eight at a time (the last lanes zero-padded), over
  /// contiguous shares, one per thread. f works lane by lane, so the result
  /// does not depend on how the work is cut.
  static func apply(_ x: inout [Float], _ f: (SIMD8<Float>) -> SIMD8<Float>) {
    apply(&x, nil) { a, _ in f(a) }
  }

  /// x[i] = f(x[i], y[i]), the same way.
  static func apply(_ x: inout [Float], _ y: [Float]?, _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) {
    let count = min(x.count, y?.count ?? x.count)
    let other = y ?? []
    x.withUnsafeMutableBufferPointer { xb in
      other.withUnsafeBufferPointer { yb in
        guard let xbase = xb.baseAddress else { return }
        // (An empty array's buffer may still have a base address.)
        nonisolated(unsafe) let (p, q) = (xbase, y == nil ? nil : yb.baseAddress)
        let shares = count >= 1 << 16 ? threads : 1
        parallel(shares) { s, _ in
          var i = count * s / shares
          let end = count * (s + 1) / shares
          while i + 8 <= end {
            let a = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            let b = q.map { UnsafeRawPointer($0 + i).loadUnaligned(as: SIMD8<Float>.self) } ?? .zero
            UnsafeMutableRawPointer(p + i).storeBytes(of: f(a, b), as: SIMD8<Float>.self)
            i += 8
          }
          if i < end {
            var a = SIMD8<Float>.zero, b = SIMD8<Float>.zero
            for l in 0..<(end - i) {
              a[l] = p[i + l]
              if let q { b[l] = q[i + l] }
            }
            let r = f(a, b)
            for l in 0..<(end - i) { p[i + l] = r[l] }
          }
        }
      }
    }
  }

  /// Softmax of row[0...last] in place (eight lanes at a time; the padding
  /// lanes are −∞, whose exp is 0); row[last+1..<count] set to 0.
  static func softmax(_ row: UnsafeMutablePointer<Float>, last: Int, count: Int) {
    let n = last + 1
    func load(_ j: Int) -> SIMD8<Float> {
      if j + 8 <= n { return UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self) }
      var v = SIMD8<Float>(repeating: -.infinity)
      for l in 0..<(n - j) { v[l] = row[j + l] }
      return v
    }
    func store(_ v: SIMD8<Float>, _ j: Int) {
      if j + 8 <= n { UnsafeMutableRawPointer(row + j).storeBytes(of: v, as: SIMD8<Float>.self); return }
      for l in 0..<(n - j) { row[j + l] = v[l] }
    }
    var m = SIMD8<Float>(repeating: -.infinity)
    for j in stride(from: 0, to: n, by: 8) {
      let v = load(j)
      m.replace(with: v, where: v .> m)
    }
    let top = SIMD8<Float>(repeating: m.max())
    var sum = SIMD8<Float>.zero
    for j in stride(from: 0, to: n, by: 8) {
      let e = VectorMath.exp(load(j) - top)
      store(e, j)
      sum += e
    }
    let inv = 1 / sum.sum()
    for j in stride(from: 0, to: n, by: 8) { store(load(j) * inv, j) }
    for j in n..<count { row[j] = 0 }
  }

  static func add(_ a: inout [Float], _ b: [Float]) { apply(&a, b) { $0 + $1 } }
}
