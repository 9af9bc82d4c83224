/// tokenizers' WordPiece: the longest vocabulary entry from the start of a
/// word, then from where it ended with the `##` prefix, and so on; a word
/// with no such split (or longer than `max_input_chars_per_word`) is unk.
struct WordPiece: Sendable {
  let vocab: [[UInt32]: Int]
  let unk: Int
  let prefix: [UInt32]
  let maxChars: Int

  /// The longest entry, in scalars (no match can be longer).
  let longest: Int

  init(vocab: [[UInt32]: Int], unk: Int, prefix: [UInt32], maxChars: Int) {
    self.vocab = vocab
    self.unk = unk
    self.prefix = prefix
    self.maxChars = maxChars
    longest = vocab.keys.map(\.count).max() ?? 1
  }

  func tokenize(_ word: [UInt32]) -> [Int32] {
    guard word.count <= maxChars else { return [Int32(unk)] }
    var out: [Int32] = []
    var start = 0
    while start < word.count {
      var end = min(word.count, start + longest)
      var found: Int? = nil
      while end > start {
        let key = (start > 0 ? prefix : []) + word[start..<end]
        if let id = vocab[key] {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else { return [Int32(unk)] }
      out.append(Int32(id))
      start = end
    }
    return out
  }
}
