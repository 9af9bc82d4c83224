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
    var hidden = sequences.map { s -> [Float] in
      var x = Models.embed(word, dim: dim, s)
      for i in 0..<s.count { for c in 0..<dim { x[i * dim + c] += pos[i * dim + c] + type[c] } }
      Ops.layerNorm(&x, rows: s.count, dim: dim, weight: lnW, bias: lnB, eps: eps)
      return x
    }
    for l in 0..<layers {
      let pre = p("encoder.layer.\(l).")
      func t(_ s: String) throws -> [Float] { try w.load(pre + s) }
      let qW = try t("attention.self.query.weight"), qB = try t("attention.self.query.bias")
      let kW = try t("attention.self.key.weight"), kB = try t("attention.self.key.bias")
      let vW = try t("attention.self.value.weight"), vB = try t("attention.self.value.bias")
      let oW = try t("attention.output.dense.weight"), oB = try t("attention.output.dense.bias")
      let ln1W = try t("attention.output.LayerNorm.weight"), ln1B = try t("attention.output.LayerNorm.bias")
      let iW = try t("intermediate.dense.weight"), iB = try t("intermediate.dense.bias")
      let o2W = try t("output.dense.weight"), o2B = try t("output.dense.bias")
      let ln2W = try t("output.LayerNorm.weight"), ln2B = try t("output.LayerNorm.bias")
      for (s, x) in hidden.enumerated() {
        let n = sequences[s].count
        let q = Ops.linear(x, rows: n, qW, out: dim, in: dim, bias: qB)
        let k = Ops.linear(x, rows: n, kW, out: dim, in: dim, bias: kB)
        let v = Ops.linear(x, rows: n, vW, out: dim, in: dim, bias: vB)
        let a = Ops.attention(q: q, k: k, v: v, tokens: n, heads: heads, kvHeads: heads, headDim: dim / heads, causal: false)
        var h = Ops.linear(a, rows: n, oW, out: dim, in: dim, bias: oB)
        Ops.add(&h, x)
        Ops.layerNorm(&h, rows: n, dim: dim, weight: ln1W, bias: ln1B, eps: eps)
        var f = Ops.linear(h, rows: n, iW, out: inter, in: dim, bias: iB)
        for i in f.indices { f[i] = Ops.geluErf(f[i]) }
        var out = Ops.linear(f, rows: n, o2W, out: dim, in: inter, bias: o2B)
        Ops.add(&out, h)
        Ops.layerNorm(&out, rows: n, dim: dim, weight: ln2W, bias: ln2B, eps: eps)
        hidden[s] = out
      }
    }
    return hidden
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
  func rope(_ x: inout [Float], tokens: Int, heads h: Int) {
    let half = headDim / 2
    var inv = [Float](repeating: 0, count: half)
    for i in 0..<half { inv[i] = 1 / Float(pow(theta, Double(2 * i) / Double(headDim))) }
    for t in 0..<tokens {
      for i in 0..<half {
        let angle = Float(t) * inv[i]
        let c = cosf(angle), s = sinf(angle)
        for hh in 0..<h {
          let base = t * h * headDim + hh * headDim
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
    var hidden = sequences.map { Models.embed(embed, dim: dim, $0) }
    for l in 0..<layers {
      let pre = "model.layers.\(l)."
      func t(_ s: String) throws -> [Float] { try w.load(pre + s) }
      func bias(_ s: String) throws -> [Float]? { w.has(pre + s) ? try w.load(pre + s) : nil }
      let n1 = try t("input_layernorm.weight"), n2 = try t("post_attention_layernorm.weight")
      let qW = try t("self_attn.q_proj.weight"), kW = try t("self_attn.k_proj.weight"), vW = try t("self_attn.v_proj.weight")
      let qB = try bias("self_attn.q_proj.bias"), kB = try bias("self_attn.k_proj.bias"), vB = try bias("self_attn.v_proj.bias")
      let oW = try t("self_attn.o_proj.weight")
      let gW = try t("mlp.gate_proj.weight"), uW = try t("mlp.up_proj.weight"), dW = try t("mlp.down_proj.weight")
      for (s, x) in hidden.enumerated() {
        let n = sequences[s].count
        let h = Ops.rmsNorm(x, rows: n, dim: dim, weight: n1, eps: eps)
        var q = Ops.linear(h, rows: n, qW, out: heads * headDim, in: dim, bias: qB)
        var k = Ops.linear(h, rows: n, kW, out: kvHeads * headDim, in: dim, bias: kB)
        let v = Ops.linear(h, rows: n, vW, out: kvHeads * headDim, in: dim, bias: vB)
        rope(&q, tokens: n, heads: heads)
        rope(&k, tokens: n, heads: kvHeads)
        let a = Ops.attention(q: q, k: k, v: v, tokens: n, heads: heads, kvHeads: kvHeads, headDim: headDim, causal: true)
        var y = Ops.linear(a, rows: n, oW, out: dim, in: heads * headDim)
        Ops.add(&y, x)
        let h2 = Ops.rmsNorm(y, rows: n, dim: dim, weight: n2, eps: eps)
        var g = Ops.linear(h2, rows: n, gW, out: inter, in: dim)
        let u = Ops.linear(h2, rows: n, uW, out: inter, in: dim)
        for i in g.indices { g[i] = Ops.silu(g[i]) * u[i] }
        let down = Ops.linear(g, rows: n, dW, out: dim, in: inter)
        Ops.add(&y, down)
        hidden[s] = y
      }
    }
    let norm = try w.load("model.norm.weight")
    let head = w.has("lm_head.weight") ? try w.load("lm_head.weight") : embed
    return hidden.enumerated().map { s, x in
      let n = sequences[s].count
      return Ops.linear(Ops.rmsNorm(x, rows: n, dim: dim, weight: norm, eps: eps), rows: n, head, out: vocabSize, in: dim)
    }
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
    var hidden = sequences.map { s -> [Float] in
      var x = Models.embed(wte, dim: dim, s)
      for i in 0..<s.count { for c in 0..<dim { x[i * dim + c] += wpe[i * dim + c] } }
      return x
    }
    for l in 0..<layers {
      func t(_ s: String) throws -> [Float] { try w.load(p("h.\(l).") + s) }
      let ln1W = try t("ln_1.weight"), ln1B = try t("ln_1.bias"), ln2W = try t("ln_2.weight"), ln2B = try t("ln_2.bias")
      let aW = try t("attn.c_attn.weight"), aB = try t("attn.c_attn.bias"), pW = try t("attn.c_proj.weight"), pB = try t("attn.c_proj.bias")
      let fW = try t("mlp.c_fc.weight"), fB = try t("mlp.c_fc.bias"), mW = try t("mlp.c_proj.weight"), mB = try t("mlp.c_proj.bias")
      for (s, x) in hidden.enumerated() {
        let n = sequences[s].count
        var h = x
        Ops.layerNorm(&h, rows: n, dim: dim, weight: ln1W, bias: ln1B, eps: eps)
        let qkv = Ops.conv1d(h, rows: n, aW, in: dim, out: 3 * dim, bias: aB)
        var q = [Float](repeating: 0, count: n * dim), k = q, v = q
        for i in 0..<n { for c in 0..<dim {
          q[i * dim + c] = qkv[i * 3 * dim + c]
          k[i * dim + c] = qkv[i * 3 * dim + dim + c]
          v[i * dim + c] = qkv[i * 3 * dim + 2 * dim + c]
        } }
        let a = Ops.attention(q: q, k: k, v: v, tokens: n, heads: heads, kvHeads: heads, headDim: dim / heads, causal: true)
        var y = Ops.conv1d(a, rows: n, pW, in: dim, out: dim, bias: pB)
        Ops.add(&y, x)
        var h2 = y
        Ops.layerNorm(&h2, rows: n, dim: dim, weight: ln2W, bias: ln2B, eps: eps)
        var f = Ops.conv1d(h2, rows: n, fW, in: dim, out: inter, bias: fB)
        for i in f.indices { f[i] = Ops.geluTanh(f[i]) }
        Ops.add(&y, Ops.conv1d(f, rows: n, mW, in: inter, out: dim, bias: mB))
        hidden[s] = y
      }
    }
    let lnW = try w.load(p("ln_f.weight")), lnB = try w.load(p("ln_f.bias"))
    let head = w.has("lm_head.weight") ? try w.load("lm_head.weight") : wte
    return hidden.enumerated().map { s, x in
      var h = x
      let n = sequences[s].count
      Ops.layerNorm(&h, rows: n, dim: dim, weight: lnW, bias: lnB, eps: eps)
      return Ops.linear(h, rows: n, head, out: vocabSize, in: dim)
    }
  }
}

import Foundation
