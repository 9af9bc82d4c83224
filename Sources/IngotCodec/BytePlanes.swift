/// The float transform before compression (formats/ingot-v1.md §6.1):
/// rotate each element's bits left by k, so the sign (and, for k > 1, the
/// exponent's top k − 1 bits, nearly constant in weights) move to the
/// lowest bits, then store byte planes from the most significant byte down.
/// The first plane then holds the informative exponent bits, which is where
/// almost all of the redundancy in trained weights lies.
public enum BytePlanes {
  static let isLittleEndian = 1.littleEndian == 1

  /// The rotation writers use, by element width. f32 (k = 3) and f64
  /// (k = 6): the first plane holds the exponent's six low bits and the
  /// mantissa's top two. Coding the exponent jointly with the leading
  /// mantissa bits captures their dependence, and a plane of ~4.6 bits a
  /// byte loses less to Huffman's whole-bit codes than one of ~2.6: on
  /// all-MiniLM-L6-v2, f32 0.8171 of the original size against 0.8196 with
  /// k = 1 (k = 2: 0.8184, k = 4: 0.8175), at the same speed, since three of
  /// the four planes are Huffman-coded either way. 16-bit floats (k = 1):
  /// the first plane is the whole exponent (bf16) or the exponent and three
  /// mantissa bits (f16). For bf16, k = 3 would give 0.6613 against 0.6651,
  /// but its second plane then needs Huffman coding too, which cut
  /// compression from 1086 to 840 MB/s and decompression from 2.45 to
  /// 1.34 GB/s here; f16 is smallest at
  /// k = 1 anyway (0.8476; k = 2: 0.8490).
  public static func rotation(width: Int) -> Int {
    switch width {
    case 4: 3
    case 8: 6
    default: 1
    }
  }

  /// Forward transform of `count` elements of `width` bytes (2, 4 or 8),
  /// rotated left by `rotate` bits (0 ≤ rotate < 8·width).
  public static func split(_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, count: Int, width: Int, rotate k: Int) {
    let out = output.assumingMemoryBound(to: UInt8.self)
    switch width {
    case 2:
      // Sixteen elements at a time in vector registers (little-endian
      // hosts, where memory order is the payload's), then the tail.
      var i = 0
      while isLittleEndian && i + 16 <= count {
        let v = input.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
        let r = v &<< UInt16(k) | v &>> UInt16(16 - k)
        (output + i).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: r &>> 8), as: SIMD16<UInt8>.self)
        (output + count + i).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: r), as: SIMD16<UInt8>.self)
        i += 16
      }
      while i < count {
        let v = UInt16(littleEndian: input.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        let r = v &<< UInt16(k) | v &>> UInt16(16 - k)
        out[i] = UInt8(truncatingIfNeeded: r >> 8)
        out[count + i] = UInt8(truncatingIfNeeded: r)
        i += 1
      }
    case 4:
      var j = 0
      while isLittleEndian && j + 8 <= count {
        let v = input.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<UInt32>.self)
        let r = v &<< UInt32(k) | v &>> UInt32(32 - k)
        (output + j).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: r &>> 24), as: SIMD8<UInt8>.self)
        (output + count + j).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: r &>> 16), as: SIMD8<UInt8>.self)
        (output + 2 * count + j).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: r &>> 8), as: SIMD8<UInt8>.self)
        (output + 3 * count + j).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: r), as: SIMD8<UInt8>.self)
        j += 8
      }
      for i in j..<count {
        let v = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        let r = v &<< UInt32(k) | v &>> UInt32(32 - k)
        out[i] = UInt8(truncatingIfNeeded: r >> 24)
        out[count + i] = UInt8(truncatingIfNeeded: r >> 16)
        out[2 * count + i] = UInt8(truncatingIfNeeded: r >> 8)
        out[3 * count + i] = UInt8(truncatingIfNeeded: r)
      }
    default:
      for i in 0..<count {
        let v = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        let r = v &<< UInt64(k) | v &>> UInt64(64 - k)
        for p in 0..<8 { out[p * count + i] = UInt8(truncatingIfNeeded: r >> (56 - 8 * p)) }
      }
    }
  }

  /// Inverse of `split`. (Masking shifts throughout: with a rotation only
  /// known at run time, smart shifts' range checks stop vectorization.)
  public static func join(_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, count: Int, width: Int, rotate k: Int) {
    let p = input.assumingMemoryBound(to: UInt8.self)
    switch width {
    case 2:
      var i = 0
      while isLittleEndian && i + 16 <= count {
        let hi = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt8>.self))
        let lo = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(p + count + i).loadUnaligned(as: SIMD16<UInt8>.self))
        let r = hi &<< 8 | lo
        (output + 2 * i).storeBytes(of: r &>> UInt16(k) | r &<< UInt16(16 - k), as: SIMD16<UInt16>.self)
        i += 16
      }
      while i < count {
        let r = UInt16(p[i]) << 8 | UInt16(p[count + i])
        output.storeBytes(of: (r &>> UInt16(k) | r &<< UInt16(16 - k)).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        i += 1
      }
    case 4:
      var j = 0
      while isLittleEndian && j + 8 <= count {
        let b0 = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<UInt8>.self))
        let b1 = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(p + count + j).loadUnaligned(as: SIMD8<UInt8>.self))
        let b2 = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(p + 2 * count + j).loadUnaligned(as: SIMD8<UInt8>.self))
        let b3 = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(p + 3 * count + j).loadUnaligned(as: SIMD8<UInt8>.self))
        let r = b0 &<< 24 | b1 &<< 16 | b2 &<< 8 | b3
        (output + 4 * j).storeBytes(of: r &>> UInt32(k) | r &<< UInt32(32 - k), as: SIMD8<UInt32>.self)
        j += 8
      }
      for i in j..<count {
        let r = UInt32(p[i]) << 24 | UInt32(p[count + i]) << 16 | UInt32(p[2 * count + i]) << 8 | UInt32(p[3 * count + i])
        output.storeBytes(of: (r &>> UInt32(k) | r &<< UInt32(32 - k)).littleEndian, toByteOffset: 4 * i, as: UInt32.self)
      }
    default:
      for i in 0..<count {
        var r: UInt64 = 0
        for q in 0..<8 { r |= UInt64(p[q * count + i]) << (56 - 8 * q) }
        output.storeBytes(of: (r &>> UInt64(k) | r &<< UInt64(64 - k)).littleEndian, toByteOffset: 8 * i, as: UInt64.self)
      }
    }
  }
}
