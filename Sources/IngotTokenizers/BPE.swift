import IngotCore

/// tokenizers' BPE model: a piece starts as one symbol per scalar (bytes
/// `<0xXX>` for unknown ones with `byte_fallback`), then the adjacent pair
/// with the lowest merge rank is merged, leftmost first, until none is left.
final class BPE: @unchecked Sendable {
  // @unchecked: the cache is behind `lock`; everything else is immutable.
  /// Token text as scalars → id: Swift's String equality is canonical
  /// equivalence, which would take "й" for "и\u{306}"; tokens are exact.
  let vocab: [[UInt32]: Int]
  /// (left id, right id) → (rank, merged id).
  let merges: [UInt64: (rank: Int32, id: Int32)]
  let unk: Int?
  let fuseUnk: Bool
  let byteFallback: Bool
  let ignoreMerges: Bool
  /// A piece of newlines only that is itself a token stays whole (llama.cpp's
  /// Gemma 4 rule).
  var wholeNewlines = false
  let byteIDs: [Int]?
  /// Single-scalar tokens, the usual starting symbols.
  let scalarIDs: [UInt32: Int32]
  let lock = Lock()
  var cache: [[UInt32]: [Int32]] = [:]

  init(vocab: [[UInt32]: Int], merges: [(String, String)], unk: String?, fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool, file: String) throws(TokenizerError) {
    self.vocab = vocab
    var table: [UInt64: (Int32, Int32)] = [:]
    table.reserveCapacity(merges.count)
    for (rank, (a, b)) in merges.enumerated() {
      let field = "model.merges[\(rank)]"
      let ka = a.scalarKey, kb = b.scalarKey
      guard let ia = vocab[ka] else { throw .unknownToken(file: file, field: field, token: a) }
      guard let ib = vocab[kb] else { throw .unknownToken(file: file, field: field, token: b) }
      guard let m = vocab[ka + kb] else { throw .unknownToken(file: file, field: field, token: a + b) }
      let key = UInt64(ia) << 32 | UInt64(ib)
      if table[key] == nil { table[key] = (Int32(rank), Int32(m)) }
    }
    self.merges = table
    if let unk {
      guard let id = vocab[unk.scalarKey] else { throw .unknownToken(file: file, field: "model.unk_token", token: unk) }
      self.unk = id
    } else {
      self.unk = nil
    }
    self.fuseUnk = fuseUnk
    self.byteFallback = byteFallback
    self.ignoreMerges = ignoreMerges
    var bytes: [Int] = []
    for b in 0..<256 {
      let name = "<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">"
      if let id = vocab[name.scalarKey] { bytes.append(id) }
    }
    byteIDs = bytes.count == 256 ? bytes : nil
    var scalars: [UInt32: Int32] = [:]
    for (token, id) in vocab where token.count == 1 { scalars[token[0]] = Int32(id) }
    scalarIDs = scalars
  }

  func tokenize(_ piece: [UInt32]) -> [Int32] {
    if let hit = lock.locked({ cache[piece] }) { return hit }
    let out = compute(piece)
    lock.locked {
      if cache.count > 200_000 { cache.removeAll(keepingCapacity: true) }
      cache[piece] = out
    }
    return out
  }

  func compute(_ piece: [UInt32]) -> [Int32] {
    if ignoreMerges, let id = vocab[piece] { return [Int32(id)] }
    if wholeNewlines, piece.allSatisfy({ $0 == 0x0A }), let id = vocab[piece] { return [Int32(id)] }
    var symbols: [Int32] = []
    symbols.reserveCapacity(piece.count)
    var lastUnk = false
    for c in piece {
      if let id = scalarIDs[c] {
        symbols.append(id)
        lastUnk = false
      } else if byteFallback, let bytes = byteIDs {
        for b in String(Unicode.Scalar(c) ?? "\u{FFFD}").utf8 { symbols.append(Int32(bytes[Int(b)])) }
        lastUnk = false
      } else if let unk {
        if !(fuseUnk && lastUnk) { symbols.append(Int32(unk)) }
        lastUnk = true
      }
    }
    while symbols.count > 1 {
      var best = Int32.max, at = -1, merged: Int32 = 0
      for i in 0..<(symbols.count - 1) {
        if let m = merges[UInt64(UInt32(bitPattern: symbols[i])) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1]))], m.rank < best {
          best = m.rank
          at = i
          merged = m.id
        }
      }
      guard at >= 0 else { break }
      symbols[at] = merged
      symbols.remove(at: at + 1)
    }
    return symbols
  }
}

extension String {
  /// The exact scalars, for dictionary keys (String keys compare canonically).
  var scalarKey: [UInt32] { unicodeScalars.map(\.value) }

  func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
