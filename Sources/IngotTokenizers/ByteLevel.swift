/// GPT-2's byte-level alphabet: every byte as one printable scalar (the
/// printable Latin-1 bytes as themselves, the rest as U+0100 upwards, in
/// order), so any text is a string over 256 symbols.
enum ByteLevel {
  static let byteToScalar: [UInt32] = {
    var table = [UInt32](repeating: 0, count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
      let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
      if printable {
        table[b] = UInt32(b)
      } else {
        table[b] = next
        next += 1
      }
    }
    return table
  }()

  static let scalarToByte: [UInt32: UInt8] = {
    var out: [UInt32: UInt8] = [:]
    for (b, s) in byteToScalar.enumerated() { out[s] = UInt8(b) }
    return out
  }()

  /// GPT-2's split pattern (the ByteLevel pre-tokenizer's `use_regex`).
  static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

  /// The byte-level form of some scalars: their UTF-8 bytes, each mapped.
  static func encode(_ scalars: ArraySlice<UInt32>) -> [UInt32] {
    var out: [UInt32] = []
    out.reserveCapacity(scalars.count)
    for s in scalars {
      if s < 0x80 {
        out.append(byteToScalar[Int(s)])
        continue
      }
      for b in String(Unicode.Scalar(s) ?? "\u{FFFD}").utf8 { out.append(byteToScalar[Int(b)]) }
    }
    return out
  }
}
