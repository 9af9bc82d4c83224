/// llama.cpp's converter permutes q/k rows so that each head's rotary
/// pairs are adjacent (GGUF row h·2·half + 2i + j holds Hugging Face row
/// h·2·half + j·half + i); these undo it, for whole rows of any byte width.
public enum RowPermutation {
  /// For each Hugging Face row, the GGUF row it comes from; nil when the
  /// rows do not split into `heads` heads of rotary pairs.
  public static func unpermutedSources(rows: Int, heads: Int) -> [Int]? {
    guard heads > 0, rows > 0, rows % (2 * heads) == 0 else { return nil }
    var source = [Int](repeating: 0, count: rows)
    let half = rows / heads / 2
    for h in 0..<heads {
      for i in 0..<half {
        for j in 0..<2 { source[h * 2 * half + j * half + i] = h * 2 * half + 2 * i + j }
      }
    }
    return source
  }

  /// Copies `input`'s rows (each `rowBytes`) into `out` in Hugging Face order.
  public static func unpermute(_ input: UnsafeRawBufferPointer, rows: Int, rowBytes: Int, heads: Int, into out: UnsafeMutableRawBufferPointer) -> Bool {
    move(input, rows: rows, rowBytes: rowBytes, heads: heads, into: out, toHF: true)
  }

  /// The converse: Hugging Face rows into llama.cpp's order (what its
  /// converter writes), for whole rows of any byte width.
  public static func permute(_ input: UnsafeRawBufferPointer, rows: Int, rowBytes: Int, heads: Int, into out: UnsafeMutableRawBufferPointer) -> Bool {
    move(input, rows: rows, rowBytes: rowBytes, heads: heads, into: out, toHF: false)
  }

  static func move(_ input: UnsafeRawBufferPointer, rows: Int, rowBytes: Int, heads: Int, into out: UnsafeMutableRawBufferPointer, toHF: Bool) -> Bool {
    guard let source = unpermutedSources(rows: rows, heads: heads), let src = input.baseAddress, let dst = out.baseAddress,
      input.count >= rows * rowBytes, out.count >= rows * rowBytes
    else { return false }
    for (hf, gguf) in source.enumerated() {
      let (to, from) = toHF ? (hf, gguf) : (gguf, hf)
      (dst + to * rowBytes).copyMemory(from: src + from * rowBytes, byteCount: rowBytes)
    }
    return true
  }
}
