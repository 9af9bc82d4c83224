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
    // Prefixes are compared scalar by scalar: String's hasPrefix works on
    // grapheme clusters, and "#" or " " joins a combining mark after it.
    case .wordPiece(let prefix, let cleanup):
      let p = Array(prefix.unicodeScalars)
      return tokens.enumerated().map { i, t in
        var s = t
        if i > 0 {
          let u = Array(t.unicodeScalars)
          if u.starts(with: p) { s = Self.string(u[p.count...]) } else { s = " " + s }
        }
        return cleanup ? Self.cleanup(s) : s
      }
    case .metaspace(let r, let scheme):
      return tokens.enumerated().map { i, t in
        var u = Array(t.unicodeScalars).map { String($0) == String(r) ? " " : $0 }
        if i == 0 && scheme != .never && u.first == " " { u.removeFirst() }
        return Self.string(u[...])
      }
    case .byteFallback:
      var out: [String] = [], pending: [UInt8] = []
      func flush() {
        guard !pending.isEmpty else { return }
        if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
        pending = []
      }
      for t in tokens {
        let u = Array(t.unicodeScalars)
        if u.count == 6, u.starts(with: ["<", "0", "x"]), u[5] == ">", let b = UInt8(Self.string(u[3..<5]), radix: 16) {
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
      let cs = c.unicodeScalars.first
      return tokens.map { t in
        var s = Array(t.unicodeScalars)[...]
        var n = 0
        while n < start, s.first == cs { s.removeFirst(); n += 1 }
        n = 0
        while n < stop, s.last == cs { s.removeLast(); n += 1 }
        return Self.string(s)
      }
    case .replace(let a, let b): return tokens.map { Self.replace($0, a, b) }
    case .bpe(let suffix):
      return tokens.enumerated().map { i, t in Self.replace(t, suffix, i == tokens.count - 1 ? "" : " ") }
    case .sequence(let all): return all.reduce(tokens) { $1.apply($0) }
    }
  }

  /// `a` replaced by `b` everywhere, scalar by scalar (Normalizer.replace).
  static func replace(_ s: String, _ a: String, _ b: String) -> String {
    Normalizer.string(Normalizer.replace(s.unicodeScalars.map(\.value), a.unicodeScalars.map(\.value), b.unicodeScalars.map(\.value)))
  }

  static func string(_ u: ArraySlice<Unicode.Scalar>) -> String { Normalizer.string(u.lazy.map(\.value)) }

  /// tokenizers' wordpiece cleanup of spaces before punctuation and contractions.
  static func cleanup(_ s: String) -> String {
    var r = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" do not", " don't"),
                   (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
      r = Self.replace(r, a, b)
    }
    return r
  }
}
