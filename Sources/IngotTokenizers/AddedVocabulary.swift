/// tokenizer.json's `added_tokens`: matched in the text before anything
/// else, leftmost and then longest, as tokenizers does. Tokens with
/// `normalized: false` (special tokens, typically) are matched in the raw
/// text; the others in each normalized stretch between those.
struct AddedVocabulary: Sendable {
  struct Token: Sendable {
    var content: [UInt32]
    var id: Int
    var special: Bool
    var lstrip: Bool
    var rstrip: Bool
    var singleWord: Bool
    var normalized: Bool
  }

  let tokens: [Token]
  let ids: Set<Int>
  let raw: [UInt32: [Token]]
  let normalizedTokens: [UInt32: [Token]]
  /// llama.cpp's order instead of leftmost-longest: each token, longest
  /// first, is split out of every stretch of text left (tokenizer_st_partition).
  let longestFirst: Bool

  init(_ tokens: [Token], longestFirst: Bool = false) {
    self.tokens = tokens
    self.longestFirst = longestFirst
    ids = Set(tokens.map(\.id))
    func index(_ list: [Token]) -> [UInt32: [Token]] {
      var out: [UInt32: [Token]] = [:]
      for t in list where !t.content.isEmpty { out[t.content[0], default: []].append(t) }
      return out.mapValues { $0.sorted { $0.content.count > $1.content.count } }
    }
    raw = index(tokens.filter { !$0.normalized })
    normalizedTokens = index(tokens.filter { $0.normalized })
  }

  struct Segment {
    var scalars: [UInt32]
    var atStart: Bool
    /// First, or right after an added token (SentencePiece's space prefix).
    var afterToken = false
  }

  /// The text as normalized segments and added-token ids, in order.
  func split(_ text: [UInt32], normalizer: Normalizer?) -> [(Segment, Int?)] {
    if longestFirst {
      var out: [(Segment, Int?)] = []
      var previousToken = true
      for (piece, token) in partition(text) {
        let normalized = token == nil ? (normalizer?.apply(piece) ?? piece) : piece
        out.append((Segment(scalars: normalized, atStart: out.isEmpty, afterToken: previousToken), token))
        previousToken = token != nil
      }
      return out
    }
    var out: [(Segment, Int?)] = []
    for (piece, token, start) in Self.find(text, raw) {
      if let token {
        out.append((Segment(scalars: [], atStart: false), token))
        continue
      }
      let normalized = normalizer?.apply(piece) ?? piece
      for (p, t, s) in Self.find(normalized, normalizedTokens) {
        out.append((Segment(scalars: p, atStart: start && s), t))
      }
    }
    return out
  }

  /// llama.cpp's partition: tokens longest first, each found left to right
  /// in every stretch still text.
  func partition(_ text: [UInt32]) -> [([UInt32], Int?)] {
    guard !text.isEmpty else { return [] }
    var parts: [([UInt32], Int?)] = [(text, nil)]
    let order = tokens.filter { !$0.content.isEmpty }.sorted { $0.content.count != $1.content.count ? $0.content.count > $1.content.count : $0.id < $1.id }
    for t in order {
      var next: [([UInt32], Int?)] = []
      for (piece, id) in parts {
        guard id == nil, piece.count >= t.content.count else { next.append((piece, id)); continue }
        var start = 0, i = 0
        while i + t.content.count <= piece.count {
          if piece[i..<(i + t.content.count)].elementsEqual(t.content) {
            var a = i, b = i + t.content.count
            if t.lstrip { while a > start && UnicodeTable.isWhitespace(piece[a - 1]) { a -= 1 } }
            if t.rstrip { while b < piece.count && UnicodeTable.isWhitespace(piece[b]) { b += 1 } }
            if a > start { next.append((Array(piece[start..<a]), nil)) }
            next.append(([], t.id))
            start = b
            i = b
          } else {
            i += 1
          }
        }
        if start < piece.count { next.append((Array(piece[start...]), nil)) }
      }
      parts = next
    }
    return parts
  }

  static func isWord(_ c: UInt32) -> Bool { UnicodeTable.mask(c) & (UnicodeTable.letter | UnicodeTable.number | UnicodeTable.mark) != 0 || c == 0x5F }

  /// Splits `s` at the tokens of `index`: (text, nil) stretches and
  /// ([], id) matches, each with whether it starts `s`.
  static func find(_ s: [UInt32], _ index: [UInt32: [Token]]) -> [([UInt32], Int?, Bool)] {
    guard !index.isEmpty else { return [(s, nil, true)] }
    var out: [([UInt32], Int?, Bool)] = []
    var textStart = 0, i = 0
    while i < s.count {
      var hit: (Token, Int, Int)? = nil  // token, match start, match end (with stripped space)
      if let candidates = index[s[i]] {
        for t in candidates where i + t.content.count <= s.count && s[i..<(i + t.content.count)].elementsEqual(t.content) {
          let end = i + t.content.count
          if t.singleWord && ((i > 0 && isWord(s[i - 1])) || (end < s.count && isWord(s[end]))) { continue }
          var a = i, b = end
          if t.lstrip { while a > textStart && UnicodeTable.isWhitespace(s[a - 1]) { a -= 1 } }
          if t.rstrip { while b < s.count && UnicodeTable.isWhitespace(s[b]) { b += 1 } }
          hit = (t, a, b)
          break
        }
      }
      guard let (t, a, b) = hit else { i += 1; continue }
      if a > textStart { out.append((Array(s[textStart..<a]), nil, textStart == 0)) }
      out.append(([], t.id, a == 0))
      textStart = b
      i = b
    }
    if textStart < s.count || out.isEmpty { out.append((Array(s[textStart...]), nil, textStart == 0)) }
    return out
  }
}
