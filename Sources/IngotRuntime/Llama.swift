#if canImport(Glibc)
  import Glibc
#endif
import IngotArchitectures

/// Llama family: RMSNorm, rotary (rotate-half), grouped-query attention,
/// SwiGLU, optional q/k/v biases (qwen2), tied embeddings, causal mask.
struct Llama: ConfiguredModel {
  let w: NamedWeights
  let c: ModelConfig
  var headDim: Int { c.headDim }

  /// HF's rotary embedding: inv_freq in f32, angles pos·inv_freq, then
  /// rotate-half on each head.
  /// Positions count from each sequence's first row.
  func rope(_ x: inout [Float], rows: Range<Int>, heads h: Int) {
    let half = headDim / 2
    var inv = [Float](repeating: 0, count: half)
    for i in 0..<half { inv[i] = 1 / Float(pow(c.ropeTheta, Double(2 * i) / Double(headDim))) }
    for t in 0..<rows.count {
      for i in 0..<half {
        let angle = Float(t) * inv[i]
        let c = cosf(angle), s = sinf(angle)
        for hh in 0..<h {
          let base = (rows.lowerBound + t) * h * headDim + hh * headDim
          let a = x[base + i], b = x[base + i + half]
          x[base + i] = a * c - b * s
          x[base + i + half] = b * c + a * s
        }
      }
    }
  }

  func run(_ sequences: [[Int]]) throws -> [[Float]] {
    try check(sequences)
    let kvHeads = c.kvHeads
    let embed = try w.load(.tokenEmbedding, shape: [vocabSize, dim])
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    let (qDim, kvDim) = (heads * headDim, kvHeads * headDim)
    var x = Models.embed(embed, dim: dim, sequences.flatMap { $0 })
    for l in 0..<layers {
      func mat(_ role: TensorRole, _ out: Int, _ inn: Int) throws -> [Float] { try w.load(role, l, shape: [out, inn]) }
      func norm(_ role: TensorRole) throws -> [Float] { try w.load(role, l, shape: [dim]) }
      func bias(_ role: TensorRole, _ n: Int) throws -> [Float]? { w.has(role, l, "bias") ? try w.load(role, l, "bias", shape: [n]) : nil }
      let h = Ops.rmsNorm(x, rows: n, dim: dim, weight: try norm(.attnNorm), eps: eps)
      var q = Ops.linear(h, rows: n, try mat(.attnQ, qDim, dim), out: qDim, in: dim, bias: try bias(.attnQ, qDim))
      var k = Ops.linear(h, rows: n, try mat(.attnK, kvDim, dim), out: kvDim, in: dim, bias: try bias(.attnK, kvDim))
      let v = Ops.linear(h, rows: n, try mat(.attnV, kvDim, dim), out: kvDim, in: dim, bias: try bias(.attnV, kvDim))
      for r in ranges {
        rope(&q, rows: r, heads: heads)
        rope(&k, rows: r, heads: kvHeads)
      }
      let a = Ops.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: kvHeads, headDim: headDim, causal: true)
      var y = Ops.linear(a, rows: n, try mat(.attnOutput, dim, qDim), out: dim, in: qDim)
      Ops.add(&y, x)
      let h2 = Ops.rmsNorm(y, rows: n, dim: dim, weight: try norm(.ffnNorm), eps: eps)
      var g = Ops.linear(h2, rows: n, try mat(.ffnGate, inter, dim), out: inter, in: dim)
      let u = Ops.linear(h2, rows: n, try mat(.ffnUp, inter, dim), out: inter, in: dim)
      Ops.apply(&g, u) { VectorMath.silu($0) * $1 }
      Ops.add(&y, Ops.linear(g, rows: n, try mat(.ffnDown, dim, inter), out: dim, in: inter))
      x = y
    }
    let norm = try w.load(.outputNorm, shape: [dim])
    let head = try w.head(shape: [vocabSize, dim]) ?? embed
    let logits = Ops.linear(Ops.rmsNorm(x, rows: n, dim: dim, weight: norm, eps: eps), rows: n, head, out: vocabSize, in: dim)
    return Models.split(logits, ranges, dim: vocabSize)
  }
}
