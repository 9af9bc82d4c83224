import IngotCore

/// The registry: every architecture Ingot knows, as data. Adding one is an
/// entry here (and its forward pass in IngotRuntime, if it runs).
public enum Architectures {
  /// Hugging Face's names for the Llama-style decoders (Mistral, Qwen, Gemma, Phi-3 share them).
  static let decoderHF: [TensorRole: String] = [
    .tokenEmbedding: "model.embed_tokens", .attnNorm: "model.layers.{bid}.input_layernorm",
    .attnQ: "model.layers.{bid}.self_attn.q_proj", .attnK: "model.layers.{bid}.self_attn.k_proj",
    .attnV: "model.layers.{bid}.self_attn.v_proj", .attnOutput: "model.layers.{bid}.self_attn.o_proj",
    .ffnNorm: "model.layers.{bid}.post_attention_layernorm", .ffnGate: "model.layers.{bid}.mlp.gate_proj",
    .ffnUp: "model.layers.{bid}.mlp.up_proj", .ffnDown: "model.layers.{bid}.mlp.down_proj",
    .outputNorm: "model.norm", .output: "lm_head",
  ]
  /// llama.cpp's names for the same roles.
  static let decoderGGUF: [TensorRole: String] = [
    .tokenEmbedding: "token_embd", .attnNorm: "blk.{bid}.attn_norm", .attnQ: "blk.{bid}.attn_q", .attnK: "blk.{bid}.attn_k",
    .attnV: "blk.{bid}.attn_v", .attnOutput: "blk.{bid}.attn_output", .ffnNorm: "blk.{bid}.ffn_norm",
    .ffnGate: "blk.{bid}.ffn_gate", .ffnUp: "blk.{bid}.ffn_up", .ffnDown: "blk.{bid}.ffn_down",
    .outputNorm: "output_norm", .output: "output", .ropeFreqs: "rope_freqs",
  ]
  static let decoderConfigKeys: [ArchitectureSpec.Field: [String]] = [
    .hiddenSize: ["hidden_size"], .layers: ["num_hidden_layers"], .heads: ["num_attention_heads"],
    .kvHeads: ["num_key_value_heads"], .headDim: ["head_dim"], .intermediateSize: ["intermediate_size"],
    .vocabSize: ["vocab_size"], .maxPositions: ["max_position_embeddings"],
  ]
  static let decoderGGUFKeys: [ArchitectureSpec.Field: String] = [
    .hiddenSize: "embedding_length", .layers: "block_count", .heads: "attention.head_count",
    .kvHeads: "attention.head_count_kv", .headDim: "attention.key_length", .intermediateSize: "feed_forward_length",
    .vocabSize: "vocab_size", .maxPositions: "context_length",
  ]

  static func decoder(
    _ name: String, modelTypes: [String], gguf: String, hf: [TensorRole: String] = [:], ggufNames: [TensorRole: String] = [:],
    transforms: [TensorRole: ArchitectureSpec.Transform] = [:], activation: String = "silu", activationKey: String = "hidden_act"
  ) -> ArchitectureSpec {
    ArchitectureSpec(
      name: name, kind: .decoder, positions: .rotary, modelTypes: modelTypes,
      hfNames: decoderHF.merging(hf) { $1 }, prefixes: [""], ggufArchitecture: gguf,
      ggufNames: decoderGGUF.merging(ggufNames) { $1 }, ggufTransforms: transforms,
      configKeys: decoderConfigKeys, ggufKeys: decoderGGUFKeys,
      epsKeys: ["rms_norm_eps"], defaultEps: 1e-6, activationKey: activationKey, activation: activation)
  }

  /// Llama 2/3.x and Mistral (llama.cpp writes both as `llama`, with q/k
  /// rows permuted for its interleaved rotary).
  public static let llama: ArchitectureSpec = {
    var s = decoder("llama", modelTypes: ["llama", "mistral"], gguf: "llama",
                    transforms: [.attnQ: .unpermuteRows(byKeyValueHeads: false), .attnK: .unpermuteRows(byKeyValueHeads: true)])
    s.slidingEveryLayer = true
    return s
  }()

  /// Qwen2 / 2.5: q/k/v biases (read when present), rotate-half rotary in
  /// both layouts, so no permutation.
  public static let qwen2 = decoder("qwen2", modelTypes: ["qwen2"], gguf: "qwen2")

  /// Qwen3: RMSNorm per head on q and k, explicit head_dim.
  public static let qwen3 = decoder(
    "qwen3", modelTypes: ["qwen3"], gguf: "qwen3",
    hf: [.attnQNorm: "model.layers.{bid}.self_attn.q_norm", .attnKNorm: "model.layers.{bid}.self_attn.k_norm"],
    ggufNames: [.attnQNorm: "blk.{bid}.attn_q_norm", .attnKNorm: "blk.{bid}.attn_k_norm"])

