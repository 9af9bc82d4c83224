import IngotCore

/// A Hugging Face tokenizer as llama.cpp's `tokenizer.ggml.*` keys, the way
/// its converter writes them: byte-level BPE as `gpt2` (tokens, token
/// types, merges, and the `pre` name whose split patterns equal the
/// tokenizer's), WordPiece as `bert` (words marked with a leading ▁,
/// continuations without their ##). Token types: 1 normal, 3 control
/// (special added tokens), 4 user-defined (other added tokens), 5 unused
/// (ids no token has). Anything llama.cpp would tokenize differently is
/// refused by field, not approximated.
public enum GGUFTokenizerKeys {
  /// `vocabSize`: the model's embedding rows; ids no token has up to it are
  /// `[PADi]` (unused), as llama.cpp's converter pads.
  public static func keys(tokenizerJSON: String, tokenizerConfig: String?, config: JSONValue?, vocabSize: Int? = nil) throws(TokenizerError) -> [(key: String, value: GGUFValue)] {
    let file = "tokenizer.json"
    let tj: JSONValue
    do { tj = try JSONParser.parse(Array(tokenizerJSON.utf8)) } catch { throw .notJSON(file: file, reason: error.description) }
    var tc: JSONValue? = nil
    if let tokenizerConfig { tc = try? JSONParser.parse(Array(tokenizerConfig.utf8)) }
    guard let model = tj["model"], let type = model["type"]?.stringValue else { throw .badField(file: file, field: "model.type", reason: "missing") }
    var byID: [Int: String] = [:]
    func add(_ token: String, _ id: Int, field: String) throws(TokenizerError) {
      guard id >= 0, id < Tokenizer.maxVocabulary else { throw .badField(file: file, field: field, reason: "id \(id) out of range") }
      if let old = byID[id], old != token { throw .duplicateID(file: file, field: field, id: id) }
      byID[id] = token
    }
    guard let vocab = model["vocab"]?.objectValue, type == "BPE" || type == "WordPiece" else {
      throw .unsupported(file: file, field: "model.type", type: type + " (GGUF export writes byte-level BPE and WordPiece)")
    }
    for (token, v) in vocab {
      guard let id = v.intValue else { throw .badField(file: file, field: "model.vocab", reason: "'\(token)' has no integer id") }
      try add(token, Int(id), field: "model.vocab")
    }
    var special = Set<Int>(), userDefined = Set<Int>()
    for a in tj["added_tokens"]?.arrayValue ?? [] {
      guard let id = a["id"]?.intValue, let content = a["content"]?.stringValue else { throw .badField(file: file, field: "added_tokens", reason: "an entry without id or content") }
      try add(content, Int(id), field: "added_tokens")
      if a["special"]?.boolValue == true { special.insert(Int(id)) } else { userDefined.insert(Int(id)) }
    }
    let count = max((byID.keys.max() ?? -1) + 1, vocabSize ?? 0)
    var tokens: [String] = [], types: [Int32] = []
    for i in 0..<count {
      if let t = byID[i] {
        tokens.append(t)
        types.append(special.contains(i) ? 3 : userDefined.contains(i) ? 4 : 1)
      } else {
        tokens.append("[PAD\(i)]")
        types.append(5)
      }
    }
    var out: [(String, GGUFValue)] = []
    func id(of token: String?) -> Int? { token.flatMap { t in byID.first { $0.value == t }?.key } }
    func tokenName(_ field: String) -> String? {
      // tokenizer_config.json: "bos_token": "<s>" or {"content": "<s>", …}.
      guard let v = tc?[field] else { return nil }
      return v.stringValue ?? v["content"]?.stringValue
    }
    func configID(_ key: String) -> Int? {
      guard let v = config?[key] else { return nil }
      if let i = v.intValue { return Int(i) }
      return v.arrayValue?.first?.intValue.map { Int($0) }
    }
    switch type {
    case "BPE":
      guard containsByteLevel(tj["pre_tokenizer"]) else {
        throw .unsupported(file: file, field: "pre_tokenizer", type: "not byte-level (SentencePiece-style BPE is not exported to GGUF yet)")
      }
      guard model["dropout"] == nil || model["dropout"] == .null, (model["continuing_subword_prefix"]?.stringValue ?? "").isEmpty,
        (model["end_of_word_suffix"]?.stringValue ?? "").isEmpty
      else { throw .unsupported(file: file, field: "model", type: "BPE with dropout or subword affixes") }
      if tj["normalizer"] != nil && tj["normalizer"] != .null { throw .unsupported(file: file, field: "normalizer", type: "a normalizer before byte-level BPE") }
      let pre = try preName(tj["pre_tokenizer"], file: file)
      var merges: [GGUFValue] = []
      for m in model["merges"]?.arrayValue ?? [] {
        if let s = m.stringValue { merges.append(.string(s)) } else if let pair = m.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
          merges.append(.string(a + " " + b))
        } else { throw .badField(file: file, field: "model.merges", reason: "an entry is neither \"a b\" nor [a, b]") }
      }
      out.append(("tokenizer.ggml.model", .string("gpt2")))
      out.append(("tokenizer.ggml.pre", .string(pre)))
      out.append(("tokenizer.ggml.tokens", .array(element: 8, tokens.map { .string($0) })))
      out.append(("tokenizer.ggml.token_type", .array(element: 5, types.map { .i32($0) })))
      out.append(("tokenizer.ggml.merges", .array(element: 8, merges)))
    case "WordPiece":
      let prefix = model["continuing_subword_prefix"]?.stringValue ?? "##"
      // llama.cpp's WordPiece: words start with ▁, continuations are bare.
      let phantom = tokens.enumerated().map { i, t -> String in
        if types[i] != 1 { return t }
        if t.hasPrefix(prefix) { return String(t.dropFirst(prefix.count)) }
        return "\u{2581}" + t
      }
      out.append(("tokenizer.ggml.model", .string("bert")))
      out.append(("tokenizer.ggml.pre", .string("default")))
      out.append(("tokenizer.ggml.tokens", .array(element: 8, phantom.map { .string($0) })))
      out.append(("tokenizer.ggml.token_type", .array(element: 5, types.map { .i32($0) })))
      if let unk = id(of: model["unk_token"]?.stringValue) { out.append(("tokenizer.ggml.unknown_token_id", .u32(UInt32(unk)))) }
      if let cls = id(of: tokenName("cls_token") ?? "[CLS]") {
        out.append(("tokenizer.ggml.bos_token_id", .u32(UInt32(cls))))
        out.append(("tokenizer.ggml.cls_token_id", .u32(UInt32(cls))))
      }
      if let sep = id(of: tokenName("sep_token") ?? "[SEP]") {
        out.append(("tokenizer.ggml.eos_token_id", .u32(UInt32(sep))))
        out.append(("tokenizer.ggml.seperator_token_id", .u32(UInt32(sep))))
      }
      if let mask = id(of: tokenName("mask_token") ?? "[MASK]") { out.append(("tokenizer.ggml.mask_token_id", .u32(UInt32(mask)))) }
    default:
      break
    }
    if type == "BPE" {
      if let bos = configID("bos_token_id") ?? id(of: tokenName("bos_token")) { out.append(("tokenizer.ggml.bos_token_id", .u32(UInt32(bos)))) }
      if let eos = configID("eos_token_id") ?? id(of: tokenName("eos_token")) { out.append(("tokenizer.ggml.eos_token_id", .u32(UInt32(eos)))) }
      if let unk = id(of: model["unk_token"]?.stringValue ?? tokenName("unk_token")) { out.append(("tokenizer.ggml.unknown_token_id", .u32(UInt32(unk)))) }
    }
    if let pad = configID("pad_token_id") ?? id(of: tokenName("pad_token")) { out.append(("tokenizer.ggml.padding_token_id", .u32(UInt32(pad)))) }
    // BOS: as tokenizer_config.json says, else as the post-processor does.
    if let addBOS = tc?["add_bos_token"]?.boolValue {
      out.append(("tokenizer.ggml.add_bos_token", .bool(addBOS)))
    } else if type == "BPE" {
      out.append(("tokenizer.ggml.add_bos_token", .bool(prependsSpecial(tj["post_processor"]))))
    }
    if let addEOS = tc?["add_eos_token"]?.boolValue { out.append(("tokenizer.ggml.add_eos_token", .bool(addEOS))) }
    if let template = chatTemplate(tc?["chat_template"]) { out.append(("tokenizer.chat_template", .string(template))) }
    return out
  }

  static func containsByteLevel(_ p: JSONValue?) -> Bool {
    guard let p else { return false }
    if p["type"]?.stringValue == "ByteLevel" { return true }
    return (p["pretokenizers"]?.arrayValue ?? []).contains { containsByteLevel($0) }
  }

  /// The split patterns a byte-level pre-tokenizer applies, in order.
  static func patterns(_ p: JSONValue?) -> [String]? {
    guard let p, let type = p["type"]?.stringValue else { return [] }
    switch type {
    case "ByteLevel": return p["use_regex"]?.boolValue == false ? [] : [GGUFPreTokenizers.gpt2]
    case "Split":
      guard p["behavior"]?.stringValue == "Isolated", p["invert"]?.boolValue != true, let r = p["pattern"]?["Regex"]?.stringValue else { return nil }
      // Hugging Face writes the contractions case-insensitively; llama.cpp's
      // table spells the same set out.
      let folded = "(?i:'s|'t|'re|'ve|'m|'ll|'d)", spelled = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
      return [r.hasPrefix(folded) ? spelled + r.dropFirst(folded.count) : r]
    case "Sequence":
      var all: [String] = []
      for q in p["pretokenizers"]?.arrayValue ?? [] {
        guard let ps = patterns(q) else { return nil }
        all += ps
      }
      return all
    default: return nil
    }
  }

  /// llama.cpp's name for these split patterns; preferred names first.
  static func preName(_ p: JSONValue?, file: String) throws(TokenizerError) -> String {
    guard let ps = patterns(p), p.map({ !($0["type"]?.stringValue == "ByteLevel" && $0["add_prefix_space"]?.boolValue == true) }) ?? true else {
      throw .unsupported(file: file, field: "pre_tokenizer", type: "a step llama.cpp has no pre-tokenizer for")
    }
    for name in ["gpt-2", "llama-bpe", "qwen2", "qwen35", "starcoder", "falcon", "deepseek-llm", "deepseek-coder", "dbrx"] {
      if GGUFPreTokenizers.table[name]?.patterns == ps { return name }
    }
    if let (name, _) = GGUFPreTokenizers.table.sorted(by: { $0.key < $1.key }).first(where: { $0.value.patterns == ps && $0.value.byteEncode }) { return name }
    throw .unsupported(file: file, field: "pre_tokenizer", type: "split patterns llama.cpp has no pre-tokenizer for")
  }

  /// Whether the single-sequence template starts with a special token (BOS).
  static func prependsSpecial(_ p: JSONValue?) -> Bool {
    guard let p, let type = p["type"]?.stringValue else { return false }
    if type == "Sequence" { return (p["processors"]?.arrayValue ?? []).contains { prependsSpecial($0) } }
    guard type == "TemplateProcessing", let first = p["single"]?.arrayValue?.first else { return false }
    return first["SpecialToken"] != nil
  }

  static func chatTemplate(_ v: JSONValue?) -> String? {
    if let s = v?.stringValue { return s }
    // [{"name": "default", "template": …}, …]
    let named = v?.arrayValue ?? []
    return (named.first { $0["name"]?.stringValue == "default" } ?? named.first)?["template"]?.stringValue
  }
}
