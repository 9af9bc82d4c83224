import Foundation
import IngotCore

extension ArchitectureSpec {
  /// Decodes and checks a Hugging Face config.json.
  public func config(_ c: JSONValue) throws(ConfigError) -> ModelConfig {
    func value(_ field: Field) throws(ConfigError) -> Int? {
      for key in configKeys[field] ?? [] {
        guard let v = c[key], v != .null else { continue }
        guard let i = v.intValue else { throw .notAnInteger(key: key) }
        return try checked(key, i)
      }
      return nil
    }
    func required(_ field: Field) throws(ConfigError) -> Int {
      guard let v = try value(field) else { throw .missing(key: configKeys[field]?.first ?? field.rawValue) }
      return v
    }
    let modelType = c["model_type"]?.stringValue ?? name
    let hidden = try required(.hiddenSize)
    let heads = try required(.heads)
    var config = ModelConfig(
      architecture: name, modelType: modelType, hiddenSize: hidden, layers: try required(.layers), heads: heads,
      kvHeads: try value(.kvHeads) ?? heads, headDim: 0, intermediateSize: 0, vocabSize: try required(.vocabSize),
      maxPositions: try value(.maxPositions), normEps: defaultEps, rope: Rope(theta: 10000),
      activation: c[activationKey]?.stringValue ?? c["hidden_act"]?.stringValue,
      tieWordEmbeddings: c["tie_word_embeddings"]?.boolValue ?? true)
    let headDim = try value(.headDim)
    config.headDim = headDim ?? (heads > 0 ? hidden / heads : 0)
    // GPT-2 leaves n_inner out (null) for 4 × n_embd.
    if let inter = try value(.intermediateSize) {
      config.intermediateSize = inter
    } else {
      if let factor = defaultIntermediateFactor { config.intermediateSize = factor * hidden } else { config.intermediateSize = try required(.intermediateSize) }
    }
    for key in epsKeys { if let e = c[key]?.doubleValue { config.normEps = e } }
    for key in ["num_local_experts", "num_experts", "n_routed_experts"] {
      if let n = c[key]?.intValue, n > 0 { throw .unsupported(key: key, value: String(n), supported: "dense models only (mixture of experts is not implemented)") }
    }
    if positions == .rotary { try decodeRotary(c, into: &config) }
    if positions == .learned {
      guard config.maxPositions != nil else { throw .missing(key: configKeys[.maxPositions]?.first ?? "max_position_embeddings") }
    }
    if let activation, let act = config.activation, act != activation {
      // transformers treats gelu_pytorch_tanh and gelu_new alike (tanh approximation).
      guard activation == "gelu_pytorch_tanh" && act == "gelu_new" else {
        throw .unsupported(key: activationKey, value: act, supported: "\(activation) is implemented")
      }
    }
    try check(config, headDimGiven: headDim != nil)
    return config
  }

