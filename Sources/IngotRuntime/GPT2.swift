import IngotArchitectures

/// GPT-2: learned positions, pre-LayerNorm, GELU (tanh), Conv1D weights, tied head.
struct GPT2: ConfiguredModel {
  let w: NamedWeights
  let c: ModelConfig

  func run(_ sequences: [[Int]]) throws -> [[Float]] {
    try check(sequences)
    return try w.w.checkingBehind { try pass(sequences) }
  }

  func pass(_ sequences: [[Int]]) throws -> [[Float]] {
    let wte = try w.load(.tokenEmbedding, shape: [vocabSize, dim]), wpe = try w.load(.positionEmbedding, shape: [maxPositions, dim])
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    var x = Models.embed(wte, dim: dim, sequences.flatMap { $0 })
    for (s, r) in ranges.enumerated() {
      for i in 0..<sequences[s].count { for c in 0..<dim { x[(r.lowerBound + i) * dim + c] += wpe[i * dim + c] } }
    }
    for l in 0..<layers {
      // Conv1D stores [in, out].
      func conv(_ role: TensorRole, _ inn: Int, _ out: Int) throws -> [Float] { try w.load(role, l, shape: [inn, out]) }
      func vec(_ role: TensorRole, _ part: String, _ n: Int) throws -> [Float] { try w.load(role, l, part, shape: [n]) }
      var h = x
      Ops.layerNorm(&h, rows: n, dim: dim, weight: try vec(.attnNorm, "weight", dim), bias: try vec(.attnNorm, "bias", dim), eps: eps)
      let qkv = Ops.conv1d(h, rows: n, try conv(.attnQKV, dim, 3 * dim), in: dim, out: 3 * dim, bias: try vec(.attnQKV, "bias", 3 * dim))
      var q = [Float](repeating: 0, count: n * dim), k = q, v = q
      for i in 0..<n {
        for c in 0..<dim {
          q[i * dim + c] = qkv[i * 3 * dim + c]
          k[i * dim + c] = qkv[i * 3 * dim + dim + c]
          v[i * dim + c] = qkv[i * 3 * dim + 2 * dim + c]
        }
      }
      let a = Ops.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: heads, headDim: dim / heads, causal: true)
      var y = Ops.conv1d(a, rows: n, try conv(.attnOutput, dim, dim), in: dim, out: dim, bias: try vec(.attnOutput, "bias", dim))
      Ops.add(&y, x)
      var h2 = y
      Ops.layerNorm(&h2, rows: n, dim: dim, weight: try vec(.ffnNorm, "weight", dim), bias: try vec(.ffnNorm, "bias", dim), eps: eps)
      var f = Ops.conv1d(h2, rows: n, try conv(.ffnUp, dim, inter), in: dim, out: inter, bias: try vec(.ffnUp, "bias", inter))
      Ops.apply(&f, VectorMath.geluTanh)
      Ops.add(&y, Ops.conv1d(f, rows: n, try conv(.ffnDown, inter, dim), in: inter, out: dim, bias: try vec(.ffnDown, "bias", dim)))
      x = y
    }
    Ops.layerNorm(&x, rows: n, dim: dim, weight: try w.load(.outputNorm, shape: [dim]), bias: try w.load(.outputNorm, nil, "bias", shape: [dim]), eps: eps)
    let head = try w.head(shape: [vocabSize, dim]) ?? wte
    return Models.split(Ops.linear(x, rows: n, head, out: vocabSize, in: dim), ranges, dim: vocabSize)
  }
}
