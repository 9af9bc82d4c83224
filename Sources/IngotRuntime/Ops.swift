import COpenBLAS
import Foundation

/// The building blocks, in plain f32. Matrix products go through OpenBLAS.
enum Ops {
  /// y[n×m] = x[n×k] · w[m×k]ᵀ (+ bias): a PyTorch Linear (weight [out, in]).
  static func linear(_ x: [Float], rows n: Int, _ w: [Float], out m: Int, in k: Int, bias: [Float]? = nil) -> [Float] {
    var y = [Float](repeating: 0, count: n * m)
    if let bias { fillRows(&y, rows: n, bias) }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(m), Int32(k), 1, x, Int32(k), w, Int32(k), bias == nil ? 0 : 1, &y, Int32(m))
    return y
  }

  /// y[n×m] = x[n×k] · w[k×m] (+ bias): GPT-2's Conv1D (weight [in, out]).
  static func conv1d(_ x: [Float], rows n: Int, _ w: [Float], in k: Int, out m: Int, bias: [Float]) -> [Float] {
    var y = [Float](repeating: 0, count: n * m)
    fillRows(&y, rows: n, bias)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(m), Int32(k), 1, x, Int32(k), w, Int32(m), 1, &y, Int32(m))
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
          for r in 0..<rows {
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

  static func rmsNorm(_ x: [Float], rows: Int, dim: Int, weight: [Float], eps: Float) -> [Float] {
    var y = x
    for r in 0..<rows {
      var ss: Float = 0
      for c in 0..<dim { ss += x[r * dim + c] * x[r * dim + c] }
      let inv = 1 / (ss / Float(dim) + eps).squareRoot()
      for c in 0..<dim { y[r * dim + c] = weight[c] * (x[r * dim + c] * inv) }
    }
    return y
  }

  static func geluErf(_ v: Float) -> Float { 0.5 * v * (1 + erff(v / Float(2).squareRoot())) }
  static func geluTanh(_ v: Float) -> Float {
    0.5 * v * (1 + tanhf((2 / Float.pi).squareRoot() * (v + 0.044715 * v * v * v)))
  }
  static func silu(_ v: Float) -> Float { v / (1 + expf(-v)) }

  /// Multi-head attention for one sequence: q [T×Hq·d], k, v [T×Hkv·d] →
  /// [T×Hq·d]. Query head h reads key/value head h / (Hq/Hkv). Both products
  /// per head go through sgemm on strided views (no copies).
  static func attention(q: [Float], k: [Float], v: [Float], tokens t: Int, heads: Int, kvHeads: Int, headDim d: Int, causal: Bool) -> [Float] {
    var out = [Float](repeating: 0, count: t * heads * d)
    let group = heads / kvHeads
    let scale = 1 / Float(d).squareRoot()
    var scores = [Float](repeating: 0, count: t * t)
    q.withUnsafeBufferPointer { qp in
      k.withUnsafeBufferPointer { kp in
        v.withUnsafeBufferPointer { vp in
          out.withUnsafeMutableBufferPointer { op in
            for h in 0..<heads {
              let kh = h / group
              // scores[T×T] = scale · Q_h · K_hᵀ
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(d), scale,
                          qp.baseAddress! + h * d, Int32(heads * d), kp.baseAddress! + kh * d, Int32(kvHeads * d),  // audited: t, d > 0
                          0, &scores, Int32(t))
              for i in 0..<t {
                let last = causal ? i : t - 1
                var m = -Float.infinity
                for j in 0...last { m = max(m, scores[i * t + j]) }
                var sum: Float = 0
                for j in 0...last {
                  let e = expf(scores[i * t + j] - m)
                  scores[i * t + j] = e
                  sum += e
                }
                let inv = 1 / sum
                for j in 0...last { scores[i * t + j] *= inv }
                if last + 1 < t { for j in (last + 1)..<t { scores[i * t + j] = 0 } }
              }
              // out_h[T×d] = P · V_h
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), 1,
                          scores, Int32(t), vp.baseAddress! + kh * d, Int32(kvHeads * d),  // audited: t, d > 0
                          0, op.baseAddress! + h * d, Int32(heads * d))
            }
          }
        }
      }
    }
    return out
  }

  static func add(_ a: inout [Float], _ b: [Float]) {
    a.withUnsafeMutableBufferPointer { ap in b.withUnsafeBufferPointer { bp in for i in 0..<min(ap.count, bp.count) { ap[i] += bp[i] } } }
  }
}
