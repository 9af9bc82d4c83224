import IngotCore

/// The container encodings that are ggml block types in another
/// arrangement (formats/ingot-v1.md §5.3): int8_block is Q8_0, and
/// int4_group with groups of 32 and f16 scales is Q4_0 (symmetric) or Q4_1
/// (asymmetric). The values are the same bit for bit (the same f16 scale,
/// minimum and codes, and the same arithmetic); only the bytes move: ggml
/// interleaves each block's scale with its codes and packs element j with
/// j + 16, the container keeps codes, scales and minimums apart and packs
/// element 2i with 2i + 1.
public enum GGMLTranscode {
  /// The ggml type `codec`'s tensor is, exactly; nil when there is none.
  public static func type(of codec: any QuantCodec) -> GGMLType? {
    switch codec {
    case let g as GGMLBlockCodec: return g.type
    case is Int8BlockCodec: return .q8_0
    case let c as Int4GroupCodec where c.groupSize == 32 && c.scales == .plain: return c.symmetric ? .q4_0 : .q4_1
    default: return nil
    }
  }

  /// Why `codec` has no ggml form, for error messages.
  public static func reason(_ codec: any QuantCodec) -> String {
    switch codec {
    case let c as Int4GroupCodec: "int4_group g\(c.groupSize) with \(c.scales.rawValue) scales; only g32 with f16 scales is Q4_0 / Q4_1"
    default: "\(codec.kind) has no ggml block type"
    }
  }

  /// `payload` (in `codec`'s layout) as ggml blocks, row by row, into `out`
  /// (rows × cols / 32 blocks).
  public static func toGGML(_ codec: any QuantCodec, _ payload: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
    guard let type = type(of: codec), let src = payload.baseAddress, let dst = out.baseAddress, payload.count >= codec.payloadLength else { return false }
    let blocks = codec.rows * (codec.cols / type.block.elements)
    guard out.count >= blocks * type.block.bytes else { return false }
    switch codec {
    case is GGMLBlockCodec:
      dst.copyMemory(from: src, byteCount: codec.payloadLength)
    case let c as Int8BlockCodec:
      for g in 0..<blocks {
        let block = dst + 34 * g
        block.copyMemory(from: src + c.scaleStart + 2 * g, byteCount: 2)
        (block + 2).copyMemory(from: src + 32 * g, byteCount: 32)
      }
    case let c as Int4GroupCodec:
      let asym = !c.symmetric
      let size = asym ? 20 : 18
      for g in 0..<blocks {
        let block = dst + size * g
        block.copyMemory(from: src + c.scaleSection.lowerBound + 2 * g, byteCount: 2)
        if asym { (block + 2).copyMemory(from: src + c.minSection.lowerBound + 2 * g, byteCount: 2) }
        let codes = (src + 16 * g).assumingMemoryBound(to: UInt8.self)
        let qs = (block + (asym ? 4 : 2)).assumingMemoryBound(to: UInt8.self)
        // Container byte i: elements 2i (low) and 2i + 1 (high).
        func element(_ e: Int) -> UInt8 { e & 1 == 0 ? codes[e >> 1] & 0x0F : codes[e >> 1] >> 4 }
        for j in 0..<16 { qs[j] = element(j) | element(j + 16) << 4 }
      }
    default:
      return false
    }
    return true
  }
}
