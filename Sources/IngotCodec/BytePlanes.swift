/// The float transform before compression (formats/ingot-v1.md §6.1):
/// rotate each element's bits left by one, so the sign moves to the lowest
/// bit and the exponent starts at the top, then store byte planes from the
/// most significant byte down. For f32 and bf16 the first plane is then
/// exactly the exponent, which is where almost all of the redundancy in
/// trained weights lies.
public enum BytePlanes {
  /// Forward transform of `count` elements of `width` bytes (2, 4 or 8).
  public static func split(_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, count: Int, width: Int) {
    let out = output.assumingMemoryBound(to: UInt8.self)
    switch width {
    case 2:
      for i in 0..<count {
        let v = UInt16(littleEndian: input.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        let r = v << 1 | v >> 15
        out[i] = UInt8(truncatingIfNeeded: r >> 8)
        out[count + i] = UInt8(truncatingIfNeeded: r)
      }
    case 4:
      for i in 0..<count {
        let v = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        let r = v << 1 | v >> 31
        out[i] = UInt8(truncatingIfNeeded: r >> 24)
        out[count + i] = UInt8(truncatingIfNeeded: r >> 16)
        out[2 * count + i] = UInt8(truncatingIfNeeded: r >> 8)
        out[3 * count + i] = UInt8(truncatingIfNeeded: r)
      }
    default:
      for i in 0..<count {
        let v = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        let r = v << 1 | v >> 63
        for p in 0..<8 { out[p * count + i] = UInt8(truncatingIfNeeded: r >> (56 - 8 * p)) }
      }
    }
  }

  /// Inverse of `split`.
  public static func join(_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, count: Int, width: Int) {
    let p = input.assumingMemoryBound(to: UInt8.self)
    switch width {
    case 2:
      for i in 0..<count {
        let r = UInt16(p[i]) << 8 | UInt16(p[count + i])
        output.storeBytes(of: (r >> 1 | r << 15).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
      }
    case 4:
      for i in 0..<count {
        let r = UInt32(p[i]) << 24 | UInt32(p[count + i]) << 16 | UInt32(p[2 * count + i]) << 8 | UInt32(p[3 * count + i])
        output.storeBytes(of: (r >> 1 | r << 31).littleEndian, toByteOffset: 4 * i, as: UInt32.self)
      }
    default:
      for i in 0..<count {
        var r: UInt64 = 0
        for q in 0..<8 { r |= UInt64(p[q * count + i]) << (56 - 8 * q) }
        output.storeBytes(of: (r >> 1 | r << 63).littleEndian, toByteOffset: 8 * i, as: UInt64.self)
      }
    }
  }
}