  /// Translates a GGUF-born container's `{architecture}.*` keys (kept as
  /// `gguf/…` metadata) into the same typed config.
  /// - Parameter shape: a tensor's shape by Hugging Face name, if present.
  public func config(gguf metadata: [String: String], shape: (String) -> [Int]?) throws(ConfigError) -> ModelConfig {
    guard let arch = ggufArchitecture, let embedName = hfName(.tokenEmbedding).map({ $0 + ".weight" }) else {
      throw .unknownArchitecture(name, known: Architectures.all.compactMap(\.ggufArchitecture))
    }
    func value(_ field: Field) throws(ConfigError) -> Int? {
      guard let suffix = ggufKeys[field] else { return nil }
      let key = arch + "." + suffix
      guard let text = metadata["gguf/" + key] else { return nil }
      guard let i = Int64(text) else { throw .notAnInteger(key: key) }
      return try checked(key, i)
    }
    func required(_ field: Field) throws(ConfigError) -> Int {
      guard let v = try value(field) else { throw .missing(key: arch + "." + (ggufKeys[field] ?? field.rawValue)) }
      return v
    }
    func double(_ suffix: String) -> Double? { metadata["gguf/" + arch + "." + suffix].flatMap(Double.init) }
    func int(_ suffix: String) throws(ConfigError) -> Int? {
      guard let text = metadata["gguf/" + arch + "." + suffix] else { return nil }
      guard let i = Int64(text) else { throw .notAnInteger(key: arch + "." + suffix) }
      return try checked(arch + "." + suffix, i)
    }
    guard let embed = shape(embedName), embed.count == 2 else {
      throw .inconsistent(key: embedName, reason: "missing: convert the GGUF file with --names hf (the default for \(arch))")
    }
    if let text = metadata["gguf/" + arch + ".expert_count"], let n = Int(text), n > 0 {
      throw .unsupported(key: arch + ".expert_count", value: text, supported: "dense models only (mixture of experts is not implemented)")
    }
    let heads = try required(.heads)
    let hidden = try required(.hiddenSize)
    let layers = try required(.layers)
    var config = ModelConfig(
      architecture: name, modelType: name, hiddenSize: hidden, layers: layers, heads: heads,
      kvHeads: try value(.kvHeads) ?? heads, headDim: 0, intermediateSize: try required(.intermediateSize),
      vocabSize: try value(.vocabSize) ?? embed[0], maxPositions: try value(.maxPositions),
      // llama.cpp's own defaults when a file leaves these out.
      normEps: double(ggufEpsKey) ?? 1e-5, rope: Rope(theta: double("rope.freq_base") ?? 10000),
      activation: activation, tieWordEmbeddings: hfName(.output).map { shape($0 + ".weight") == nil } ?? true)
    let headDimGiven = try value(.headDim)
    config.headDim = headDimGiven ?? (heads > 0 ? hidden / heads : 0)
    if positions == .rotary {
      guard config.rope.theta.isFinite, config.rope.theta > 0 else {
        throw .outOfRange(key: arch + ".rope.freq_base", value: approx(config.rope.theta), reason: "must be positive")
      }
      // Partial rotary (rotating fewer dimensions than the head has) is not implemented.
      if let text = metadata["gguf/" + arch + ".rope.dimension_count"], let dims = Int(text), dims != config.headDim {
        throw .unsupported(key: arch + ".rope.dimension_count", value: text, supported: "rotary over the whole head (\(config.headDim))")
      }
      let scalingKey = arch + ".rope.scaling.type"
      switch metadata["gguf/" + scalingKey] ?? "none" {
      case "none": break
      case "linear":
        let f = double("rope.scaling.factor") ?? 1
        guard f.isFinite, f > 0 else { throw .outOfRange(key: arch + ".rope.scaling.factor", value: approx(f), reason: "must be positive") }
        config.rope.scaling = .linear(factor: f)
      case "yarn":
        let f = double("rope.scaling.factor") ?? 1
        guard f.isFinite, f >= 1 else { throw .outOfRange(key: arch + ".rope.scaling.factor", value: approx(f), reason: "YaRN needs a factor ≥ 1") }
        guard let original = double("rope.scaling.original_context_length"), original.isFinite, original > 0 else {
          throw .inconsistent(key: arch + ".rope.scaling.original_context_length", reason: "YaRN needs a positive original context")
        }
        config.rope.scaling = .yarn(
          factor: f, originalContext: original, betaFast: double("rope.scaling.yarn_beta_fast") ?? 32,
          betaSlow: double("rope.scaling.yarn_beta_slow") ?? 1,
          attentionFactor: double("rope.scaling.attn_factor").flatMap { $0 > 0 && $0 != 1 ? $0 : nil } ?? (f > 1 ? 0.1 * log(f) + 1 : 1),
          truncate: true)
      case let other: throw .unsupported(key: scalingKey, value: other, supported: "none, linear, yarn")
      }
      if let r = ggufName(.ropeFreqs), let s = shape(r + ".weight") {
        guard s == [config.headDim / 2] else { throw .inconsistent(key: r + ".weight", reason: "shape \(s), but the head needs [\(config.headDim / 2)]") }
        config.rope.scaling = .frequencyFactors(tensor: r + ".weight")
      }
      // Sliding windows as llama.cpp runs them: only where it has a layer
      // pattern (Gemma; it ignores Mistral's and switches Phi-3's off), from
      // `attention.sliding_window_pattern` (a period or one flag per layer).
      if let pattern = slidingPattern, let window = try int("attention.sliding_window") ?? ggufDefaultWindow, window > 0 {
        let key = arch + ".attention.sliding_window_pattern"
        var sliding = (0..<layers).map { l in l % pattern < pattern - 1 }
        if let text = metadata["gguf/" + key] {
          if let n = Int(text) {
            guard n >= 0 else { throw .outOfRange(key: key, value: Int64(n), reason: "must not be negative") }
            sliding = (0..<layers).map { l in n == 0 || l % n < n - 1 }
          } else if case .array(let flags)? = try? JSONParser.parse(Array(text.utf8)), flags.count == layers, flags.allSatisfy({ $0.boolValue != nil }) {
            sliding = flags.map { $0.boolValue ?? false }
          } else {
            throw .inconsistent(key: key, reason: "neither a period nor one flag for each of \(layers) layers")
          }
        }
        config.slidingWindow = window
        config.slidingLayers = sliding
        // Gemma 3's local layers: their own base, unscaled; Gemma 2's: the
        // global rope, with its own base if the file gives one.
        let theta = double("rope.freq_base_swa") ?? localRopeTheta ?? config.rope.theta
        config.localRope = Rope(theta: theta, scaling: localRopeTheta == nil ? config.rope.scaling : .none)
      }
      config.attentionSoftcap = double("attn_logit_softcapping").flatMap { $0 > 0 ? $0 : nil }
      config.finalSoftcap = double("final_logit_softcapping").flatMap { $0 > 0 ? $0 : nil }
      // llama.cpp does not store Gemma's query_pre_attn_scalar: it uses the
      // head size, and hidden/heads for the 27B models (told by layer count).
      let divisor = queryScaleFromHidden.contains(layers) && heads > 0 ? Double(hidden / heads) : Double(config.headDim)
      config.queryScale = divisor > 0 ? 1 / divisor.squareRoot() : 0
    }
    try check(config, headDimGiven: headDimGiven != nil)
    return config
  }

