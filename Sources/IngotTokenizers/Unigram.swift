/// tokenizers' Unigram model: the segmentation of a piece with the highest
/// total log-probability (Viterbi over the vocabulary's scores); a scalar
/// no entry covers is unk (scored below every entry), or its UTF-8 bytes
/// with `byte_fallback`.
struct Unigram: Sendable {
  let vocab: [[UInt32]: Int]
  let scores: [Double]
  let unk: Int?
  let byteFallback: Bool
  let byteIDs: [Int]?
  let maxLength: Int
  let unkScore: Double

  init(pieces: [(String, Double)], unk: Int?, byteFallback: Bool) {
    var v: [[UInt32]: Int] = [:]
    for (i, p) in pieces.enumerated() where v[p.0.scalarKey] == nil { v[p.0.scalarKey] = i }
    vocab = v
    scores = pieces.map(\.1)
    self.unk = unk
    self.byteFallback = byteFallback
    maxLength = pieces.map { $0.0.unicodeScalars.count }.max() ?? 1
    unkScore = (scores.min() ?? 0) - 10
    var bytes: [Int] = []
    for b in 0..<256 {
      if let id = v[("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">").scalarKey] { bytes.append(id) }
    }
    byteIDs = bytes.count == 256 ? bytes : nil
  }

  func tokenize(_ piece: [UInt32]) -> [Int32] {
    let n = piece.count
    var best = [Double](repeating: -.infinity, count: n + 1)
    var from = [Int](repeating: -1, count: n + 1)
    var id = [Int](repeating: -1, count: n + 1)
    best[0] = 0
    for i in 0..<n where best[i] > -.infinity {
      var matched = false
      for len in 1...min(maxLength, n - i) {
        if let t = vocab[Array(piece[i..<(i + len)])] {
          if len == 1 { matched = true }
          let s = best[i] + scores[t]
          if s > best[i + len] { best[i + len] = s; from[i + len] = i; id[i + len] = t }
        }
      }
      if !matched {
        let s = best[i] + unkScore
        if s > best[i + 1] { best[i + 1] = s; from[i + 1] = i; id[i + 1] = -1 }
      }
    }
    var out: [Int32] = []
    var at = n
    var reversed: [(Int, Int)] = []
    while at > 0 {
      reversed.append((from[at], id[at]))
      at = from[at]
    }
    for (start, t) in reversed.reversed() {
      if t >= 0 {
        out.append(Int32(t))
      } else if byteFallback, let bytes = byteIDs {
        for b in String(Unicode.Scalar(piece[start]) ?? "\u{FFFD}").utf8 { out.append(Int32(bytes[Int(b)])) }
      } else if let unk {
        // Consecutive unknowns fuse into one, as tokenizers' Unigram does.
        if out.last != Int32(unk) { out.append(Int32(unk)) }
      }
    }
    return out
  }
}
