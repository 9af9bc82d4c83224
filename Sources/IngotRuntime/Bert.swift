import IngotArchitectures

/// BERT encoder: post-LayerNorm blocks, GELU (erf).
struct Bert: ConfiguredModel {
  let w: NamedWeights
  let c: ModelConfig

  func run(_ sequences: [[Int]]) throws -> [[Float]] {
    try check(sequences)
    return try w.w.checkingBehind { try pass(sequences) }
  }

  func pass(_ sequences: [[Int]]) throws -> [[Float]] {
    let word = try w.load(.tokenEmbedding, shape: [vocabSize, dim])
    let pos = try w.load(.positionEmbedding, shape: [maxPositions, dim])
    let type = try w.load(.tokenTypeEmbedding, shape: [try w.w.shape(w.name(.tokenTypeEmbedding)).first ?? 0, dim])
    let lnW = try w.load(.embeddingNorm, shape: [dim]), lnB = try w.load(.embeddingNorm, nil, "bias", shape: [dim])
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    var x = Models.embed(word, dim: dim, sequences.flatMap { $0 })
    for (s, r) in ranges.enumerated() {
      for i in 0..<sequences[s].count { for c in 0..<dim { x[(r.lowerBound + i) * dim + c] += pos[i * dim + c] + type[c] } }
    }
    Ops.layerNorm(&x, rows: n, dim: dim, weight: lnW, bias: lnB, eps: eps)
    for l in 0..<layers {
      func vec(_ role: TensorRole, _ part: String, _ n: Int) throws -> [Float] { try w.load(role, l, part, shape: [n]) }
      let q = try w.linear(.attnQ, l, x, rows: n, out: dim, in: dim, bias: try vec(.attnQ, "bias", dim))
      let k = try w.linear(.attnK, l, x, rows: n, out: dim, in: dim, bias: try vec(.attnK, "bias", dim))
      let v = try w.linear(.attnV, l, x, rows: n, out: dim, in: dim, bias: try vec(.attnV, "bias", dim))
      let a = Ops.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: heads, headDim: dim / heads, causal: false)
      var h = try w.linear(.attnOutput, l, a, rows: n, out: dim, in: dim, bias: try vec(.attnOutput, "bias", dim))
      Ops.add(&h, x)
      Ops.layerNorm(&h, rows: n, dim: dim, weight: try vec(.attnOutputNorm, "weight", dim), bias: try vec(.attnOutputNorm, "bias", dim), eps: eps)
      var f = try w.linear(.ffnUp, l, h, rows: n, out: inter, in: dim, bias: try vec(.ffnUp, "bias", inter))
      Ops.apply(&f, VectorMath.geluErf)
      var out = try w.linear(.ffnDown, l, f, rows: n, out: dim, in: inter, bias: try vec(.ffnDown, "bias", dim))
      Ops.add(&out, h)
      Ops.layerNorm(&out, rows: n, dim: dim, weight: try vec(.ffnOutputNorm, "weight", dim), bias: try vec(.ffnOutputNorm, "bias", dim), eps: eps)
      x = out
    }
    return Models.split(x, ranges, dim: dim)
  }
}
