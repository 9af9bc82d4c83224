#if canImport(Glibc)
  import Glibc
#endif
import IngotArchitectures

/// The decoder family, one pass driven by the architecture's data: Llama
/// 2/3, Mistral, Qwen2/3, Gemma 2/3 and Phi-3. RMSNorm (x̂·w or x̂·(1+w)),
/// rotary (rotate-half, scaled per the config), grouped-query attention
/// with optional biases, per-head q/k norms, sliding windows, soft-capping
/// and Gemma's post-norms, a gated MLP (SiLU or GELU-tanh).
struct Decoder: ConfiguredModel {
  let w: NamedWeights
  let c: ModelConfig
  var headDim: Int { c.headDim }
  var plusOne: Bool { w.spec.normWeight == .plusOne }

  /// A norm's weight as the kernel multiplies it (1 + w for Gemma).
  func normWeight(_ role: TensorRole, _ layer: Int?, _ n: Int) throws -> [Float] {
    let v = try w.load(role, layer, shape: [n])
    return plusOne ? v.map { 1 + $0 } : v
  }

  /// cos and sin for each position up to `count` and each frequency, with
  /// the rope's attention factor applied (as transformers scales them).
  func angles(_ rope: Rope, count: Int) throws -> (cos: [Float], sin: [Float]) {
    var factors: [Float]? = nil
    if case .frequencyFactors(let tensor) = rope.scaling { factors = try w.w.load(tensor, shape: [headDim / 2]) }
    let (inv, scale) = rope.inverseFrequencies(dims: headDim, factors: factors)
    let half = headDim / 2
    var cos = [Float](repeating: 0, count: count * half), sin = cos
    for t in 0..<count {
      for i in 0..<half {
        let a = Float(t) * inv[i]
        cos[t * half + i] = cosf(a) * scale
        sin[t * half + i] = sinf(a) * scale
      }
    }
    return (cos, sin)
  }

  func run(_ sequences: [[Int]]) throws -> [[Float]] {
    try check(sequences)
    return try w.w.checkingBehind { try pass(sequences) }
  }

