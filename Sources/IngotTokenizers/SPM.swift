/// llama.cpp's SentencePiece tokenizer (its `llm_tokenizer_spm`): one
/// symbol per scalar, then repeatedly the adjacent pair whose joined text
/// is a token with the highest score (leftmost on ties) is merged; symbols
/// that are no token come out as their UTF-8 bytes (`<0xXX>` tokens), or
/// unk.
struct SPM: Sendable {
  let vocab: [[UInt32]: Int]
  let scores: [Float]
  let byteIDs: [Int]?
  let unk: Int

  func tokenize(_ text: [UInt32]) -> [Int32] {
    guard !text.isEmpty else { return [] }
    var sym = text.map { [$0] }
    var alive = [Bool](repeating: true, count: sym.count)
    var next = Array(1...sym.count).map { $0 == sym.count ? -1 : $0 }
    var prev = Array(-1..<(sym.count - 1))
    // A max-heap of (score, −left, left, right, size), lazily invalidated.
    var heap = Heap()
    func tryAdd(_ l: Int, _ r: Int) {
      guard l >= 0, r >= 0 else { return }
      let joined = sym[l] + sym[r]
      guard let id = vocab[joined] else { return }
      heap.push(Heap.Item(score: scores[id], left: l, right: r, size: joined.count))
    }
    for i in 1..<sym.count { tryAdd(i - 1, i) }
    while let b = heap.pop() {
      guard alive[b.left], alive[b.right], sym[b.left].count + sym[b.right].count == b.size, next[b.left] == b.right else { continue }
      sym[b.left] += sym[b.right]
      alive[b.right] = false
      next[b.left] = next[b.right]
      if next[b.right] >= 0 { prev[next[b.right]] = b.left }
      tryAdd(prev[b.left], b.left)
      tryAdd(b.left, next[b.left])
    }
    var out: [Int32] = []
    var i = 0
    while i != -1 {
      if let id = vocab[sym[i]] {
        out.append(Int32(id))
      } else {
        for c in sym[i] {
          for byte in String(Unicode.Scalar(c) ?? "\u{FFFD}").utf8 { out.append(Int32(byteIDs?[Int(byte)] ?? unk)) }
        }
      }
      i = next[i]
    }
    return out
  }

  struct Heap {
    struct Item {
      var score: Float
      var left: Int
      var right: Int
      var size: Int
      /// Higher score first; then the leftmost.
      func before(_ o: Item) -> Bool { score != o.score ? score > o.score : left < o.left }
    }
    var items: [Item] = []
    mutating func push(_ x: Item) {
      items.append(x)
      var i = items.count - 1
      while i > 0 {
        let p = (i - 1) / 2
        guard items[i].before(items[p]) else { break }
        items.swapAt(i, p)
        i = p
      }
    }
    mutating func pop() -> Item? {
      guard let top = items.first else { return nil }
      let last = items.removeLast()
      if !items.isEmpty {
        items[0] = last
        var i = 0
        while true {
          let l = 2 * i + 1, r = l + 1
          var m = i
          if l < items.count && items[l].before(items[m]) { m = l }
          if r < items.count && items[r].before(items[m]) { m = r }
          if m == i { break }
          items.swapAt(i, m)
          i = m
        }
      }
      return top
    }
  }
}

/// llama.cpp's WordPiece (its `llm_tokenizer_wpm`): its one-scalar NFD,
/// marks dropped, lowercased, split at whitespace, punctuation, ASCII symbols and
/// CJK characters; each word with a leading ▁ matched longest first against
/// the vocabulary (where llama.cpp's converter turned `##x` into `x` and
/// word starts into `▁x`); a word with no full match is unk.
struct WPM: Sendable {
  let vocab: [[UInt32]: Int]
  let unk: Int
  let maxLength: Int
  let lowercase: Bool
  let stripAccents: Bool

  func words(_ text: [UInt32]) -> [[UInt32]] {
    var cps = text
    if stripAccents { cps = cps.map(Self.firstOfDecomposition) }
    var words: [[UInt32]] = [[]]
    for c in cps {
      let m = UnicodeTable.mask(c)
      if UnicodeTable.isWhitespace(c) {
        if !words[words.count - 1].isEmpty { words.append([]) }
        continue
      }
      if c == 0 || c == 0xFFFD || m & UnicodeTable.control != 0 || m & UnicodeTable.format != 0 { continue }
      if stripAccents && m & UnicodeTable.mark != 0 { continue }
      let s = lowercase ? Normalizer.lower([c]) : [c]
      if m & UnicodeTable.punctuation != 0 || (c < 0x7F && m & UnicodeTable.symbol != 0) || Normalizer.isChinese(c) {
        if !words[words.count - 1].isEmpty { words.append([]) }
        words[words.count - 1] = s
        words.append([])
      } else {
        words[words.count - 1] += s
      }
    }
    if words.last?.isEmpty == true { words.removeLast() }
    return words
  }

  /// llama.cpp's "NFD": each scalar becomes the first scalar of its
  /// canonical decomposition, the rest dropped (so é is e, and a Hangul
  /// syllable its leading consonant), which is what its table holds.
  static func firstOfDecomposition(_ c: UInt32) -> UInt32 {
    guard c >= 0xC0, let u = Unicode.Scalar(c) else { return c }
    return Normalizer.unicode([u.value], \.decomposedStringWithCanonicalMapping).first ?? c
  }

  func tokenize(_ text: [UInt32]) -> [Int32] {
    var out: [Int32] = []
    for word in words(text) where !word.isEmpty {
      let w = [0x2581] + word
      let start = out.count
      var i = 0
      while i < w.count {
        var matched = false
        var j = min(w.count, i + maxLength + 1)
        while j > i {
          if let id = vocab[Array(w[i..<j])] {
            out.append(Int32(id))
            matched = true
            i = j
            break
          }
          j -= 1
        }
        if !matched {
          out.removeSubrange(start...)
          break
        }
      }
      if out.count == start { out.append(Int32(unk)) }
    }
    return out
  }
}
