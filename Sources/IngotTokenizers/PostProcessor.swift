import Foundation

/// tokenizer.json's `post_processor`, for one sequence: the special tokens
/// it wraps the ids in (BOS, CLS/SEP).
indirect enum PostProcessor: Sendable {
  enum Piece: Sendable {
    case special([Int32])
    case sequence
  }
  case template([Piece])
  case wrap(prefix: [Int32], suffix: [Int32])
  case none
  case sequence([PostProcessor])

  func apply(_ ids: [Int32]) -> [Int32] {
    switch self {
    case .template(let pieces): return pieces.flatMap { p -> [Int32] in if case .special(let s) = p { s } else { ids } }
    case .wrap(let a, let b): return a + ids + b
    case .none: return ids
    case .sequence(let all): return all.reduce(ids) { $1.apply($0) }
    }
  }
}

/// tokenizer.json's `decoder`: tokens back to text.
indirect enum TokenDecoder: Sendable {
  case byteLevel
  case wordPiece(prefix: String, cleanup: Bool)
  case metaspace(replacement: Character, prependScheme: PreTokenizer.Prepend)
  case byteFallback
  case fuse
  case strip(content: Character, start: Int, stop: Int)
  case replace(String, String)
  case bpe(suffix: String)
  case sequence([TokenDecoder])

  func apply(_ tokens: [String]) -> [String] {
    switch self {
    case .byteLevel:
      var bytes: [UInt8] = []
      for t in tokens {
        for u in t.unicodeScalars {
          if let b = ByteLevel.scalarToByte[u.value] { bytes.append(b) } else { bytes += Array(String(u).utf8) }
        }
      }
      return [String(decoding: bytes, as: UTF8.self)]
    case .wordPiece(let prefix, let cleanup):
      return tokens.enumerated().map { i, t in
        var s = t
        if i > 0 {
          if s.hasPrefix(prefix) { s.removeFirst(prefix.count) } else { s = " " + s }
        }
        return cleanup ? Self.cleanup(s) : s
      }
    case .metaspace(let r, let scheme):
      return tokens.enumerated().map { i, t in
        var s = t.replacingOccurrences(of: String(r), with: " ")
        if i == 0 && scheme != .never && s.hasPrefix(" ") { s.removeFirst() }
        return s
      }
    case .byteFallback:
      var out: [String] = [], pending: [UInt8] = []
      func flush() {
        guard !pending.isEmpty else { return }
        if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
        pending = []
      }
      for t in tokens {
        if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), let b = UInt8(t.dropFirst(3).prefix(2), radix: 16) {
          pending.append(b)
        } else {
          flush()
          out.append(t)
        }
      }
      flush()
      return out
    case .fuse: return [tokens.joined()]
    case .strip(let c, let start, let stop):
      return tokens.map { t in
        var s = Substring(t)
        var n = 0
        while n < start, s.first == c { s.removeFirst(); n += 1 }
        n = 0
        while n < stop, s.last == c { s.removeLast(); n += 1 }
        return String(s)
      }
    case .replace(let a, let b): return tokens.map { $0.replacingOccurrences(of: a, with: b) }
    case .bpe(let suffix):
      return tokens.enumerated().map { i, t in t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ") }
    case .sequence(let all): return all.reduce(tokens) { $1.apply($0) }
    }
  }

  /// tokenizers' wordpiece cleanup of spaces before punctuation and contractions.
  static func cleanup(_ s: String) -> String {
    var r = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" do not", " don't"),
                   (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
      r = r.replacingOccurrences(of: a, with: b)
    }
    return r
  }
}
