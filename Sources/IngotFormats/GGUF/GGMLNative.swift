import IngotCore
import IngotQuant

/// Q8_0, Q4_0 and Q4_1 blocks re-expressed, without loss, in the
/// container's int8_block and symmetric / asymmetric int4_group (g32, f16)
/// encodings (formats/ingot-v1.md §5.3). They keep ggml's f16 scale (and
/// Q4_1's f16 minimum) per 32 values, and the container's dequantization,
/// f32(code) × f32(d), (f32(q) − 8) × f32(d) and f32(q) × f32(d) + f32(m),
/// is ggml's, so every value is the same bit for bit. Only the arrangement
/// differs: ggml interleaves a block's scale with its codes, the container
/// puts all codes first, then all scales (then all minimums); and ggml's
/// 4-bit blocks pack element j with element j + 16 in one byte, the
/// container element 2i with 2i + 1.
enum GGMLNative {
  static func reexpress(_ type: GGMLType, _ raw: UnsafeRawBufferPointer, layout: any QuantCodec, scaleStart: Int, minStart: Int, sourceRows: [Int], into out: UnsafeMutableRawBufferPointer) {
    let blocksPerRow = layout.cols / 32
    let blockBytes = type.block.bytes
    let codes = out.baseAddress!  // audited: payloadLength > 0 (rows, cols > 0)
    let scales = codes + scaleStart
    for (r, from) in sourceRows.enumerated() {
      for b in 0..<blocksPerRow {
        let block = raw.baseAddress! + (from * blocksPerRow + b) * blockBytes  // audited: the file check sized raw for every block
        let group = r * blocksPerRow + b
        // The f16 scale d leads every block; Q4_1's f16 minimum m follows it.
        (scales + 2 * group).copyMemory(from: block, byteCount: 2)
        var quants = block + 2
        if type == .q4_1 {
          (codes + minStart + 2 * group).copyMemory(from: block + 2, byteCount: 2)
          quants += 2
        }
        if type == .q8_0 {
          (codes + 32 * group).copyMemory(from: quants, byteCount: 32)
        } else {
          // Byte j holds element j (low nibble) and j + 16 (high); the
          // container wants elements 2i (low) and 2i + 1 (high) in byte i.
          let qs = quants.assumingMemoryBound(to: UInt8.self)
          let dst = (codes + 16 * group).assumingMemoryBound(to: UInt8.self)
          func element(_ e: Int) -> UInt8 { e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4 }
          for i in 0..<16 { dst[i] = element(2 * i) | element(2 * i + 1) << 4 }
        }
      }
    }
  }
}
