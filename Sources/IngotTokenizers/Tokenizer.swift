import IngotCore

/// A text tokenizer read from a Hugging Face `tokenizer.json` (or built from
/// a GGUF's or BERT's vocabulary): added tokens matched first, then
/// normalizer, pre-tokenizer and model on the text between them, then the
/// post-processor's special tokens. `encode` gives the ids Hugging Face's
/// `tokenizers` gives with `add_special_tokens`.
public final class Tokenizer: Sendable {
  enum Model: Sendable {
    case bpe(BPE)
    case wordPiece(WordPiece)
    case unigram(Unigram)
    /// llama.cpp's SentencePiece merge by score, with its space prefix.
    case spm(SPM, addSpacePrefix: Bool)
    /// llama.cpp's WordPiece over ▁-prefixed words.
    case wpm(WPM)
  }

  let model: Model
  let normalizer: Normalizer?
  let preTokenizer: PreTokenizer?
  let postProcessor: PostProcessor
  let decoder: TokenDecoder?
  let added: AddedVocabulary
  /// id → token text (model vocabulary and added tokens).
  let tokens: [String?]
  /// ids of special added tokens (skipped by `decode(skipSpecial:)`).
  let special: Set<Int>

  public var vocabularySize: Int { tokens.count }

  public func token(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

  /// - Parameter names: every id's text when the vocabulary holds
  ///   duplicates (a GGUF's token list); else the vocabulary's inverse.
  init(model: Model, normalizer: Normalizer?, preTokenizer: PreTokenizer?, postProcessor: PostProcessor, decoder: TokenDecoder?,
       added: AddedVocabulary, vocab: [String: Int], names: [String]? = nil) {
    self.model = model
    self.normalizer = normalizer
    self.preTokenizer = preTokenizer
    self.postProcessor = postProcessor
    self.decoder = decoder
    self.added = added
    var table = [String?](repeating: nil, count: max((vocab.values.max() ?? -1) + 1, (added.tokens.map(\.id).max() ?? -1) + 1))
    for (t, id) in vocab { table[id] = t }
    if let names { for (id, t) in names.enumerated() where id < table.count { table[id] = t } }
    for t in added.tokens { table[t.id] = Normalizer.string(t.content) }
    tokens = table
    special = Set(added.tokens.filter(\.special).map(\.id))
  }

  /// Token ids for `text`; with `addSpecialTokens`, wrapped as the
  /// post-processor says (BOS, CLS … SEP).
  public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
    let scalars = text.unicodeScalars.map(\.value)
    var ids: [Int32] = []
    for (segment, token) in added.split(scalars, normalizer: normalizer) {
      if let token {
        ids.append(Int32(token))
        continue
      }
      ids += tokenize(segment.scalars, atStart: segment.atStart, afterToken: segment.afterToken)
    }
    if addSpecialTokens { ids = postProcessor.apply(ids) }
    return ids.map(Int.init)
  }

  /// The special tokens the post-processor puts before a sequence (BOS,
  /// CLS), empty when it adds none.
  public var prefixTokens: [Int] {
    switch postProcessor {
    case .template(let pieces):
      var out: [Int] = []
      for p in pieces {
        guard case .special(let ids) = p else { break }
        out += ids.map(Int.init)
      }
      return out
    case .wrap(let prefix, _): return prefix.map(Int.init)
    default: return []
    }
  }

  /// Token ids for UTF-8 bytes, refusing invalid UTF-8 with its offset.
  public func encode(utf8 bytes: [UInt8], addSpecialTokens: Bool = true) throws(TokenizerError) -> [Int] {
    guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(offset: Self.firstInvalidUTF8(bytes)) }
    return encode(text, addSpecialTokens: addSpecialTokens)
  }

  /// A normalized segment (between added tokens) through pre-tokenizer and model.
  func tokenize(_ normalized: [UInt32], atStart: Bool, afterToken: Bool = false) -> [Int32] {
    switch model {
    case .spm(let m, let prefix):
      var text = (prefix && afterToken ? [0x20] : []) + normalized
      for i in text.indices where text[i] == 0x20 { text[i] = 0x2581 }
      return m.tokenize(text)
    case .wpm(let m): return m.tokenize(normalized)
    default: break
    }
    let pieces = preTokenizer?.apply([normalized], atStart: atStart) ?? [normalized]
    var out: [Int32] = []
    for p in pieces where !p.isEmpty {
      switch model {
      case .bpe(let m): out += m.tokenize(p)
      case .wordPiece(let m): out += m.tokenize(p)
      case .unigram(let m): out += m.tokenize(p)
      case .spm, .wpm: break
      }
    }
    return out
  }

  /// Text for token ids: every token through the decoder, as tokenizers
  /// does (joined by spaces when there is none).
  public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws(TokenizerError) -> String {
    var parts: [String] = []
    for id in ids {
      guard let t = token(id) else { throw .unknownID(id) }
      if skipSpecialTokens && special.contains(id) { continue }
      parts.append(t)
    }
    guard let decoder else { return parts.joined(separator: " ") }
    return decoder.apply(parts).joined()
  }

  public static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
    var i = 0
    while i < bytes.count {
      let b = bytes[i]
      let n = b < 0x80 ? 1 : b >= 0xC2 && b < 0xE0 ? 2 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xF0 && b < 0xF5 ? 4 : 0
      guard n > 0, i + n <= bytes.count, String(validating: bytes[i..<(i + n)], as: UTF8.self) != nil else { return i }
      i += n
    }
    return bytes.count
  }
}
