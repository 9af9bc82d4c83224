import IngotCore

/// The values one stored ggml block can take, read back from its bytes:
/// for each sub-block a step `a` and offset `b`, value = a·(code − bias) + b
/// for integer codes lo…hi, or a·level[code] for IQ4's non-uniform levels.
/// GPTQ (GPTQ/GPTQ.swift) fixes a block's scales first, then rounds each
/// weight, as compensation reaches it, onto this grid; `GGMLQuantize.pack`
/// then writes the codes under the very scales read here.
struct GGMLGrid {
  /// Values per sub-block (one step and offset each).
  let sub: Int
  let lo: Float, hi: Float, bias: Float
  let nonUniform: Bool
  /// Step and offset per sub-block (at most 16 of each).
  let a: UnsafeMutablePointer<Float>
  let b: UnsafeMutablePointer<Float>

  /// The grid of `block` (one block of `type`'s bytes); steps and offsets go to `storage` (32 floats).
  init?(_ type: GGMLType, block x: UnsafeRawPointer, storage: UnsafeMutablePointer<Float>) {
    a = storage
    b = storage + 16
    func half(_ o: Int) -> Float { GGMLDequant.half(x, o) }
    switch type {
    case .q8_0: (sub, lo, hi, bias, nonUniform) = (32, -127, 127, 0, false); a[0] = half(0); b[0] = 0
    case .q4_0: (sub, lo, hi, bias, nonUniform) = (32, -8, 7, 0, false); a[0] = half(0); b[0] = 0
    case .q5_0: (sub, lo, hi, bias, nonUniform) = (32, -16, 15, 0, false); a[0] = half(0); b[0] = 0
    case .q4_1: (sub, lo, hi, bias, nonUniform) = (32, 0, 15, 0, false); a[0] = half(0); b[0] = half(2)
    case .q5_1: (sub, lo, hi, bias, nonUniform) = (32, 0, 31, 0, false); a[0] = half(0); b[0] = half(2)
    case .iq4_nl: (sub, lo, hi, bias, nonUniform) = (32, 0, 15, 0, true); a[0] = half(0); b[0] = 0
    case .q4_K, .q5_K:
      (sub, lo, hi, bias, nonUniform) = (32, 0, type == .q4_K ? 15 : 31, 0, false)
      let d = half(0), dmin = half(2)
      for j in 0..<8 {
        let (sc, m) = GGMLDequant.scaleMin(j, x + 4)
        a[j] = d * Float(sc)
        b[j] = -(dmin * Float(m))
      }
    case .q6_K:
      // Codes as GGMLQuantize holds them: 0…63, the stored value minus 32.
      (sub, lo, hi, bias, nonUniform) = (16, 0, 63, 32, false)
      let d = half(208)
      for j in 0..<16 {
        a[j] = d * Float(x.load(fromByteOffset: 192 + j, as: Int8.self))
        b[j] = 0
      }
    case .iq4_xs:
      (sub, lo, hi, bias, nonUniform) = (32, 0, 15, 0, true)
      let d = half(0)
      let high = UInt16(littleEndian: x.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
      for j in 0..<8 {
        let low = (x.load(fromByteOffset: 4 + j / 2, as: UInt8.self) >> (4 * UInt8(j % 2))) & 0xF
        let ls = Int(low) | Int((high >> (2 * UInt16(j))) & 3) << 4
        a[j] = d * Float(ls - 32)
        b[j] = 0
      }
    default: return nil
    }
  }

  /// The code nearest `v` at position `k` of the block, and the value it stands for.
  @inline(__always) func round(_ v: Float, at k: Int) -> (code: Float, value: Float) {
    let s = k / sub
    let step = a[s], offset = b[s]
    if nonUniform {
      guard step != 0 else { return (8, 0) }
      let c = GGMLQuantize.nearestLevel(v / step)
      return (Float(c), step * GGMLDequant.iq4Values[c])
    }
    guard step != 0 else {
      let c = min(hi, max(lo, bias))
      return (c, offset)
    }
    let c = roundClamp((v - offset) / step + bias, lo, hi)
    return (c, step * (c - bias) + offset)
  }
}
