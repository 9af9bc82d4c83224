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
      maxPositions: try value(.maxPositions), normEps: defaultEps, ropeTheta: 10000,
      activation: c[activationKey]?.stringValue, tieWordEmbeddings: c["tie_word_embeddings"]?.boolValue ?? true)
    let headDim = try value(.headDim)
    config.headDim = headDim ?? (heads > 0 ? hidden / heads : 0)
    // GPT-2 leaves n_inner out (null) for 4 × n_embd.
    if let inter = try value(.intermediateSize) {
      config.intermediateSize = inter
    } else {
      if let factor = defaultIntermediateFactor { config.intermediateSize = factor * hidden } else { config.intermediateSize = try required(.intermediateSize) }
    }
    for key in epsKeys { if let e = c[key]?.doubleValue { config.normEps = e } }
    if positions == .rotary {
      config.ropeTheta = c["rope_theta"]?.doubleValue ?? c["rope_parameters"]?["rope_theta"]?.doubleValue ?? 10000
      for key in ["rope_scaling", "rope_parameters"] {
        if let kind = c[key]?["rope_type"]?.stringValue ?? c[key]?["type"]?.stringValue, kind != "default" {
          throw .unsupported(key: key + ".rope_type", value: kind, supported: "plain rope only")
        }
      }
    }
    if positions == .learned {
      guard config.maxPositions != nil else { throw .missing(key: configKeys[.maxPositions]?.first ?? "max_position_embeddings") }
    }
    if let activation, let act = config.activation, act != activation {
      throw .unsupported(key: activationKey, value: act, supported: "\(activation) is implemented")
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
    guard let embed = shape(embedName), embed.count == 2 else {
      throw .inconsistent(key: embedName, reason: "missing: convert the GGUF file with --names hf (the default for \(arch))")
    }
    if let r = hfName(.ropeFreqs) ?? ggufName(.ropeFreqs), shape(r + ".weight") != nil {
      throw .unsupported(key: "rope_freqs.weight", value: "llama3", supported: "plain rope only")
    }
    if let scaling = metadata["gguf/" + arch + ".rope.scaling.type"], scaling != "none" {
      throw .unsupported(key: arch + ".rope.scaling.type", value: scaling, supported: "plain rope only")
    }
    let heads = try required(.heads)
    let hidden = try required(.hiddenSize)
    var config = ModelConfig(
      architecture: name, modelType: name, hiddenSize: hidden, layers: try required(.layers), heads: heads,
      kvHeads: try value(.kvHeads) ?? heads, headDim: 0, intermediateSize: try required(.intermediateSize),
      vocabSize: try value(.vocabSize) ?? embed[0], maxPositions: try value(.maxPositions),
      // llama.cpp's own defaults when a file leaves these out.
      normEps: double("attention.layer_norm_rms_epsilon") ?? 1e-5, ropeTheta: double("rope.freq_base") ?? 10000,
      activation: nil, tieWordEmbeddings: hfName(.output).map { shape($0 + ".weight") == nil } ?? true)
    let headDimGiven = try value(.headDim)
    config.headDim = headDimGiven ?? (heads > 0 ? hidden / heads : 0)
    // Partial rotary (rotating fewer dimensions than the head has) is not in HF's Llama.
    if let text = metadata["gguf/" + arch + ".rope.dimension_count"], let dims = Int(text), dims != config.headDim {
      throw .unsupported(key: arch + ".rope.dimension_count", value: text, supported: "rotary over the whole head (\(config.headDim))")
    }
    try check(config, headDimGiven: headDimGiven != nil)
    return config
  }

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
