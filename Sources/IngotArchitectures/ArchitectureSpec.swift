import IngotCore

/// One architecture as data (in the manner of gguf-py's tensor name maps):
/// which `model_type`s it covers, its tensors' Hugging Face and GGUF names
/// by role, its config keys and defaults, and the transforms between the
/// two layouts. The forward pass, GGUF import, the quantization policy, diff
/// and the benchmarks all read this table.
public struct ArchitectureSpec: Sendable {
  public enum Kind: Sendable { case encoder, decoder }

  /// How a model knows where a token is: learned position embeddings (a
  /// hard limit, `maxPositions` required) or rotary angles (rope_theta and
  /// its scaling keys apply, the head size must be even).
  public enum Positions: Sendable { case learned, rotary }

  /// A config value, named once for every architecture.
  public enum Field: String, Sendable, CaseIterable {
    case hiddenSize, layers, heads, kvHeads, headDim, intermediateSize, vocabSize, maxPositions
  }

  /// How a GGUF tensor's rows differ from Hugging Face's.
  public enum Transform: Sendable, Equatable {
    /// llama.cpp's converter interleaves each head's rotary halves (q: by
    /// attention heads, k: by key/value heads).
    case unpermuteRows(byKeyValueHeads: Bool)
    /// Gemma's RMSNorm scales by (1 + w); llama.cpp's converter stores
    /// w + 1, so import subtracts the 1 again.
    case normPlusOne
  }

  /// How an RMSNorm applies its weight: x̂·w, or x̂·(1 + w) (Gemma).
  public enum NormWeight: Sendable, Equatable { case plain, plusOne }

  /// The MLP's shape: gate and up as two matrices, or stacked in ffnUp
  /// (gate first, as Phi-3's gate_up_proj and llama.cpp's ffn_up hold them).
  public enum GatedMLP: Sendable, Equatable { case separate, fused }

  public var name: String
  public var kind: Kind
  public var positions: Positions
  /// intermediate_size when the config leaves it out, as a multiple of the
  /// hidden size (GPT-2's n_inner: null means 4 × n_embd); nil: required.
  public var defaultIntermediateFactor: Int? = nil
  public var modelTypes: [String]
  /// Hugging Face names by role, `{bid}` for the block; a prefix from
  /// `prefixes` may stand before them (heads add one: "bert.", "transformer.").
  public var hfNames: [TensorRole: String]
  public var prefixes: [String]
  /// llama.cpp's names by role, when its GGUF layout is mapped.
  public var ggufArchitecture: String?
  public var ggufNames: [TensorRole: String]
  public var ggufTransforms: [TensorRole: Transform]
  /// Hugging Face tensors (without prefix) llama.cpp's converter leaves out
  /// of a GGUF file, and GGUF export with it (BERT's pooler).
  public var ggufDropped: [String] = []
  /// config.json keys per field, first present wins.
  public var configKeys: [Field: [String]]
  /// GGUF keys per field, after `{architecture}.`.
  public var ggufKeys: [Field: String]
  public var epsKeys: [String]
  public var defaultEps: Double
  public var activationKey: String
  /// The activation the forward pass implements (nil: not checked).
  public var activation: String?
  /// Decoder details, by architecture (defaults: Llama's).
  public var normWeight: NormWeight = .plain
  /// Gemma multiplies the token embeddings by √hidden_size.
  public var scalesEmbeddings: Bool = false
  public var mlp: GatedMLP = .separate
  /// Attention reads q, k, v from one fused matrix (Phi-3's qkv_proj).
  public var fusedQKV: Bool = false
  /// Every layer has a sliding window in config.json when one is given
  /// (Mistral); nil: layer_types or `slidingPattern` say which.
  public var slidingEveryLayer: Bool = false
  /// llama.cpp's fixed pattern for GGUF (and HF's default when layer_types
  /// is absent): layer l slides unless l % n == n − 1.
  public var slidingPattern: Int? = nil
  /// llama.cpp's window when a GGUF file has no `attention.sliding_window`
  /// (Gemma 2: 4096; nil: no sliding window then).
  public var ggufDefaultWindow: Int? = nil
  /// Sliding layers rotate with their own, unscaled rope (Gemma 3), by
  /// default at this base (HF's rope_local_base_freq, llama.cpp's
  /// `rope.freq_base_swa`); nil: they share the global rope.
  public var localRopeTheta: Double? = nil
  /// The GGUF key of the norm epsilon, after `{architecture}.`.
  public var ggufEpsKey: String = "attention.layer_norm_rms_epsilon"
  /// GGUF has no query_pre_attn_scalar: llama.cpp scales queries by
  /// 1/√head_dim, except for models of these layer counts (Gemma's 27B),
  /// where it uses 1/√(hidden/heads).
  public var queryScaleFromHidden: Set<Int> = []

