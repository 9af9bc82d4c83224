/// llama.cpp tensor names ↔ Hugging Face names for the Llama family, and
/// the rotary permutation llama.cpp's converter applies to q/k weights.
public enum GGUFNames: String, Sendable {
  /// Keep llama.cpp's names (`blk.0.attn_q.weight`).
  case gguf
  /// Hugging Face names (`model.layers.0.self_attn.q_proj.weight`), with the
  /// q/k rows put back in HF's rotate-half order.
  case hf
}

enum LlamaNames {
  static let perLayer: [String: String] = [
    "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
  ]
  static let global: [String: String] = [
    "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
  ]

  /// The Hugging Face name, and how many heads to un-permute with (q: heads,
  /// k: kv heads), or nil when the name is not one llama.cpp's llama writer uses.
  static func hf(_ name: String, heads: Int, kvHeads: Int) -> (String, Int?)? {
    if let g = global[name] { return (g, nil) }
    let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), let mapped = perLayer[parts[2]] else { return nil }
    let permute = parts[3] == "weight" ? (parts[2] == "attn_q" ? heads : parts[2] == "attn_k" ? kvHeads : nil) : nil
    return ("model.layers.\(layer).\(mapped).\(parts[3])", permute)
  }

  /// The GGUF row each Hugging Face row comes from (see `unpermute`).
  static func unpermutedRows(rows: Int, heads: Int, into source: inout [Int]) -> Bool {
    guard heads > 0, rows % (2 * heads) == 0, source.count == rows else { return false }
    let half = rows / heads / 2
    for h in 0..<heads {
      for i in 0..<half {
        for j in 0..<2 { source[h * 2 * half + j * half + i] = h * 2 * half + 2 * i + j }
      }
    }
    return true
  }

  /// Undoes llama.cpp's `permute`: GGUF row h·2·half + 2i + j holds HF row
  /// h·2·half + j·half + i (each row `rowBytes` bytes).
  static func unpermute(_ input: UnsafeRawBufferPointer, rows: Int, rowBytes: Int, heads: Int, into out: UnsafeMutableRawBufferPointer) -> Bool {
    guard heads > 0, rows % (2 * heads) == 0, let src = input.baseAddress, let dst = out.baseAddress else { return false }
    let half = rows / heads / 2
    for h in 0..<heads {
      for i in 0..<half {
        for j in 0..<2 {
          let from = h * 2 * half + 2 * i + j, to = h * 2 * half + j * half + i
          (dst + to * rowBytes).copyMemory(from: src + from * rowBytes, byteCount: rowBytes)
        }
      }
    }
    return true
  }
}
