import IngotContainer

/// A Hugging Face style config for a container converted from a GGUF file,
/// which carries llama.cpp's `<architecture>.*` keys (kept as `gguf/*`
/// metadata) instead of a config.json. Only the llama architecture is
/// translated: it is the one whose tensors convert maps back to Hugging Face
/// names and rows (llama.cpp also writes Mistral models as "llama").
enum GGUFConfig {
  static func translate(_ metadata: [String: String], shape: (String) -> [Int]?) throws -> JSONValue? {
    guard let architecture = metadata["gguf/general.architecture"] else { return nil }
    guard architecture == "llama" else {
      throw RuntimeError.unsupported("GGUF architecture '\(architecture)' has no reference forward pass (llama does)")
    }
    guard let embed = shape("model.embed_tokens.weight"), embed.count == 2 else {
      throw RuntimeError.unsupported("no model.embed_tokens.weight: convert the GGUF file with --names hf (the default for llama)")
    }
    if shape("rope_freqs.weight") != nil {
      throw RuntimeError.unsupported("rope type 'llama3' is not implemented (plain rope only): this GGUF file has rope_freqs.weight")
    }
    func value(_ key: String) -> JSONValue? {
      guard let text = metadata["gguf/llama." + key] else { return nil }
      return (try? JSONParser.parse(Array(text.utf8))) ?? .string(text)
    }
    func int(_ key: String) throws -> JSONValue {
      guard let v = value(key), case .int = v else { throw RuntimeError.unsupported("GGUF key llama.\(key) is missing or not an integer") }
      return v
    }
    let heads = try int("attention.head_count")
    var config: [String: JSONValue] = [
      "model_type": "llama",
      "hidden_size": try int("embedding_length"),
      "num_hidden_layers": try int("block_count"),
      "intermediate_size": try int("feed_forward_length"),
      "num_attention_heads": heads,
      "num_key_value_heads": value("attention.head_count_kv") ?? heads,
      // llama.cpp's own defaults when a file leaves these out.
      "rms_norm_eps": value("attention.layer_norm_rms_epsilon") ?? .double(1e-5),
      "rope_theta": value("rope.freq_base") ?? .double(10000),
      "vocab_size": value("vocab_size") ?? .int(Int64(embed[0])),
      "tie_word_embeddings": .bool(shape("lm_head.weight") == nil),
    ]
    if let context = value("context_length") { config["max_position_embeddings"] = context }
    if let keyLength = value("attention.key_length") { config["head_dim"] = keyLength }
    if let scaling = value("rope.scaling.type")?.stringValue, scaling != "none" {
      config["rope_scaling"] = ["rope_type": .string(scaling)]
    }
    // Partial rotary (rotating fewer dimensions than the head has) is not in HF's Llama.
    if let ropeDims = value("rope.dimension_count")?.intValue {
      let hidden = config["hidden_size"]?.intValue ?? 0, h = heads.intValue ?? 1
      let headDim = config["head_dim"]?.intValue ?? hidden / max(h, 1)
      guard ropeDims == headDim else {
        throw RuntimeError.unsupported("llama.rope.dimension_count \(ropeDims) differs from the head size \(headDim): partial rotary is not implemented")
      }
    }
    return .object(config)
  }
}