  /// The Hugging Face name of a role's tensor (without `.weight`/`.bias`).
  public func hfName(_ role: TensorRole, layer: Int? = nil) -> String? {
    hfNames[role].map { fill($0, layer) }
  }

  public func ggufName(_ role: TensorRole, layer: Int? = nil) -> String? {
    ggufNames[role].map { fill($0, layer) }
  }

  func fill(_ template: String, _ layer: Int?) -> String {
    guard let layer else { return template }
    return template.replacingAll("{bid}", with: String(layer))
  }

  /// The role and block of a tensor name in one of the given templates.
  static func match(_ name: String, _ templates: [TensorRole: String], prefixes: [String]) -> (role: TensorRole, layer: Int?, suffix: String)? {
    for prefix in prefixes where name.hasPrefix(prefix) {
      let rest = String(name.dropFirst(prefix.count))
      for (role, template) in templates {
        if let (layer, suffix) = TemplateMatch.match(rest, template) { return (role, layer, suffix) }
      }
    }
    return nil
  }

  /// A Hugging Face name's role.
  public func hfRole(_ name: String) -> (role: TensorRole, layer: Int?, suffix: String)? {
    Self.match(name, hfNames, prefixes: prefixes)
  }

  public func ggufRole(_ name: String) -> (role: TensorRole, layer: Int?, suffix: String)? {
    Self.match(name, ggufNames, prefixes: [""])
  }
}

/// Matching `model.layers.{bid}.mlp.up_proj` against a name followed by a
/// `.weight`-style suffix.
enum TemplateMatch {
  static func match(_ name: String, _ template: String) -> (Int?, String)? {
    let parts = template.components("{bid}")
    if parts.count == 1 {
      guard name.hasPrefix(template) else { return nil }
      let suffix = String(name.dropFirst(template.count))
      return suffix.isEmpty || suffix.hasPrefix(".") ? (nil, suffix) : nil
    }
    guard parts.count == 2, name.hasPrefix(parts[0]) else { return nil }
    let rest = name.dropFirst(parts[0].count)
    let digits = rest.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, digits.count <= 9, let layer = Int(digits) else { return nil }
    let tail = rest.dropFirst(digits.count)
    guard tail.hasPrefix(parts[1]) else { return nil }
    let suffix = String(tail.dropFirst(parts[1].count))
    return suffix.isEmpty || suffix.hasPrefix(".") ? (layer, suffix) : nil
  }
}

extension String {
  func components(_ separator: String) -> [String] {
    var out: [String] = []
    var rest = Substring(self)
    while let r = rest.range(of: separator) {
      out.append(String(rest[..<r.lowerBound]))
      rest = rest[r.upperBound...]
    }
    out.append(String(rest))
    return out
  }

  func replacingAll(_ target: String, with value: String) -> String { components(target).joined(separator: value) }
}

extension Substring {
  func range(of s: String) -> Range<Substring.Index>? {
    guard !s.isEmpty else { return nil }
    var i = startIndex
    while i < endIndex {
      if self[i...].hasPrefix(s) { return i..<index(i, offsetBy: s.count) }
      i = index(after: i)
    }
    return nil
  }
}
