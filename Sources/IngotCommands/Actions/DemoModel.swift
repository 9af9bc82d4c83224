import IngotCore
import IngotContainer
import IngotFormats

/// The embedded default model for `ingot demo`: a tiny Llama-shaped model
/// whose weights come from a fixed-seed generator, written as a Hugging Face
/// folder (config.json, model.safetensors, and a byte-level tokenizer.json
/// whose 256 tokens are the bytes, GPT-2's way, so the folder also exports
/// to a GGUF llama.cpp can run). Same bytes on every machine.
public enum DemoModel {
  public static let config = """
    {"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,"intermediate_size":128,\
    "num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":256,\
    "max_position_embeddings":128,"rms_norm_eps":1e-05,"rope_theta":10000.0,"tie_word_embeddings":false,\
    "torch_dtype":"float32"}
    """

  static func shapes() -> [(String, [Int])] {
    var list: [(String, [Int])] = [("model.embed_tokens.weight", [256, 64]), ("model.norm.weight", [64]), ("lm_head.weight", [256, 64])]
    for l in 0..<2 {
      let p = "model.layers.\(l)."
      list += [
        (p + "input_layernorm.weight", [64]), (p + "post_attention_layernorm.weight", [64]),
        (p + "self_attn.q_proj.weight", [64, 64]), (p + "self_attn.k_proj.weight", [32, 64]),
        (p + "self_attn.v_proj.weight", [32, 64]), (p + "self_attn.o_proj.weight", [64, 64]),
        (p + "mlp.gate_proj.weight", [128, 64]), (p + "mlp.up_proj.weight", [128, 64]),
        (p + "mlp.down_proj.weight", [64, 128]),
      ]
    }
    return list
  }

  /// Writes the model folder at `folder` (which must exist).
  public static func write(to folder: String) throws {
    var rng = SplitMix64(seed: 0x1A60_7DE0)
    let shapes = shapes()
    let writer = try SafetensorsWriter(path: folder + "/model.safetensors", inputs: [], force: true)
    try writer.plan(SinkPlan(tensors: shapes.map { SourceTensor(name: $0.0, dtype: .f32, shape: $0.1, byteCount: (elementCount($0.1) ?? 0) * 4) }))
    for (name, shape) in shapes {
      let n = elementCount(shape) ?? 0
      let isNorm = name.hasSuffix("norm.weight")
      let std = 1.0 / Double(shape.last ?? 1).squareRoot()
      var values = [Float](repeating: 0, count: n)
      for i in 0..<n { values[i] = isNorm ? Float(1 + 0.05 * rng.normal()) : Float(std * rng.normal()) }
      try values.withUnsafeBytes { try writer.write($0) }
      try writer.end(0, digest: "")
    }
    try writer.finish(ProvenanceStep(operation: "demo", parameters: [:], inputs: [], inputModelDigest: nil))
    for (name, text) in [("config.json", config), ("tokenizer.json", tokenizer)] {
      let file = try AtomicFile(path: folder + "/" + name, inputs: [], force: true)
      try file.write(Array(text.utf8), at: 0)
      try file.commit()
    }
  }

  /// Byte-level BPE without merges: token b is byte b, spelled as GPT-2's
  /// byte-to-character table spells it (printable Latin-1 as itself, the
  /// rest from U+0100 on).
  static var tokenizer: String {
    var printable = Array(33...126) + Array(161...172) + Array(174...255)
    var chars = printable
    var n = 0
    for b in 0..<256 where !printable.contains(b) {
      printable.append(b)
      chars.append(256 + n)
      n += 1
    }
    var vocab: [String: JSONValue] = [:]
    for (b, c) in zip(printable, chars) { vocab[String(UnicodeScalar(UInt32(c))!)] = .int(Int64(b)) }  // audited: c < 0x200 is a scalar
    let json: JSONValue = [
      "version": "1.0", "added_tokens": .array([]), "normalizer": .null, "post_processor": .null,
      "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
      "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
      "model": ["type": "BPE", "dropout": .null, "unk_token": .null, "fuse_unk": false, "byte_fallback": false, "vocab": .object(vocab), "merges": .array([])],
    ]
    return String(decoding: CanonicalJSON.encode(json), as: UTF8.self)
  }
}