  /// Rotary settings from config.json, in transformers 5's form
  /// (`rope_parameters`, flat or per layer type) and in 4's (`rope_theta`,
  /// `rope_scaling`, Gemma 3's `rope_local_base_freq`); sliding windows from
  /// `layer_types`, else the architecture's pattern.
  func decodeRotary(_ c: JSONValue, into config: inout ModelConfig) throws(ConfigError) {
    let params = c["rope_parameters"]
    let perType = params?["full_attention"] != nil || params?["sliding_attention"] != nil
    let global = perType ? params?["full_attention"] : params
    let globalKey = perType ? "rope_parameters.full_attention" : (params != nil ? "rope_parameters" : "rope_scaling")
    let theta = global?["rope_theta"]?.doubleValue ?? c["rope_theta"]?.doubleValue ?? 10000
    config.rope = try rope(theta: theta, global ?? c["rope_scaling"], key: globalKey, config: config)
    for key in ["partial_rotary_factor"] {
      if let f = c[key]?.doubleValue ?? global?[key]?.doubleValue, f != 1 {
        throw .unsupported(key: key, value: String(f), supported: "rotary over the whole head")
      }
    }
    if let localBase = localRopeTheta {
      if perType, let local = params?["sliding_attention"] {
        config.localRope = try rope(theta: local["rope_theta"]?.doubleValue ?? localBase, local, key: "rope_parameters.sliding_attention", config: config)
      } else {
        config.localRope = Rope(theta: c["rope_local_base_freq"]?.doubleValue ?? localBase)
      }
    }
    // Sliding windows.
    var window: Int? = nil
    if let w = c["sliding_window"], w != .null {
      guard let i = w.intValue else { throw .notAnInteger(key: "sliding_window") }
      window = try checked("sliding_window", i)
    }
    if c["use_sliding_window"]?.boolValue == false { window = nil }
    if let window, window > 0 {
      var sliding: [Bool]
      if let types = c["layer_types"]?.arrayValue {
        guard types.count == config.layers else {
          throw .inconsistent(key: "layer_types", reason: "\(types.count) entries for \(config.layers) layers")
        }
        sliding = []
        for t in types {
          switch t.stringValue {
          case "sliding_attention": sliding.append(true)
          case "full_attention": sliding.append(false)
          case let other: throw .unsupported(key: "layer_types", value: other ?? "?", supported: "sliding_attention, full_attention")
          }
        }
      } else if let p = slidingPattern {
        let n = c["sliding_window_pattern"]?.intValue.map(Int.init) ?? p
        guard n > 0 else { throw .outOfRange(key: "sliding_window_pattern", value: Int64(n), reason: "must be positive") }
        sliding = (0..<config.layers).map { $0 % n < n - 1 }
      } else if slidingEveryLayer {
        sliding = Array(repeating: true, count: config.layers)
      } else {
        sliding = []
      }
      if sliding.contains(true) {
        config.slidingWindow = window
        config.slidingLayers = sliding
      }
    }
    if let s = c["query_pre_attn_scalar"]?.doubleValue {
      guard s.isFinite, s > 0 else { throw .outOfRange(key: "query_pre_attn_scalar", value: approx(s), reason: "must be positive") }
      config.queryScale = 1 / s.squareRoot()
    } else {
      config.queryScale = config.headDim > 0 ? 1 / Double(config.headDim).squareRoot() : 0
    }
    func cap(_ key: String) throws(ConfigError) -> Double? {
      guard let v = c[key], v != .null else { return nil }
      guard let d = v.doubleValue, d.isFinite, d > 0 else { throw .outOfRange(key: key, value: approx(v.doubleValue ?? -1), reason: "must be positive or null") }
      return d
    }
    config.attentionSoftcap = try cap("attn_logit_softcapping")
    config.finalSoftcap = try cap("final_logit_softcapping")
  }

