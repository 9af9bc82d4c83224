import IngotContainer

/// A reference forward pass over a container's weights: chosen from the
/// config's `model_type`, run layer by layer over all sequences at once so
/// each layer's weights are read (and dequantized) once.
public protocol ForwardModel {
  /// Logits (decoders) or the last hidden state (encoders), per sequence,
  /// row-major [tokens × outputDim].
  func run(_ sequences: [[Int]]) throws -> [[Float]]
  var outputDim: Int { get }
  var vocabSize: Int { get }
  /// "logits" or "last_hidden_state".
  var outputKind: String { get }
  /// Longest sequence the model takes (learned positions), if limited.
  var positionLimit: Int? { get }
}

public enum Models {
  public static func load(_ weights: Weights) throws -> any ForwardModel {
    try weights.context { try make(weights) }
  }

  static func make(_ weights: Weights) throws -> any ForwardModel {
    let config = try weights.config()
    let type = config["model_type"]?.stringValue ?? ""
    switch type {
    case "bert": return try Bert(weights, config)
    case "llama", "mistral", "qwen2": return try Llama(weights, config)
    case "gpt2": return try GPT2(weights, config)
    default: throw RuntimeError.unsupported("model_type '\(type)' has no reference forward pass (bert, llama, mistral, qwen2 and gpt2 do)")
    }
  }

  static func int(_ c: JSONValue, _ key: String) throws -> Int {
    guard let v = c[key]?.intValue else { throw RuntimeError.unsupported("config.json has no integer '\(key)'") }
    return Int(v)
  }

  static func check(_ tokens: [[Int]], vocab: Int, maxPositions: Int?) throws {
    for s in tokens {
      guard !s.isEmpty else { throw RuntimeError.badInput("an input sequence is empty") }
      if let maxPositions, s.count > maxPositions { throw RuntimeError.badInput("a sequence of \(s.count) tokens exceeds the model's \(maxPositions) positions") }
      for t in s where t < 0 || t >= vocab { throw RuntimeError.badInput("token \(t) is outside the vocabulary (0..<\(vocab))") }
    }
  }

  /// Row ranges of each sequence in the stacked [Σ tokens × dim] activations:
  /// every weight multiplies all sequences' rows in one product.
  static func offsets(_ sequences: [[Int]]) -> [Range<Int>] {
    var at = 0
    return sequences.map { s in
      defer { at += s.count }
      return at..<(at + s.count)
    }
  }

  static func split(_ x: [Float], _ ranges: [Range<Int>], dim: Int) -> [[Float]] {
    ranges.map { Array(x[($0.lowerBound * dim)..<($0.upperBound * dim)]) }
  }

  static func attention(q: [Float], k: [Float], v: [Float], ranges: [Range<Int>], heads: Int, kvHeads: Int, headDim d: Int, causal: Bool) -> [Float] {
    Ops.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: kvHeads, headDim: d, causal: causal)
  }

  static func embed(_ table: [Float], dim: Int, _ tokens: [Int]) -> [Float] {
    var x = [Float](repeating: 0, count: tokens.count * dim)
    for (i, t) in tokens.enumerated() { for c in 0..<dim { x[i * dim + c] = table[t * dim + c] } }
    return x
  }
}

/// BERT encoder: post-LayerNorm blocks, GELU (erf).
struct Bert: ForwardModel {
  let w: Weights
  let dim, heads, layers, vocabSize, maxPositions, inter: Int
  let eps: Float
  var outputDim: Int { dim }
  var outputKind: String { "last_hidden_state" }
  var positionLimit: Int? { maxPositions }

  init(_ w: Weights, _ c: JSONValue) throws {
    self.w = w
    dim = try Models.int(c, "hidden_size")
    heads = try Models.int(c, "num_attention_heads")
    layers = try Models.int(c, "num_hidden_layers")
    vocabSize = try Models.int(c, "vocab_size")
    maxPositions = try Models.int(c, "max_position_embeddings")
    inter = try Models.int(c, "intermediate_size")
    eps = Float(c["layer_norm_eps"]?.doubleValue ?? 1e-12)
    if let act = c["hidden_act"]?.stringValue, act != "gelu" { throw RuntimeError.unsupported("BERT hidden_act '\(act)' (gelu is implemented)") }
  }