  func pass(_ sequences: [[Int]]) throws -> [[Float]] {
    let kvHeads = c.kvHeads
    let embed = try w.load(.tokenEmbedding, shape: [vocabSize, dim])
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    let longest = ranges.map(\.count).max() ?? 0
    let (qDim, kvDim) = (heads * headDim, kvHeads * headDim)
    var x = Models.embed(embed, dim: dim, sequences.flatMap { $0 })
    if w.spec.scalesEmbeddings {
      // Gemma: × √hidden, the factor rounded to the activations' dtype (f32).
      let s = Float(Double(dim).squareRoot())
      Ops.apply(&x) { $0 * s }
    }
    // head_dim sizes the rotary tables: hold it to the weights first (a
    // config may say anything; layer 0's q, or qkv, must agree).
    if layers > 0 {
      let (role, rows) = w.spec.fusedQKV ? (TensorRole.attnQKV, qDim + 2 * kvDim) : (.attnQ, qDim)
      let name = w.name(role, 0)
      let shape = try w.w.shape(name)
      guard shape == [rows, dim] else { throw RuntimeError.inFile(w.w.path, .shapeMismatch(tensor: name, expected: [rows, dim], actual: shape)) }
    }
    let global = try angles(c.rope, count: longest)
    let local = try c.localRope.map { try angles($0, count: longest) }
    let scale = Float(c.queryScale > 0 ? c.queryScale : 1 / Double(headDim).squareRoot())
    for l in 0..<layers {
      func bias(_ role: TensorRole, _ n: Int) throws -> [Float]? { w.has(role, l, "bias") ? try w.load(role, l, "bias", shape: [n]) : nil }
      let h = Ops.rmsNorm(x, rows: n, dim: dim, weight: try normWeight(.attnNorm, l, dim), eps: eps)
      var q: [Float], k: [Float], v: [Float]
      if w.spec.fusedQKV {
        let width = qDim + 2 * kvDim
        let qkv = try w.linear(.attnQKV, l, h, rows: n, out: width, in: dim, bias: try bias(.attnQKV, width))
        (q, k, v) = (Ops.columns(qkv, rows: n, width: width, 0..<qDim), Ops.columns(qkv, rows: n, width: width, qDim..<(qDim + kvDim)),
                     Ops.columns(qkv, rows: n, width: width, (qDim + kvDim)..<width))
      } else {
        q = try w.linear(.attnQ, l, h, rows: n, out: qDim, in: dim, bias: try bias(.attnQ, qDim))
        k = try w.linear(.attnK, l, h, rows: n, out: kvDim, in: dim, bias: try bias(.attnK, kvDim))
        v = try w.linear(.attnV, l, h, rows: n, out: kvDim, in: dim, bias: try bias(.attnV, kvDim))
      }
      if w.spec.hfNames[.attnQNorm] != nil {
        // One RMSNorm per head: rows of headDim.
        q = Ops.rmsNorm(q, rows: n * heads, dim: headDim, weight: try normWeight(.attnQNorm, l, headDim), eps: eps)
        k = Ops.rmsNorm(k, rows: n * kvHeads, dim: headDim, weight: try normWeight(.attnKNorm, l, headDim), eps: eps)
      }
      let sliding = c.isSliding(l)
      let (cos, sin) = sliding ? local ?? global : global
      for r in ranges {
        Ops.rope(&q, rows: r, heads: heads, headDim: headDim, cos: cos, sin: sin)
        Ops.rope(&k, rows: r, heads: kvHeads, headDim: headDim, cos: cos, sin: sin)
      }
      let a = Ops.attention(
        q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: kvHeads, headDim: headDim, causal: true, scale: scale,
        softcap: c.attentionSoftcap.map(Float.init), window: sliding ? c.slidingWindow : nil)
      var y = try w.linear(.attnOutput, l, a, rows: n, out: dim, in: qDim, bias: try bias(.attnOutput, dim))
      if w.spec.hfNames[.attnPostNorm] != nil { y = Ops.rmsNorm(y, rows: n, dim: dim, weight: try normWeight(.attnPostNorm, l, dim), eps: eps) }
      Ops.add(&y, x)
      let h2 = Ops.rmsNorm(y, rows: n, dim: dim, weight: try normWeight(.ffnNorm, l, dim), eps: eps)
      var g: [Float], u: [Float]
      if w.spec.mlp == .fused {
        let gu = try w.linear(.ffnUp, l, h2, rows: n, out: 2 * inter, in: dim)
        (g, u) = (Ops.columns(gu, rows: n, width: 2 * inter, 0..<inter), Ops.columns(gu, rows: n, width: 2 * inter, inter..<(2 * inter)))
      } else {
        g = try w.linear(.ffnGate, l, h2, rows: n, out: inter, in: dim)
        u = try w.linear(.ffnUp, l, h2, rows: n, out: inter, in: dim)
      }
      if c.activation == "gelu_pytorch_tanh" || c.activation == "gelu_new" {
        Ops.apply(&g, u) { VectorMath.geluTanh($0) * $1 }
      } else {
        Ops.apply(&g, u) { VectorMath.silu($0) * $1 }
      }
      var f = try w.linear(.ffnDown, l, g, rows: n, out: dim, in: inter)
      if w.spec.hfNames[.ffnPostNorm] != nil { f = Ops.rmsNorm(f, rows: n, dim: dim, weight: try normWeight(.ffnPostNorm, l, dim), eps: eps) }
      Ops.add(&y, f)
      x = y
    }
    let norm = try normWeight(.outputNorm, nil, dim)
    let head = try w.head(shape: [vocabSize, dim]) ?? embed
    var logits = Ops.linear(Ops.rmsNorm(x, rows: n, dim: dim, weight: norm, eps: eps), rows: n, head, out: vocabSize, in: dim)
    if let cap = c.finalSoftcap.map(Float.init) { Ops.softcap(&logits, cap) }
    return Models.split(logits, ranges, dim: vocabSize)
  }
}
