import IngotCore

/// llama.cpp's pre-tokenizers for byte-level BPE vocabularies, by the GGUF's
/// `tokenizer.ggml.pre`: the expressions applied in turn (each splits the
/// pieces the previous one left, keeping what it does not match), and
/// whether a piece that is itself a token skips the merges. These are the
/// patterns of the models' own tokenizer.json files, with the case-folded
/// contractions written out as llama.cpp writes them.
enum GGUFPreTokenizers {
  static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#
  static let llama3 = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
  static let qwen2 = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
  static let qwen35 = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
  // Written as escapes: these ranges must survive any normalizing editor.
  static let deepseekLetters = "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+"
  static let deepseekPunctuation = "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+"
  static let cjk = "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+"

  struct Entry {
    var patterns: [String]
    var ignoreMerges = false
    var byteEncode = true
  }

  static let table: [String: Entry] = {
    var t: [String: Entry] = [:]
    let defaultEntry = Entry(patterns: [#"[\p{P}\$\+<=>\^~\|]+"#, gpt2, #"\p{N}+"#, "[0-9][0-9][0-9]"])
    t["default"] = defaultEntry
    for n in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"] {
      t[n] = Entry(patterns: [llama3], ignoreMerges: true)
    }
    for n in ["dbrx", "smaug-bpe", "chatglm-bpe"] { t[n] = Entry(patterns: [llama3]) }
    t["deepseek-llm"] = Entry(patterns: ["[\r\n]", deepseekLetters, deepseekPunctuation, "\\s+$", cjk, #"\p{N}+"#])
    t["deepseek-coder"] = Entry(patterns: ["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, cjk, #"\p{N}"#])
    t["falcon"] = Entry(patterns: [#"[\p{P}\$\+<=>\^~\|`]+"#, gpt2, "[0-9][0-9][0-9]"])
    for n in ["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"] {
      t[n] = Entry(patterns: [#"\p{N}"#, gpt2])
    }
    for n in ["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
              "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling"] {
      t[n] = Entry(patterns: [gpt2])
    }
    for n in ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "hunyuan", "solar-open"] { t[n] = Entry(patterns: [qwen2]) }
    t["qwen35"] = Entry(patterns: [qwen35])
    for n in ["poro-chat", "bloom", "gpt3-finnish"] { t[n] = Entry(patterns: [#" ?[^(\s|.,!?…。，、।۔،)]+"#]) }
    t["viking"] = Entry(patterns: [#" ?[^(\s|.,!?…。，、।۔،)]+"#, #"\p{N}"#])
    t["whitespace"] = Entry(patterns: [#"\S+"#], byteEncode: false)
    return t
  }()
}

extension Tokenizer {
  /// "a b" at the first space after the first scalar, as llama.cpp splits
  /// a merge (so a token may start with a space).
  static func splitMerge(_ s: String) -> (String, String)? {
    let u = Array(s.unicodeScalars)
    guard u.count >= 3, let sp = u.indices.dropFirst().first(where: { u[$0] == " " }), sp + 1 < u.count else { return nil }
    return (TokenDecoder.string(u[..<sp]), TokenDecoder.string(u[(sp + 1)...]))
  }

  /// The tokenizer a GGUF's `tokenizer.ggml.*` keys describe, as llama.cpp
  /// runs it: `gpt2` (byte-level BPE with the `pre` type's expressions),
  /// `llama` (SentencePiece scores), `gemma4` (BPE over escaped spaces) or
  /// `bert` (WordPiece). `meta` looks a
  /// key up; `parseSpecial` also matches control tokens in the text (as
  /// llama.cpp's `parse_special`); user-defined tokens always are.
  public convenience init(gguf meta: (String) -> JSONValue?, file: String, parseSpecial: Bool = false) throws(TokenizerError) {
    func bad(_ key: String, _ reason: String) -> TokenizerError { .badField(file: file, field: key, reason: reason) }
    guard let model = meta("tokenizer.ggml.model")?.stringValue else { throw bad("tokenizer.ggml.model", "missing") }
    guard let list = meta("tokenizer.ggml.tokens")?.arrayValue else { throw bad("tokenizer.ggml.tokens", "missing or not an array") }
    guard list.count <= Tokenizer.maxVocabulary else { throw .tooLarge(file: file, field: "tokenizer.ggml.tokens", count: list.count, limit: Tokenizer.maxVocabulary) }
    var tokens: [String] = []
    tokens.reserveCapacity(list.count)
    for (i, v) in list.enumerated() {
      guard let s = v.stringValue else { throw bad("tokenizer.ggml.tokens[\(i)]", "not a string") }
      tokens.append(s)
    }
    let types = meta("tokenizer.ggml.token_type")?.arrayValue?.map { Int($0.intValue ?? 1) } ?? Array(repeating: 1, count: tokens.count)
    guard types.count == tokens.count else { throw bad("tokenizer.ggml.token_type", "\(types.count) entries for \(tokens.count) tokens") }
    // llama.cpp's text → id map: a later duplicate wins.
    var exact: [[UInt32]: Int] = [:]
    exact.reserveCapacity(tokens.count)
    for (i, t) in tokens.enumerated() { exact[t.scalarKey] = i }
    var vocab: [String: Int] = [:]
    vocab.reserveCapacity(tokens.count)
    for (i, t) in tokens.enumerated() { vocab[t] = i }
    func id(_ key: String) throws(TokenizerError) -> Int? {
      guard let v = meta(key) else { return nil }
      guard let i = v.intValue, i >= 0, i < Int64(tokens.count) else { throw bad(key, "not a token id below \(tokens.count)") }
      return Int(i)
    }
    func flag(_ key: String, _ fallback: Bool) -> Bool { meta(key)?.boolValue ?? fallback }
    func merges() throws(TokenizerError) -> [(String, String)] {
      guard let list = meta("tokenizer.ggml.merges")?.arrayValue else { throw bad("tokenizer.ggml.merges", "missing: a \(model) vocabulary needs its merges") }
      var out: [(String, String)] = []
      out.reserveCapacity(list.count)
      for (i, v) in list.enumerated() {
        guard let s = v.stringValue, let pair = Self.splitMerge(s) else { throw bad("tokenizer.ggml.merges[\(i)]", "not two tokens separated by a space") }
        out.append(pair)
      }
      return out
    }
    // Control (3) and user-defined (4) tokens split the text first.
    var added: [AddedVocabulary.Token] = []
    for (i, t) in tokens.enumerated() where types[i] == 4 || (parseSpecial && types[i] == 3) {
      added.append(AddedVocabulary.Token(content: t.unicodeScalars.map(\.value), id: i, special: types[i] == 3, lstrip: false, rstrip: false,
                                         singleWord: false, normalized: false))
    }
    let addedVocabulary = AddedVocabulary(added, longestFirst: true)
    let bos = try id("tokenizer.ggml.bos_token_id"), eos = try id("tokenizer.ggml.eos_token_id")
    let m: Model
    var normalizer: Normalizer? = nil
    let pre: PreTokenizer?
    let decoder: TokenDecoder
    var post: PostProcessor
    switch model {
    case "gpt2":
      let name = meta("tokenizer.ggml.pre")?.stringValue ?? "default"
      guard let entry = GGUFPreTokenizers.table[name] else { throw .unsupported(file: file, field: "tokenizer.ggml.pre", type: name) }
      var steps: [PreTokenizer] = []
      for (k, p) in entry.patterns.enumerated() {
        do { steps.append(.split(try Pattern(p), .isolated, invert: false)) } catch {
          throw .badRegex(file: file, field: "tokenizer.ggml.pre[\(k)]", offset: error.offset, reason: error.reason)
        }
      }
      if entry.byteEncode { steps.append(.byteLevel(addPrefixSpace: false, useRegex: false)) }
      pre = .sequence(steps)
      m = .bpe(try BPE(vocab: exact, merges: try merges(), unk: nil, fuseUnk: false, byteFallback: false, ignoreMerges: entry.ignoreMerges,
                       file: file + " (tokenizer.ggml)"))
      decoder = .byteLevel
      post = .wrap(prefix: flag("tokenizer.ggml.add_bos_token", false) ? bos.map { [Int32($0)] } ?? [] : [],
                   suffix: flag("tokenizer.ggml.add_eos_token", false) ? eos.map { [Int32($0)] } ?? [] : [])
    case "gemma4":
      // llama.cpp's Gemma 4: spaces escaped as ▁, split only between
      // newlines and the rest, BPE merges on the scalars themselves, and
      // symbols that are no token as <0xXX> bytes.
      let bpe = try BPE(vocab: exact, merges: try merges(), unk: nil, fuseUnk: false, byteFallback: true, ignoreMerges: false, file: file + " (tokenizer.ggml)")
      bpe.wholeNewlines = true
      m = .bpe(bpe)
      normalizer = .replaceLiteral([0x20], [0x2581])
      do { pre = .split(try Pattern("[^\\n]+|[\\n]+"), .isolated, invert: false) } catch { throw .badRegex(file: file, field: "tokenizer.ggml.pre", offset: error.offset, reason: error.reason) }
      decoder = .sequence([.replace("\u{2581}", " "), .byteFallback, .fuse])
      post = .wrap(prefix: flag("tokenizer.ggml.add_bos_token", true) ? bos.map { [Int32($0)] } ?? [] : [],
                   suffix: flag("tokenizer.ggml.add_eos_token", false) ? eos.map { [Int32($0)] } ?? [] : [])
    case "llama":
      guard let s = meta("tokenizer.ggml.scores")?.arrayValue, s.count == tokens.count else { throw bad("tokenizer.ggml.scores", "missing, or not one per token") }
      let scores = s.map { Float($0.doubleValue ?? 0) }
      var bytes: [Int] = []
      for b in 0..<256 { if let i = exact[("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">").scalarKey] { bytes.append(i) } }
      let prefix = flag("tokenizer.ggml.add_space_prefix", true)
      m = .spm(SPM(vocab: exact, scores: scores, byteIDs: bytes.count == 256 ? bytes : nil, unk: try id("tokenizer.ggml.unknown_token_id") ?? 0), addSpacePrefix: prefix)
      pre = nil
      decoder = .sequence([.replace("\u{2581}", " "), .byteFallback, .fuse] + (prefix ? [.strip(content: " ", start: 1, stop: 0)] : []))
      post = .wrap(prefix: flag("tokenizer.ggml.add_bos_token", true) ? bos.map { [Int32($0)] } ?? [] : [],
                   suffix: flag("tokenizer.ggml.add_eos_token", false) ? eos.map { [Int32($0)] } ?? [] : [])
    case "bert":
      let maxLength = tokens.map { $0.unicodeScalars.count }.max() ?? 1
      m = .wpm(WPM(vocab: exact, unk: try id("tokenizer.ggml.unknown_token_id") ?? 100, maxLength: maxLength, lowercase: true, stripAccents: true))
      pre = nil
      decoder = .sequence([.replace("\u{2581}", " "), .fuse, .strip(content: " ", start: 1, stop: 0)])
      let sep = try id("tokenizer.ggml.seperator_token_id")
      post = .wrap(prefix: bos.map { [Int32($0)] } ?? [], suffix: sep.map { [Int32($0)] } ?? [])
    default:
      throw .unsupported(file: file, field: "tokenizer.ggml.model", type: model)
    }
    self.init(model: m, normalizer: normalizer, preTokenizer: pre, postProcessor: post, decoder: decoder, added: addedVocabulary, vocab: vocab, names: tokens)
  }
}