  /// BertModel checkpoints have no prefix; BertFor… heads add "bert.".
  func p(_ name: String) -> String { w.has("embeddings.word_embeddings.weight") ? name : "bert." + name }

  func run(_ sequences: [[Int]]) throws -> [[Float]] {
    try Models.check(sequences, vocab: vocabSize, maxPositions: maxPositions)
    let word = try w.load(p("embeddings.word_embeddings.weight"))
    let pos = try w.load(p("embeddings.position_embeddings.weight"))
    let type = try w.load(p("embeddings.token_type_embeddings.weight"))
    let lnW = try w.load(p("embeddings.LayerNorm.weight")), lnB = try w.load(p("embeddings.LayerNorm.bias"))
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    var x = Models.embed(word, dim: dim, sequences.flatMap { $0 })
    for (s, r) in ranges.enumerated() {
      for i in 0..<sequences[s].count { for c in 0..<dim { x[(r.lowerBound + i) * dim + c] += pos[i * dim + c] + type[c] } }
    }
    Ops.layerNorm(&x, rows: n, dim: dim, weight: lnW, bias: lnB, eps: eps)
    for l in 0..<layers {
      let pre = p("encoder.layer.\(l).")
      func t(_ s: String) throws -> [Float] { try w.load(pre + s) }
      let q = Ops.linear(x, rows: n, try t("attention.self.query.weight"), out: dim, in: dim, bias: try t("attention.self.query.bias"))
      let k = Ops.linear(x, rows: n, try t("attention.self.key.weight"), out: dim, in: dim, bias: try t("attention.self.key.bias"))
      let v = Ops.linear(x, rows: n, try t("attention.self.value.weight"), out: dim, in: dim, bias: try t("attention.self.value.bias"))
      let a = Models.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: heads, headDim: dim / heads, causal: false)
      var h = Ops.linear(a, rows: n, try t("attention.output.dense.weight"), out: dim, in: dim, bias: try t("attention.output.dense.bias"))
      Ops.add(&h, x)
      Ops.layerNorm(&h, rows: n, dim: dim, weight: try t("attention.output.LayerNorm.weight"), bias: try t("attention.output.LayerNorm.bias"), eps: eps)
      var f = Ops.linear(h, rows: n, try t("intermediate.dense.weight"), out: inter, in: dim, bias: try t("intermediate.dense.bias"))
      Ops.apply(&f, VectorMath.geluErf)
      var out = Ops.linear(f, rows: n, try t("output.dense.weight"), out: dim, in: inter, bias: try t("output.dense.bias"))
      Ops.add(&out, h)
      Ops.layerNorm(&out, rows: n, dim: dim, weight: try t("output.LayerNorm.weight"), bias: try t("output.LayerNorm.bias"), eps: eps)
      x = out
    }
    return Models.split(x, ranges, dim: dim)
  }
}

/// Mean over tokens (all tokens attended), as sentence-transformers pools.
public func meanPool(_ x: [Float], tokens: Int, dim: Int) -> [Float] {
  var out = [Float](repeating: 0, count: dim)
  for t in 0..<tokens { for c in 0..<dim { out[c] += x[t * dim + c] } }
  return out.map { $0 / Float(tokens) }
}

/// Llama family: RMSNorm, rotary (rotate-half), grouped-query attention,
/// SwiGLU, optional q/k/v biases (qwen2), tied embeddings, causal mask.
struct Llama: ForwardModel {
  let w: Weights
  let dim, heads, kvHeads, headDim, layers, vocabSize, inter: Int
  let eps: Float
  let theta: Double
  var outputDim: Int { vocabSize }
  var outputKind: String { "logits" }
  var positionLimit: Int? { nil }