  /// One rope block: rope_type (or v4's `type`) and its parameters.
  func rope(theta: Double, _ p: JSONValue?, key: String, config: ModelConfig) throws(ConfigError) -> Rope {
    guard theta.isFinite, theta > 0 else { throw .outOfRange(key: "rope_theta", value: approx(theta), reason: "must be positive") }
    guard let p, p != .null, let kind = p["rope_type"]?.stringValue ?? p["type"]?.stringValue else { return Rope(theta: theta) }
    func number(_ name: String) throws(ConfigError) -> Double {
      guard let v = p[name]?.doubleValue else { throw .missing(key: key + "." + name) }
      guard v.isFinite, v > 0 else { throw .outOfRange(key: key + "." + name, value: approx(v), reason: "must be positive") }
      return v
    }
    switch kind {
    case "default": return Rope(theta: theta)
    case "linear": return Rope(theta: theta, scaling: .linear(factor: try number("factor")))
    case "llama3":
      let low = try number("low_freq_factor"), high = try number("high_freq_factor")
      guard high != low else { throw .inconsistent(key: key + ".high_freq_factor", reason: "equals low_freq_factor") }
      return Rope(theta: theta, scaling: .llama3(
        factor: try number("factor"), lowFrequencyFactor: low, highFrequencyFactor: high,
        originalContext: try number("original_max_position_embeddings")))
    case "yarn":
      let factor = try number("factor")
      let original = p["original_max_position_embeddings"]?.doubleValue ?? (config.maxPositions.map { Double($0) / factor } ?? 0)
      guard original > 0 else { throw .missing(key: key + ".original_max_position_embeddings") }
      if p["mscale"] != nil || p["mscale_all_dim"] != nil {
        throw .unsupported(key: key + ".mscale", value: "set", supported: "YaRN with the default attention factor or attention_factor")
      }
      let attention = p["attention_factor"]?.doubleValue ?? (factor > 1 ? 0.1 * log(factor) + 1 : 1)
      return Rope(theta: theta, scaling: .yarn(
        factor: factor, originalContext: original, betaFast: p["beta_fast"]?.doubleValue ?? 32,
        betaSlow: p["beta_slow"]?.doubleValue ?? 1, attentionFactor: attention, truncate: p["truncate"]?.boolValue ?? true))
    default:
      throw .unsupported(key: key + ".rope_type", value: kind, supported: "default, linear, llama3, yarn")
    }
  }

