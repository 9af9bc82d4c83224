import Dispatch
import IngotContainer

/// Quantized payload → f32, exactly as formats/ingot-v1.md §5.3 defines it
/// (every product rounded to f32, no fused multiply-add), so tools/ingot_read.py
/// with numpy float32 gets the same bits.
public enum Dequantizer {
  /// Dequantizes the whole tensor into `out` (rows × cols), rows in parallel.
  public static func dequantize(_ payload: UnsafeRawBufferPointer, layout: QuantLayout, into out: UnsafeMutablePointer<Float>) {
    let rowsPerChunk = Quantizer.chunkRows(layout)
    let chunks = (layout.rows + rowsPerChunk - 1) / rowsPerChunk
    nonisolated(unsafe) let dst = out
    nonisolated(unsafe) let payload = payload
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
      for r in (c * rowsPerChunk)..<min(layout.rows, (c + 1) * rowsPerChunk) {
        dequantizeRow(r, payload: payload, layout: layout, into: dst + r * layout.cols)
      }
    }
  }

  @inline(__always) static func f16At(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }

  /// Exact f16 → f32: bit arithmetic for normal numbers and zero, the
  /// library conversion (software on baseline x86-64) for the rest.
  @inline(__always) static func halfToFloat(_ h: UInt16) -> Float {
    let e = (h >> 10) & 0x1F
    if e != 0 && e != 31 {
      return Float(bitPattern: UInt32(h & 0x8000) << 16 | (UInt32(e) + 112) << 23 | UInt32(h & 0x3FF) << 13)
    }
    if h & 0x7FFF == 0 { return Float(bitPattern: UInt32(h) << 16) }
    return Float(Float16(bitPattern: h))
  }

  public static func dequantizeRow(_ r: Int, payload: UnsafeRawBufferPointer, layout: QuantLayout, into out: UnsafeMutablePointer<Float>) {
    guard let p = payload.baseAddress else { return }
    let cols = layout.cols
    let scaleStart = layout.scaleSection.lowerBound
    let minStart = layout.minSection.lowerBound
    switch layout.kind {
    case .int8Channel:
      let s = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: scaleStart + 4 * r, as: UInt32.self)))
      let codes = (p + r * cols).assumingMemoryBound(to: Int8.self)
      for i in 0..<cols { out[i] = Float(codes[i]) * s }
    case .int8Block:
      let codes = (p + r * cols).assumingMemoryBound(to: Int8.self)
      for b in 0..<(cols / 32) {
        let s = f16At(p, scaleStart + 2 * (r * (cols / 32) + b))
        for i in (b * 32)..<(b * 32 + 32) { out[i] = Float(codes[i]) * s }
      }
    case .int4Group:
      let packed = (p + r * cols / 2).assumingMemoryBound(to: UInt8.self)
      let g = layout.groupSize
      let groupsPerRow = cols / g
      for j in 0..<groupsPerRow {
        let gi = r * groupsPerRow + j
        let range = (j * g)..<(j * g + g)
        switch (layout.scales, layout.symmetric) {
        case (.plain, true):
          let s = f16At(p, scaleStart + 2 * gi)
          for i in stride(from: range.lowerBound, to: range.upperBound, by: 2) {
            let b = packed[i / 2]
            out[i] = (Float(b & 0x0F) - 8) * s
            out[i + 1] = (Float(b >> 4) - 8) * s
          }
        case (.plain, false):
          let s = f16At(p, scaleStart + 2 * gi)
          let m = f16At(p, minStart + 2 * gi)
          for i in stride(from: range.lowerBound, to: range.upperBound, by: 2) {
            let b = packed[i / 2]
            out[i] = Float(b & 0x0F) * s + m
            out[i + 1] = Float(b >> 4) * s + m
          }
        case (.q6, _):
          let bit = gi * 12
          let b0 = UInt16(p.load(fromByteOffset: scaleStart + bit / 8, as: UInt8.self))
          let b1 = UInt16(p.load(fromByteOffset: scaleStart + bit / 8 + 1, as: UInt8.self))
          let entry = bit % 8 == 0 ? (b0 | (b1 & 0x0F) << 8) : (b0 >> 4 | b1 << 4)
          let sb = (r * cols + j * g) / layout.superBlock
          let d = f16At(p, minStart + 2 * sb)
          let dmin = f16At(p, minStart + 2 * layout.superBlocks + 2 * sb)
          let s = Float(entry & 63) * d
          let m = Float(entry >> 6) * dmin
          for i in stride(from: range.lowerBound, to: range.upperBound, by: 2) {
            let b = packed[i / 2]
            out[i] = s * Float(b & 0x0F) - m
            out[i + 1] = s * Float(b >> 4) - m
          }
        }
      }
    }
  }
}