  static let gemmaHF: [TensorRole: String] = [
    .attnPostNorm: "model.layers.{bid}.post_attention_layernorm", .ffnNorm: "model.layers.{bid}.pre_feedforward_layernorm",
    .ffnPostNorm: "model.layers.{bid}.post_feedforward_layernorm",
  ]
  static let gemmaGGUF: [TensorRole: String] = [
    .attnPostNorm: "blk.{bid}.post_attention_norm", .ffnNorm: "blk.{bid}.ffn_norm", .ffnPostNorm: "blk.{bid}.post_ffw_norm",
  ]
  /// Gemma's shared layout: norms x̂·(1 + w) (stored w + 1 in GGUF) before
  /// and after attention and the MLP, embeddings × √hidden, GELU (tanh).
  static func gemma(
    _ name: String, modelTypes: [String], hf: [TensorRole: String] = [:], gguf: [TensorRole: String] = [:],
    slidingPattern: Int, bigModelLayers: Int
  ) -> ArchitectureSpec {
    let norms = Dictionary(uniqueKeysWithValues: TensorRole.allCases.filter(\.isNorm).map { ($0, ArchitectureSpec.Transform.normPlusOne) })
    var s = decoder(
      name, modelTypes: modelTypes, gguf: name, hf: gemmaHF.merging(hf) { $1 }, ggufNames: gemmaGGUF.merging(gguf) { $1 },
      transforms: norms, activation: "gelu_pytorch_tanh", activationKey: "hidden_activation")
    s.normWeight = .plusOne
    s.scalesEmbeddings = true
    s.slidingPattern = slidingPattern
    // llama.cpp takes the 27B models' query scale from hidden/heads.
    s.queryScaleFromHidden = [bigModelLayers]
    return s
  }

  /// Gemma 2: sliding window on even layers (4096 when a GGUF file says
  /// none), attention and final logit soft-capping.
  public static let gemma2: ArchitectureSpec = {
    var s = gemma("gemma2", modelTypes: ["gemma2"], slidingPattern: 2, bigModelLayers: 46)
    s.ggufDefaultWindow = 4096
    return s
  }()

  /// Gemma 3 text: Gemma 2's layout plus q/k norms, five sliding layers
  /// (local rope base) to one global, no soft-capping of attention.
  public static let gemma3: ArchitectureSpec = {
    var s = gemma(
      "gemma3", modelTypes: ["gemma3_text"],
      hf: [.attnQNorm: "model.layers.{bid}.self_attn.q_norm", .attnKNorm: "model.layers.{bid}.self_attn.k_norm"],
      gguf: [.attnQNorm: "blk.{bid}.attn_q_norm", .attnKNorm: "blk.{bid}.attn_k_norm"], slidingPattern: 6, bigModelLayers: 62)
    s.localRopeTheta = 10000
    return s
  }()

  /// Phi-3 (mini and medium): fused qkv_proj and gate_up_proj, kept fused
  /// in llama.cpp's layout (attn_qkv, ffn_up).
  public static let phi3: ArchitectureSpec = {
    var s = decoder(
      "phi3", modelTypes: ["phi3"], gguf: "phi3",
      hf: [.attnQKV: "model.layers.{bid}.self_attn.qkv_proj", .ffnUp: "model.layers.{bid}.mlp.gate_up_proj"],
      ggufNames: [.attnQKV: "blk.{bid}.attn_qkv"])
    for role in [TensorRole.attnQ, .attnK, .attnV, .ffnGate] {
      s.hfNames[role] = nil
      s.ggufNames[role] = nil
    }
    s.mlp = .fused
    s.fusedQKV = true
    s.slidingEveryLayer = true
    return s
  }()

  public static let bert: ArchitectureSpec = {
    var s = bertBase
    s.ggufDropped = ["pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids"]
    return s
  }()

  static let bertBase = ArchitectureSpec(
    name: "bert", kind: .encoder, positions: .learned, modelTypes: ["bert"],
    hfNames: [
      .tokenEmbedding: "embeddings.word_embeddings", .positionEmbedding: "embeddings.position_embeddings",
      .tokenTypeEmbedding: "embeddings.token_type_embeddings", .embeddingNorm: "embeddings.LayerNorm",
      .attnQ: "encoder.layer.{bid}.attention.self.query", .attnK: "encoder.layer.{bid}.attention.self.key",
      .attnV: "encoder.layer.{bid}.attention.self.value", .attnOutput: "encoder.layer.{bid}.attention.output.dense",
      .attnOutputNorm: "encoder.layer.{bid}.attention.output.LayerNorm", .ffnUp: "encoder.layer.{bid}.intermediate.dense",
      .ffnDown: "encoder.layer.{bid}.output.dense", .ffnOutputNorm: "encoder.layer.{bid}.output.LayerNorm",
    ],
    // BertModel checkpoints have no prefix; BertFor… heads add "bert.".
    prefixes: ["", "bert."],
    ggufArchitecture: "bert",
    ggufNames: [
      .tokenEmbedding: "token_embd", .positionEmbedding: "position_embd", .tokenTypeEmbedding: "token_types",
      .embeddingNorm: "token_embd_norm", .attnQ: "blk.{bid}.attn_q", .attnK: "blk.{bid}.attn_k", .attnV: "blk.{bid}.attn_v",
      .attnOutput: "blk.{bid}.attn_output", .attnOutputNorm: "blk.{bid}.attn_output_norm", .ffnUp: "blk.{bid}.ffn_up",
      .ffnDown: "blk.{bid}.ffn_down", .ffnOutputNorm: "blk.{bid}.layer_output_norm",
    ],
    ggufTransforms: [:],
    configKeys: [
      .hiddenSize: ["hidden_size"], .layers: ["num_hidden_layers"], .heads: ["num_attention_heads"],
      .intermediateSize: ["intermediate_size"], .vocabSize: ["vocab_size"], .maxPositions: ["max_position_embeddings"],
    ],
    ggufKeys: [
      .hiddenSize: "embedding_length", .layers: "block_count", .heads: "attention.head_count",
      .intermediateSize: "feed_forward_length", .vocabSize: "vocab_size", .maxPositions: "context_length",
    ],
    epsKeys: ["layer_norm_eps"], defaultEps: 1e-12, activationKey: "hidden_act", activation: "gelu",
    ggufEpsKey: "attention.layer_norm_epsilon")