  /// A float value for an error message, without trapping on NaN, ±∞ or
  /// magnitudes beyond Int64.
  func approx(_ d: Double) -> Int64 { d.isFinite ? Int64(max(min(d, 9e18), -9e18)) : 0 }

  func checked(_ key: String, _ v: Int64) throws(ConfigError) -> Int {
    guard v >= 0, v < Limits.maxConfigValue else { throw .outOfRange(key: key, value: v, reason: "must be between 0 and 2^40") }
    return Int(v)
  }

  /// Values that would make a kernel divide by zero, index out of range or
  /// read past a weight are refused here, naming the key.
  func check(_ c: ModelConfig, headDimGiven: Bool) throws(ConfigError) {
    func key(_ f: Field) -> String { configKeys[f]?.first ?? f.rawValue }
    guard c.hiddenSize > 0 else { throw .outOfRange(key: key(.hiddenSize), value: Int64(c.hiddenSize), reason: "must be positive") }
    guard c.heads > 0 else { throw .outOfRange(key: key(.heads), value: Int64(c.heads), reason: "must be positive") }
    guard c.kvHeads > 0 else { throw .outOfRange(key: key(.kvHeads), value: Int64(c.kvHeads), reason: "must be positive") }
    guard c.heads % c.kvHeads == 0 else { throw .inconsistent(key: key(.kvHeads), reason: "\(c.kvHeads) does not divide \(key(.heads)) \(c.heads)") }
    guard headDimGiven || c.hiddenSize % c.heads == 0 else {
      throw .inconsistent(key: key(.hiddenSize), reason: "\(c.hiddenSize) is not divisible by \(key(.heads)) \(c.heads)")
    }
    guard c.headDim > 0, c.headDim % 2 == 0 || positions == .learned else {
      throw .inconsistent(key: key(.headDim), reason: "\(c.headDim) must be positive (and even for rotary)")
    }
    guard c.vocabSize > 0 else { throw .outOfRange(key: key(.vocabSize), value: Int64(c.vocabSize), reason: "must be positive") }
    guard c.intermediateSize > 0 else { throw .outOfRange(key: key(.intermediateSize), value: Int64(c.intermediateSize), reason: "must be positive") }
    if let p = c.maxPositions, p <= 0, positions == .learned {
      throw .outOfRange(key: key(.maxPositions), value: Int64(p), reason: "must be positive")
    }
    // The sizes kernels multiply before any weight's shape is compared:
    // each product must be one a file could hold (each factor alone is
    // below maxConfigValue, but two of them can overflow).
    let products: [(Field, Int, Int)] = [
      (.heads, c.heads, c.headDim), (.kvHeads, c.kvHeads, c.headDim), (.vocabSize, c.vocabSize, c.hiddenSize),
      (.intermediateSize, c.intermediateSize, c.hiddenSize), (.maxPositions, c.maxPositions ?? 0, c.hiddenSize),
    ]
    for (field, a, b) in products {
      let (p, overflow) = a.multipliedReportingOverflow(by: b)
      guard !overflow, p < Limits.maxConfigValue else {
        throw .outOfRange(key: key(field), value: Int64(a), reason: "times \(b) exceeds 2^40 elements")
      }
    }
  }
}