  init(_ w: Weights, _ c: JSONValue) throws {
    self.w = w
    dim = try Models.int(c, "hidden_size")
    heads = try Models.int(c, "num_attention_heads")
    kvHeads = Int(c["num_key_value_heads"]?.intValue ?? Int64(heads))
    headDim = Int(c["head_dim"]?.intValue ?? Int64(dim / heads))
    layers = try Models.int(c, "num_hidden_layers")
    vocabSize = try Models.int(c, "vocab_size")
    inter = try Models.int(c, "intermediate_size")
    eps = Float(c["rms_norm_eps"]?.doubleValue ?? 1e-6)
    theta = c["rope_theta"]?.doubleValue ?? c["rope_parameters"]?["rope_theta"]?.doubleValue ?? 10000
    for key in ["rope_scaling", "rope_parameters"] {
      if let kind = c[key]?["rope_type"]?.stringValue ?? c[key]?["type"]?.stringValue, kind != "default" {
        throw RuntimeError.unsupported("rope type '\(kind)' is not implemented (plain rope only)")
      }
    }
    guard heads % max(kvHeads, 1) == 0 else { throw RuntimeError.unsupported("num_attention_heads is not a multiple of num_key_value_heads") }
    if let act = c["hidden_act"]?.stringValue, act != "silu" { throw RuntimeError.unsupported("hidden_act '\(act)' (silu is implemented)") }
  }

  /// HF's rotary embedding: inv_freq in f32, angles pos·inv_freq, then
  /// rotate-half on each head.
  /// Positions count from each sequence's first row.
  func rope(_ x: inout [Float], rows: Range<Int>, heads h: Int) {
    let half = headDim / 2
    var inv = [Float](repeating: 0, count: half)
    for i in 0..<half { inv[i] = 1 / Float(pow(theta, Double(2 * i) / Double(headDim))) }
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
    try Models.check(sequences, vocab: vocabSize, maxPositions: nil)
    let embed = try w.load("model.embed_tokens.weight")
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    var x = Models.embed(embed, dim: dim, sequences.flatMap { $0 })
    for l in 0..<layers {
      let pre = "model.layers.\(l)."
      func t(_ s: String) throws -> [Float] { try w.load(pre + s) }
      func bias(_ s: String) throws -> [Float]? { w.has(pre + s) ? try w.load(pre + s) : nil }
      let h = Ops.rmsNorm(x, rows: n, dim: dim, weight: try t("input_layernorm.weight"), eps: eps)
      var q = Ops.linear(h, rows: n, try t("self_attn.q_proj.weight"), out: heads * headDim, in: dim, bias: try bias("self_attn.q_proj.bias"))
      var k = Ops.linear(h, rows: n, try t("self_attn.k_proj.weight"), out: kvHeads * headDim, in: dim, bias: try bias("self_attn.k_proj.bias"))
      let v = Ops.linear(h, rows: n, try t("self_attn.v_proj.weight"), out: kvHeads * headDim, in: dim, bias: try bias("self_attn.v_proj.bias"))
      for r in ranges {
        rope(&q, rows: r, heads: heads)
        rope(&k, rows: r, heads: kvHeads)
      }
      let a = Models.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: kvHeads, headDim: headDim, causal: true)
      var y = Ops.linear(a, rows: n, try t("self_attn.o_proj.weight"), out: dim, in: heads * headDim)
      Ops.add(&y, x)
      let h2 = Ops.rmsNorm(y, rows: n, dim: dim, weight: try t("post_attention_layernorm.weight"), eps: eps)
      var g = Ops.linear(h2, rows: n, try t("mlp.gate_proj.weight"), out: inter, in: dim)
      let u = Ops.linear(h2, rows: n, try t("mlp.up_proj.weight"), out: inter, in: dim)
      Ops.apply(&g, u) { VectorMath.silu($0) * $1 }
      Ops.add(&y, Ops.linear(g, rows: n, try t("mlp.down_proj.weight"), out: dim, in: inter))
      x = y
    }
    let norm = try w.load("model.norm.weight")
    let head = w.has("lm_head.weight") ? try w.load("lm_head.weight") : embed
    let logits = Ops.linear(Ops.rmsNorm(x, rows: n, dim: dim, weight: norm, eps: eps), rows: n, head, out: vocabSize, in: dim)
    return Models.split(logits, ranges, dim: vocabSize)
  }
}