  public static let gpt2 = ArchitectureSpec(
    name: "gpt2", kind: .decoder, positions: .learned, defaultIntermediateFactor: 4, modelTypes: ["gpt2"],
    hfNames: [
      .tokenEmbedding: "wte", .positionEmbedding: "wpe", .attnNorm: "h.{bid}.ln_1", .attnQKV: "h.{bid}.attn.c_attn",
      .attnOutput: "h.{bid}.attn.c_proj", .ffnNorm: "h.{bid}.ln_2", .ffnUp: "h.{bid}.mlp.c_fc",
      .ffnDown: "h.{bid}.mlp.c_proj", .outputNorm: "ln_f", .output: "lm_head",
    ],
    // GPT2LMHeadModel checkpoints prefix "transformer."; GPT2Model ones do not.
    prefixes: ["", "transformer."],
    ggufArchitecture: nil, ggufNames: [:], ggufTransforms: [:],
    configKeys: [
      .hiddenSize: ["n_embd"], .layers: ["n_layer"], .heads: ["n_head"], .intermediateSize: ["n_inner"],
      .vocabSize: ["vocab_size"], .maxPositions: ["n_positions"],
    ],
    ggufKeys: [:], epsKeys: ["layer_norm_epsilon"], defaultEps: 1e-5, activationKey: "activation_function", activation: "gelu_new")

  public static let all: [ArchitectureSpec] = [llama, qwen2, qwen3, gemma2, gemma3, phi3, bert, gpt2]

  public static func spec(modelType: String) -> ArchitectureSpec? { all.first { $0.modelTypes.contains(modelType) } }

  public static func spec(gguf architecture: String) -> ArchitectureSpec? { all.first { $0.ggufArchitecture == architecture } }

  public static var modelTypes: [String] { all.flatMap(\.modelTypes) }

  /// A tensor's role and block, by every architecture's names (Hugging Face,
  /// then GGUF), or nil for a name none of them uses.
  public static func role(of name: String) -> (role: TensorRole, layer: Int?)? {
    for spec in all {
      if let m = spec.hfRole(name) { return (m.role, m.layer) }
    }
    for spec in all {
      if let m = spec.ggufRole(name) { return (m.role, m.layer) }
    }
    return nil
  }

  /// The embedding layer (tables and their norm): by role, else by the word
  /// in the name (a checkpoint of an architecture not in the table).
  public static func isEmbedding(_ name: String) -> Bool {
    if let r = role(of: name) { return r.role.isEmbeddingLayer }
    return name.contains("embed")
  }

  public static func isOutputHead(_ name: String) -> Bool {
    if let r = role(of: name) { return r.role.isOutputHead }
    return name.hasPrefix("lm_head.") || name.hasPrefix("embed_out.")
  }

  /// An attention or MLP matrix: by role, else by the words checkpoints use.
  public static func isBlockMatrix(_ name: String) -> Bool {
    if let r = role(of: name) { return r.role.isBlockMatrix }
    return ["proj", "attn", "mlp", "dense", "query", "key", "value"].contains { name.contains($0) }
  }

  /// The block index and the rest of a per-layer name, for any naming that
  /// counts blocks as `layers.N`, `layer.N`, `h.N` or `blk.N`
  /// ("model.layers.3.mlp.up_proj.weight" → (3, "mlp.up_proj.weight")).
  public static func block(_ name: String) -> (Int, String)? {
    let parts = name.split(separator: ".").map(String.init)
    for i in 0..<max(parts.count - 1, 0) where ["layers", "layer", "h", "blk"].contains(parts[i]) {
      if let n = Int(parts[i + 1]) { return (n, parts[(i + 2)...].joined(separator: ".")) }
    }
    return nil
  }
}
