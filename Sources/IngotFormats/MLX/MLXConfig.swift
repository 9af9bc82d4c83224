import IngotArchitectures
import IngotCore

/// A Hugging Face config.json as mlx-lm must read it to build the same
/// model ingot runs: what mlx-lm reads under other keys is added, and what
/// its model class cannot express is refused by key.
public enum MLXConfig {
  /// How mlx-lm's model classes express sliding-window attention, by
  /// model_type (their ModelArgs): per-layer `layer_types` (llama.py, which
  /// also runs mistral, and needs one full-attention layer), or a period
  /// (gemma3_text.py: layer i slides unless (i + 1) is a multiple of it).
  enum Window { case layerTypes, period }
  static let windows: [String: Window] = ["llama": .layerTypes, "mistral": .layerTypes, "gemma3_text": .period]

  /// - Parameter fullAttention: write a model whose sliding window mlx-lm
  ///   cannot express anyway (it then attends over the whole context: the
  ///   same model only for sequences up to the window).
  public static func translate(_ config: [String: JSONValue], fullAttention: Bool) throws(MLXError) -> [String: JSONValue] {
    var c = config
    c["quantization"] = nil
    c["quantization_config"] = nil
    addRopeKeys(&c)
    let type = c["model_type"]?.stringValue ?? ""
    let model: ModelConfig?
    if let spec = Architectures.spec(modelType: type) {
      do { model = try spec.config(.object(c)) } catch { throw .noConfig(reason: "config.json: \(error.description)") }
    } else {
      model = nil
    }
    guard let model else {
      if let w = c["sliding_window"], w != .null, !fullAttention {
        throw .noConfig(reason: "sliding_window: ingot has no architecture entry for '\(type)' to check how mlx-lm reads it")
      }
      return c
    }
    guard let window = model.slidingWindow, model.slidingLayers.contains(true) else { return c }
    let sliding = model.slidingLayers
    func refuse(_ why: String) -> MLXError {
      .noConfig(reason: "sliding_window \(window) on \(sliding.filter { $0 }.count) of \(sliding.count) layers: \(why), so the folder would load as a different model; --full-attention writes it anyway (the same model for sequences up to \(window) tokens)")
    }
    switch windows[type] {
    case .layerTypes:
      guard sliding.contains(false) || fullAttention else { throw refuse("mlx-lm's llama needs at least one full-attention layer") }
      if sliding.contains(false) {
        c["layer_types"] = .array(sliding.map { .string($0 ? "sliding_attention" : "full_attention") })
      } else {
        c["layer_types"] = nil
      }
    case .period:
      guard let p = (1...max(sliding.count, 1)).first(where: { p in sliding.indices.allSatisfy { sliding[$0] == (($0 + 1) % p != 0) } }) else {
        if fullAttention { break }
        throw refuse("mlx-lm's \(type) slides on every layer but each n-th, and these layers follow no such period")
      }
      c["sliding_window_pattern"] = .int(Int64(p))
    case nil:
      guard fullAttention else { throw refuse("mlx-lm's \(type) model has no sliding window") }
    }
    return c
  }

  /// mlx-lm reads the rotary settings from transformers 4's keys
  /// (`rope_theta`, `rope_scaling`, Gemma 3's `rope_local_base_freq`);
  /// transformers 5 writes `rope_parameters`, flat or per layer type. The
  /// old keys are added from it where missing, so mlx-lm builds the same
  /// rotary embedding instead of silently falling back to its defaults.
  static func addRopeKeys(_ c: inout [String: JSONValue]) {
    guard let rope = c["rope_parameters"]?.objectValue else { return }
    func apply(_ p: [String: JSONValue]) {
      if c["rope_theta"] == nil, let theta = p["rope_theta"] { c["rope_theta"] = theta }
      let type = p["rope_type"]?.stringValue ?? "default"
      if c["rope_scaling"] == nil || c["rope_scaling"] == .null, type != "default" {
        var scaling = p
        scaling["rope_theta"] = nil
        scaling["type"] = .string(type)
        c["rope_scaling"] = .object(scaling)
      }
    }
    if let full = rope["full_attention"]?.objectValue {
      apply(full)
      if c["rope_local_base_freq"] == nil, let local = rope["sliding_attention"]?["rope_theta"] { c["rope_local_base_freq"] = local }
    } else {
      apply(rope)
    }
  }
}
