import IngotCore

extension Tokenizer {
  /// Vocabulary entries (and merges) beyond this are refused: no real
  /// tokenizer comes near it, and a crafted file must not exhaust memory.
  public static let maxVocabulary = 10_000_000

  /// Reads a `tokenizer.json` file.
  public convenience init(path: String) throws {
    let mapped = try MappedFile(path: path)
    try self.init(json: mapped.all, file: path)
  }

  /// Parses `tokenizer.json` bytes; `file` names it in errors.
  public convenience init(json bytes: UnsafeRawBufferPointer, file: String) throws(TokenizerError) {
    let root: JSONValue
    do { root = try JSONParser.parse(bytes) } catch { throw .notJSON(file: file, reason: error.description) }
    try self.init(root: root, file: file)
  }

  public convenience init(text: String, file: String) throws(TokenizerError) {
    var t = text
    let r: Result<JSONValue, JSONParser.Failure> = t.withUTF8 { buf in Result { () throws(JSONParser.Failure) in try JSONParser.parse(UnsafeRawBufferPointer(buf)) } }
    switch r {
    case .success(let root): try self.init(root: root, file: file)
    case .failure(let e): throw .notJSON(file: file, reason: e.description)
    }
  }

  /// A vocabulary keyed by exact scalars.
  static func exact(_ vocab: [String: Int]) -> [[UInt32]: Int] {
    var out: [[UInt32]: Int] = [:]
    out.reserveCapacity(vocab.count)
    for (t, id) in vocab { out[t.scalarKey] = id }
    return out
  }

  convenience init(root: JSONValue, file: String) throws(TokenizerError) {
    let r = Reader(file: file)
    guard root.objectValue != nil else { throw .badField(file: file, field: "", reason: "not a JSON object") }
    guard let modelJSON = root["model"], modelJSON.objectValue != nil else { throw .badField(file: file, field: "model", reason: "missing") }
    let type = modelJSON["type"]?.stringValue ?? (modelJSON["merges"] != nil ? "BPE" : "")
    var vocab: [String: Int] = [:]
    let model: Model
    switch type {
    case "BPE":
      vocab = try r.vocab(modelJSON["vocab"], field: "model.vocab")
      let merges = try r.merges(modelJSON["merges"])
      for key in ["continuing_subword_prefix", "end_of_word_suffix"] where modelJSON[key] != nil && modelJSON[key] != .null {
        throw .unsupported(file: file, field: "model." + key, type: modelJSON[key]?.stringValue ?? "")
      }
      if let d = modelJSON["dropout"], d != .null, d.doubleValue != 0 { throw .unsupported(file: file, field: "model.dropout", type: "dropout") }
      model = .bpe(try BPE(vocab: Self.exact(vocab), merges: merges, unk: modelJSON["unk_token"]?.stringValue, fuseUnk: modelJSON["fuse_unk"]?.boolValue ?? false,
                           byteFallback: modelJSON["byte_fallback"]?.boolValue ?? false, ignoreMerges: modelJSON["ignore_merges"]?.boolValue ?? false, file: file))
    case "WordPiece":
      vocab = try r.vocab(modelJSON["vocab"], field: "model.vocab")
      let unk = modelJSON["unk_token"]?.stringValue ?? "[UNK]"
      guard let unkID = vocab[unk] else { throw .unknownToken(file: file, field: "model.unk_token", token: unk) }
      model = .wordPiece(WordPiece(vocab: Self.exact(vocab), unk: unkID, prefix: (modelJSON["continuing_subword_prefix"]?.stringValue ?? "##").scalarKey,
                                   maxChars: Int(modelJSON["max_input_chars_per_word"]?.intValue ?? 100)))
    case "Unigram":
      guard let list = modelJSON["vocab"]?.arrayValue else { throw .badField(file: file, field: "model.vocab", reason: "not an array of [piece, score]") }
      guard list.count <= Self.maxVocabulary else { throw .tooLarge(file: file, field: "model.vocab", count: list.count, limit: Self.maxVocabulary) }
      var pieces: [(String, Double)] = []
      for (i, e) in list.enumerated() {
        guard let pair = e.arrayValue, pair.count == 2, let p = pair[0].stringValue, let s = pair[1].doubleValue else {
          throw .badField(file: file, field: "model.vocab[\(i)]", reason: "not [piece, score]")
        }
        pieces.append((p, s))
        if vocab[p] == nil { vocab[p] = i }
      }
      var unk: Int? = nil
      if let u = modelJSON["unk_id"], u != .null {
        guard let v = u.intValue, v >= 0, v < pieces.count else { throw .badField(file: file, field: "model.unk_id", reason: "outside the vocabulary") }
        unk = Int(v)
      }
      model = .unigram(Unigram(pieces: pieces, unk: unk, byteFallback: modelJSON["byte_fallback"]?.boolValue ?? false))
    default:
      throw .unsupported(file: file, field: "model.type", type: type)
    }
    let added = try r.addedTokens(root["added_tokens"], vocabSize: vocab.count)
    var all = vocab
    for t in added.tokens where all[Normalizer.string(t.content)] == nil { all[Normalizer.string(t.content)] = t.id }
    let normalizer = try r.normalizer(root["normalizer"], field: "normalizer")
    let pre = try r.preTokenizer(root["pre_tokenizer"], field: "pre_tokenizer")
    let post = try r.postProcessor(root["post_processor"], field: "post_processor", vocab: all)
    let decoder = try r.decoder(root["decoder"], field: "decoder")
    self.init(model: model, normalizer: normalizer, preTokenizer: pre, postProcessor: post, decoder: decoder, added: added, vocab: vocab)
  }
}