/// GPT-2: learned positions, pre-LayerNorm, GELU (tanh), Conv1D weights, tied head.
struct GPT2: ForwardModel {
  let w: Weights
  let dim, heads, layers, vocabSize, maxPositions, inter: Int
  let eps: Float
  var outputDim: Int { vocabSize }
  var outputKind: String { "logits" }
  var positionLimit: Int? { maxPositions }

  init(_ w: Weights, _ c: JSONValue) throws {
    self.w = w
    dim = try Models.int(c, "n_embd")
    heads = try Models.int(c, "n_head")
    layers = try Models.int(c, "n_layer")
    vocabSize = try Models.int(c, "vocab_size")
    maxPositions = try Models.int(c, "n_positions")
    inter = Int(c["n_inner"]?.intValue ?? Int64(4 * dim))
    eps = Float(c["layer_norm_epsilon"]?.doubleValue ?? 1e-5)
    if let act = c["activation_function"]?.stringValue, act != "gelu_new" { throw RuntimeError.unsupported("activation '\(act)' (gelu_new is implemented)") }
  }

  /// GPT2LMHeadModel checkpoints prefix "transformer."; GPT2Model ones do not.
  func p(_ name: String) -> String { w.has("wte.weight") ? name : "transformer." + name }

  func run(_ sequences: [[Int]]) throws -> [[Float]] {
    try Models.check(sequences, vocab: vocabSize, maxPositions: maxPositions)
    let wte = try w.load(p("wte.weight")), wpe = try w.load(p("wpe.weight"))
    let ranges = Models.offsets(sequences)
    let n = ranges.last?.upperBound ?? 0
    var x = Models.embed(wte, dim: dim, sequences.flatMap { $0 })
    for (s, r) in ranges.enumerated() {
      for i in 0..<sequences[s].count { for c in 0..<dim { x[(r.lowerBound + i) * dim + c] += wpe[i * dim + c] } }
    }
    for l in 0..<layers {
      func t(_ s: String) throws -> [Float] { try w.load(p("h.\(l).") + s) }
      var h = x
      Ops.layerNorm(&h, rows: n, dim: dim, weight: try t("ln_1.weight"), bias: try t("ln_1.bias"), eps: eps)
      let qkv = Ops.conv1d(h, rows: n, try t("attn.c_attn.weight"), in: dim, out: 3 * dim, bias: try t("attn.c_attn.bias"))
      var q = [Float](repeating: 0, count: n * dim), k = q, v = q
      for i in 0..<n {
        for c in 0..<dim {
          q[i * dim + c] = qkv[i * 3 * dim + c]
          k[i * dim + c] = qkv[i * 3 * dim + dim + c]
          v[i * dim + c] = qkv[i * 3 * dim + 2 * dim + c]
        }
      }
      let a = Models.attention(q: q, k: k, v: v, ranges: ranges, heads: heads, kvHeads: heads, headDim: dim / heads, causal: true)
      var y = Ops.conv1d(a, rows: n, try t("attn.c_proj.weight"), in: dim, out: dim, bias: try t("attn.c_proj.bias"))
      Ops.add(&y, x)
      var h2 = y
      Ops.layerNorm(&h2, rows: n, dim: dim, weight: try t("ln_2.weight"), bias: try t("ln_2.bias"), eps: eps)
      var f = Ops.conv1d(h2, rows: n, try t("mlp.c_fc.weight"), in: dim, out: inter, bias: try t("mlp.c_fc.bias"))
      Ops.apply(&f, VectorMath.geluTanh)
      Ops.add(&y, Ops.conv1d(f, rows: n, try t("mlp.c_proj.weight"), in: inter, out: dim, bias: try t("mlp.c_proj.bias")))
      x = y
    }
    Ops.layerNorm(&x, rows: n, dim: dim, weight: try w.load(p("ln_f.weight")), bias: try w.load(p("ln_f.bias")), eps: eps)
    let head = w.has("lm_head.weight") ? try w.load("lm_head.weight") : wte
    return Models.split(Ops.linear(x, rows: n, head, out: vocabSize, in: dim), ranges, dim: vocabSize)
  }
}

import Foundation
