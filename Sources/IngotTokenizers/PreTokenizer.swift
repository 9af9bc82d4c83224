/// tokenizer.json's `pre_tokenizer`: splits normalized text into pieces
/// (scalar arrays) that the model tokenizes one by one.
indirect enum PreTokenizer: Sendable {
  /// What a split does with the matches (tokenizers' SplitDelimiterBehavior).
  enum Behavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
  }

  /// GPT-2's byte level: optional prefix space, optional GPT-2 split, then
  /// every piece in the byte-level alphabet.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  case split(Pattern, Behavior, invert: Bool)
  case splitLiteral([UInt32], Behavior, invert: Bool)
  case metaspace(replacement: UInt32, prepend: Prepend, split: Bool)
  case bert
  case whitespace
  case whitespaceSplit
  case digits(individual: Bool)
  case punctuation(Behavior)
  case sequence([PreTokenizer])

  enum Prepend: String, Sendable { case always, first, never }

  static let gpt2 = try! Pattern(ByteLevel.gpt2Pattern)  // audited: a constant that compiles
  static let whitespacePattern = try! Pattern(#"\w+|[^\w\s]+"#)  // audited: a constant that compiles

  /// Splits every piece. `atStart`: the pieces' segment starts the input
  /// (Metaspace's `first` scheme prepends only there).
  func apply(_ pieces: [[UInt32]], atStart: Bool) -> [[UInt32]] {
    switch self {
    case .sequence(let all): return all.reduce(pieces) { $1.apply($0, atStart: atStart) }
    default:
      var out: [[UInt32]] = []
      for (k, p) in pieces.enumerated() { out += split(p, first: atStart && k == 0) }
      return out
    }
  }

  func split(_ p: [UInt32], first: Bool) -> [[UInt32]] {
    switch self {
    case .byteLevel(let prefix, let regex):
      var s = p
      // Every piece so far gets the space, as tokenizers' ByteLevel does.
      if prefix && s.first != 0x20 { s.insert(0x20, at: 0) }
      let parts = regex ? Self.isolate(s, Self.gpt2, .isolated, invert: false) : [s]
      return parts.map { ByteLevel.encode($0[...]) }
    case .split(let pattern, let behavior, let invert): return Self.isolate(p, pattern, behavior, invert: invert)
    case .splitLiteral(let what, let behavior, let invert):
      var ranges: [Range<Int>] = []
      if !what.isEmpty {
        var i = 0
        while i + what.count <= p.count {
          if p[i..<(i + what.count)].elementsEqual(what) {
            ranges.append(i..<(i + what.count))
            i += what.count
          } else {
            i += 1
          }
        }
      }
      return Self.apply(p, ranges, behavior, invert: invert)
    case .metaspace(let r, let prepend, let split):
      var s = p.map { $0 == 0x20 ? r : $0 }
      if (prepend == .always || (prepend == .first && first)) && s.first != r { s.insert(r, at: 0) }
      guard split else { return [s] }
      // Split before each replacement character (MergedWithNext).
      var ranges: [Range<Int>] = []
      for (i, c) in s.enumerated() where c == r { ranges.append(i..<(i + 1)) }
      return Self.apply(s, ranges, .mergedWithNext, invert: false)
    case .bert:
      var out: [[UInt32]] = [], cur: [UInt32] = []
      for c in p {
        if UnicodeTable.isWhitespace(c) || c == 9 || c == 10 || c == 13 {
          if !cur.isEmpty { out.append(cur); cur = [] }
        } else if Self.isBertPunctuation(c) {
          if !cur.isEmpty { out.append(cur); cur = [] }
          out.append([c])
        } else {
          cur.append(c)
        }
      }
      if !cur.isEmpty { out.append(cur) }
      return out
    case .whitespace: return Self.isolate(p, Self.whitespacePattern, .removed, invert: true)
    case .whitespaceSplit:
      return p.split(whereSeparator: { UnicodeTable.isWhitespace($0) }).map(Array.init)
    case .digits(let individual):
      var ranges: [Range<Int>] = []
      var i = 0
      while i < p.count {
        guard UnicodeTable.mask(p[i]) & UnicodeTable.decimal != 0 else { i += 1; continue }
        var j = i + 1
        if !individual { while j < p.count && UnicodeTable.mask(p[j]) & UnicodeTable.decimal != 0 { j += 1 } }
        ranges.append(i..<j)
        i = j
      }
      return Self.apply(p, ranges, .isolated, invert: false)
    case .punctuation(let behavior):
      var ranges: [Range<Int>] = []
      for (i, c) in p.enumerated() where Self.isBertPunctuation(c) { ranges.append(i..<(i + 1)) }
      return Self.apply(p, ranges, behavior, invert: false)
    case .sequence: return apply([p], atStart: first)
    }
  }

  static func isBertPunctuation(_ c: UInt32) -> Bool {
    (33...47).contains(c) || (58...64).contains(c) || (91...96).contains(c) || (123...126).contains(c)
      || UnicodeTable.mask(c) & UnicodeTable.punctuation != 0
  }

  static func isolate(_ p: [UInt32], _ pattern: Pattern, _ behavior: Behavior, invert: Bool) -> [[UInt32]] {
    let ranges = p.withUnsafeBufferPointer { pattern.matches($0, in: 0..<p.count) }
    return apply(p, ranges, behavior, invert: invert)
  }

  /// tokenizers' split semantics: the matches and the gaps between them,
  /// kept, dropped or merged as `behavior` says (with `invert`, the gaps are
  /// the delimiters).
  static func apply(_ p: [UInt32], _ matches: [Range<Int>], _ behavior: Behavior, invert: Bool) -> [[UInt32]] {
    // Every span, in order, flagged as a delimiter or not.
    var spans: [(Range<Int>, Bool)] = []
    var at = 0
    for m in matches {
      if m.lowerBound > at { spans.append((at..<m.lowerBound, invert)) }
      spans.append((m, !invert))
      at = m.upperBound
    }
    if at < p.count { spans.append((at..<p.count, invert)) }
    var out: [Range<Int>] = []
    switch behavior {
    case .removed: out = spans.filter { !$0.1 }.map(\.0)
    case .isolated: out = spans.map(\.0)
    case .mergedWithPrevious:
      for (r, delim) in spans {
        if delim, let last = out.last, last.upperBound == r.lowerBound { out[out.count - 1] = last.lowerBound..<r.upperBound } else { out.append(r) }
      }
    case .mergedWithNext:
      var pending: Range<Int>? = nil
      for (r, delim) in spans {
        if delim {
          if let q = pending { out.append(q) }
          pending = r
        } else if let q = pending {
          out.append(q.lowerBound..<r.upperBound)
          pending = nil
        } else {
          out.append(r)
        }
      }
      if let q = pending { out.append(q) }
    case .contiguous:
      var last: (Range<Int>, Bool)? = nil
      for (r, delim) in spans {
        if let l = last, l.1 && delim, l.0.upperBound == r.lowerBound {
          last = (l.0.lowerBound..<r.upperBound, true)
        } else {
          if let l = last { out.append(l.0) }
          last = (r, delim)
        }
      }
      if let l = last { out.append(l.0) }
    }
    return out.filter { !$0.isEmpty }.map { Array(p[$0]) }
  }
}