/// Reading tokenizer.json's parts, each error naming its field.
struct Reader {
  let file: String

  func bad(_ field: String, _ reason: String) -> TokenizerError { .badField(file: file, field: field, reason: reason) }

  func type(_ v: JSONValue, _ field: String) throws(TokenizerError) -> String {
    guard let t = v["type"]?.stringValue else { throw bad(field + ".type", "missing") }
    return t
  }

  func vocab(_ v: JSONValue?, field: String) throws(TokenizerError) -> [String: Int] {
    guard let o = v?.objectValue else { throw bad(field, "not an object of token → id") }
    guard o.count <= Tokenizer.maxVocabulary else { throw .tooLarge(file: file, field: field, count: o.count, limit: Tokenizer.maxVocabulary) }
    var out: [String: Int] = [:]
    out.reserveCapacity(o.count)
    var seen = Set<Int>()
    for (token, idValue) in o {
      guard let id64 = idValue.intValue, id64 >= 0, id64 < Int64(Tokenizer.maxVocabulary) else { throw bad(field + "." + token, "id is not an integer in 0..<10M") }
      let id = Int(id64)
      guard seen.insert(id).inserted else { throw .duplicateID(file: file, field: field, id: id) }
      out[token] = id
    }
    return out
  }

  func merges(_ v: JSONValue?) throws(TokenizerError) -> [(String, String)] {
    guard let list = v?.arrayValue else { throw bad("model.merges", "not an array") }
    guard list.count <= Tokenizer.maxVocabulary else { throw .tooLarge(file: file, field: "model.merges", count: list.count, limit: Tokenizer.maxVocabulary) }
    var out: [(String, String)] = []
    out.reserveCapacity(list.count)
    for (i, m) in list.enumerated() {
      if let s = m.stringValue {
        // "a b": split at the first space (tokens never hold a plain space here).
        guard let sp = s.firstIndex(of: " ") else { throw bad("model.merges[\(i)]", "not two tokens separated by a space") }
        out.append((String(s[..<sp]), String(s[s.index(after: sp)...])))
      } else if let pair = m.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
        out.append((a, b))
      } else {
        throw bad("model.merges[\(i)]", "not \"a b\" or [a, b]")
      }
    }
    return out
  }

  func addedTokens(_ v: JSONValue?, vocabSize: Int) throws(TokenizerError) -> AddedVocabulary {
    guard let v, v != .null else { return AddedVocabulary([]) }
    guard let list = v.arrayValue else { throw bad("added_tokens", "not an array") }
    guard list.count <= Tokenizer.maxVocabulary else { throw .tooLarge(file: file, field: "added_tokens", count: list.count, limit: Tokenizer.maxVocabulary) }
    var out: [AddedVocabulary.Token] = []
    var seen: [Int: String] = [:]
    for (i, t) in list.enumerated() {
      let f = "added_tokens[\(i)]"
      guard let id = t["id"]?.intValue, id >= 0, id < Int64(Tokenizer.maxVocabulary) else { throw bad(f + ".id", "not an integer in 0..<10M") }
      guard let content = t["content"]?.stringValue, !content.isEmpty else { throw bad(f + ".content", "missing or empty") }
      if let other = seen[Int(id)], other != content { throw .duplicateID(file: file, field: "added_tokens", id: Int(id)) }
      seen[Int(id)] = content
      let special = t["special"]?.boolValue ?? false
      out.append(AddedVocabulary.Token(content: content.unicodeScalars.map(\.value), id: Int(id), special: special,
                                       lstrip: t["lstrip"]?.boolValue ?? false, rstrip: t["rstrip"]?.boolValue ?? false,
                                       singleWord: t["single_word"]?.boolValue ?? false, normalized: t["normalized"]?.boolValue ?? !special))
    }
    return AddedVocabulary(out)
  }

  func pattern(_ v: JSONValue?, field: String) throws(TokenizerError) -> Either {
    if let s = v?["String"]?.stringValue { return .literal(s.unicodeScalars.map(\.value)) }
    guard let r = v?["Regex"]?.stringValue else { throw bad(field, "neither {\"String\": …} nor {\"Regex\": …}") }
    do { return .regex(try Pattern(r)) } catch { throw .badRegex(file: file, field: field, offset: error.offset, reason: error.reason) }
  }

  enum Either {
    case literal([UInt32])
    case regex(Pattern)
  }

  func normalizer(_ v: JSONValue?, field: String) throws(TokenizerError) -> Normalizer? {
    guard let v, v != .null else { return nil }
    let t = try type(v, field)
    switch t {
    case "BertNormalizer":
      let lower = v["lowercase"]?.boolValue ?? true
      let strip = v["strip_accents"]?.boolValue ?? lower
      return .bert(cleanText: v["clean_text"]?.boolValue ?? true, chineseChars: v["handle_chinese_chars"]?.boolValue ?? true, stripAccents: strip, lowercase: lower)
    case "NFC": return .nfc
    case "NFD": return .nfd
    case "NFKC": return .nfkc
    case "NFKD": return .nfkd
    case "Lowercase": return .lowercase
    case "StripAccents": return .stripAccents
    case "Strip": return .strip(left: v["strip_left"]?.boolValue ?? true, right: v["strip_right"]?.boolValue ?? true)
    case "Prepend":
      guard let p = v["prepend"]?.stringValue else { throw bad(field + ".prepend", "missing") }
      return .prepend(p.unicodeScalars.map(\.value))
    case "Replace":
      let content = v["content"]?.stringValue ?? ""
      switch try pattern(v["pattern"], field: field + ".pattern") {
      case .literal(let s): return .replaceLiteral(s, content.unicodeScalars.map(\.value))
      case .regex(let p): return .replace(p, content)
      }
    case "Sequence":
      guard let list = v["normalizers"]?.arrayValue else { throw bad(field + ".normalizers", "not an array") }
      var out: [Normalizer] = []
      for (i, n) in list.enumerated() { if let x = try normalizer(n, field: field + ".normalizers[\(i)]") { out.append(x) } }
      return .sequence(out)
    default: throw .unsupported(file: file, field: field + ".type", type: t)
    }
  }

  func behavior(_ v: JSONValue?, field: String) throws(TokenizerError) -> PreTokenizer.Behavior {
    let s = v?.stringValue ?? "Isolated"
    guard let b = PreTokenizer.Behavior(rawValue: s) else { throw bad(field, "unknown behavior '\(s)'") }
    return b
  }

  func prependScheme(_ v: JSONValue) -> PreTokenizer.Prepend {
    if let s = v["prepend_scheme"]?.stringValue, let p = PreTokenizer.Prepend(rawValue: s) { return p }
    return (v["add_prefix_space"]?.boolValue ?? true) ? .always : .never
  }

  func replacement(_ v: JSONValue, field: String) throws(TokenizerError) -> UInt32 {
    let r = v["replacement"]?.stringValue ?? "\u{2581}"
    guard r.unicodeScalars.count == 1 else { throw bad(field + ".replacement", "must be one character") }
    return r.unicodeScalars.first!.value  // audited: count == 1
  }

  func preTokenizer(_ v: JSONValue?, field: String) throws(TokenizerError) -> PreTokenizer? {
    guard let v, v != .null else { return nil }
    let t = try type(v, field)
    switch t {
    case "ByteLevel": return .byteLevel(addPrefixSpace: v["add_prefix_space"]?.boolValue ?? true, useRegex: v["use_regex"]?.boolValue ?? true)
    case "Split":
      let b = try behavior(v["behavior"], field: field + ".behavior")
      let invert = v["invert"]?.boolValue ?? false
      switch try pattern(v["pattern"], field: field + ".pattern") {
      case .literal(let s): return .splitLiteral(s, b, invert: invert)
      case .regex(let p): return .split(p, b, invert: invert)
      }
    case "Metaspace": return .metaspace(replacement: try replacement(v, field: field), prepend: prependScheme(v), split: v["split"]?.boolValue ?? true)
    case "BertPreTokenizer": return .bert
    case "Whitespace": return .whitespace
    case "WhitespaceSplit": return .whitespaceSplit
    case "Digits": return .digits(individual: v["individual_digits"]?.boolValue ?? false)
    case "Punctuation": return .punctuation(try behavior(v["behavior"], field: field + ".behavior"))
    case "Sequence":
      guard let list = v["pretokenizers"]?.arrayValue else { throw bad(field + ".pretokenizers", "not an array") }
      var out: [PreTokenizer] = []
      for (i, p) in list.enumerated() { if let x = try preTokenizer(p, field: field + ".pretokenizers[\(i)]") { out.append(x) } }
      return .sequence(out)
    default: throw .unsupported(file: file, field: field + ".type", type: t)
    }
  }

  func postProcessor(_ v: JSONValue?, field: String, vocab: [String: Int]) throws(TokenizerError) -> PostProcessor {
    guard let v, v != .null else { return .none }
    let t = try type(v, field)
    func idOf(_ pair: JSONValue?, _ f: String) throws(TokenizerError) -> Int32 {
      guard let a = pair?.arrayValue, a.count == 2, let id = a[1].intValue else { throw bad(f, "not [token, id]") }
      return Int32(id)
    }
    switch t {
    case "TemplateProcessing":
      guard let single = v["single"]?.arrayValue else { throw bad(field + ".single", "not an array") }
      let specials = v["special_tokens"]?.objectValue ?? [:]
      var pieces: [PostProcessor.Piece] = []
      for (i, p) in single.enumerated() {
        let f = field + ".single[\(i)]"
        if let s = p["SpecialToken"] {
          guard let name = s["id"]?.stringValue else { throw bad(f + ".SpecialToken.id", "missing") }
          if let ids = specials[name]?["ids"]?.arrayValue {
            pieces.append(.special(ids.compactMap { $0.intValue.map { Int32($0) } }))
          } else if let id = vocab[name] {
            pieces.append(.special([Int32(id)]))
          } else {
            throw .unknownToken(file: file, field: f, token: name)
          }
        } else if p["Sequence"] != nil {
          pieces.append(.sequence)
        } else {
          throw bad(f, "neither SpecialToken nor Sequence")
        }
      }
      return .template(pieces)
    case "BertProcessing", "RobertaProcessing":
      return .wrap(prefix: [try idOf(v["cls"], field + ".cls")], suffix: [try idOf(v["sep"], field + ".sep")])
    case "ByteLevel": return .none
    case "Sequence":
      guard let list = v["processors"]?.arrayValue else { throw bad(field + ".processors", "not an array") }
      var out: [PostProcessor] = []
      for (i, p) in list.enumerated() { out.append(try postProcessor(p, field: field + ".processors[\(i)]", vocab: vocab)) }
      return .sequence(out)
    default: throw .unsupported(file: file, field: field + ".type", type: t)
    }
  }

  func decoder(_ v: JSONValue?, field: String) throws(TokenizerError) -> TokenDecoder? {
    guard let v, v != .null else { return nil }
    let t = try type(v, field)
    switch t {
    case "ByteLevel": return .byteLevel
    case "WordPiece": return .wordPiece(prefix: v["prefix"]?.stringValue ?? "##", cleanup: v["cleanup"]?.boolValue ?? true)
    case "Metaspace":
      let r = try replacement(v, field: field)
      return .metaspace(replacement: Character(Unicode.Scalar(r) ?? "_"), prependScheme: prependScheme(v))
    case "ByteFallback": return .byteFallback
    case "Fuse": return .fuse
    case "Strip":
      guard let c = v["content"]?.stringValue, c.count == 1 else { throw bad(field + ".content", "must be one character") }
      return .strip(content: c.first!, start: Int(v["start"]?.intValue ?? 0), stop: Int(v["stop"]?.intValue ?? 0))  // audited: count == 1
    case "Replace":
      guard let s = v["pattern"]?["String"]?.stringValue else { throw .unsupported(file: file, field: field + ".pattern", type: "Regex") }
      return .replace(s, v["content"]?.stringValue ?? "")
    case "BPEDecoder": return .bpe(suffix: v["suffix"]?.stringValue ?? "</w>")
    case "Sequence":
      guard let list = v["decoders"]?.arrayValue else { throw bad(field + ".decoders", "not an array") }
      var out: [TokenDecoder] = []
      for (i, d) in list.enumerated() { if let x = try decoder(d, field: field + ".decoders[\(i)]") { out.append(x) } }
      return .sequence(out)
    default: throw .unsupported(file: file, field: field + ".type", type: t)
    }
  }
}
