import Dispatch

/// Float element conversion, the one implementation behind casts, weight
/// loading and diff: f32, f16, bf16 and f64 to f32, and f32 to each of f32,
/// f16 and bf16 with round-to-nearest-even (NaN kept, quiet, same sign).
public enum FloatConversion {
  /// The float dtypes a payload can be read as f32 from.
  public static func readable(_ dtype: DType) -> Bool { [.f32, .f16, .bf16, .f64].contains(dtype) }

  @inline(__always)
  public static func load(_ p: UnsafeRawPointer, _ i: Int, _ t: DType) -> Float {
    switch t {
    case .f32: return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
    case .f16: return Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
    case .f64: return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
    default:
      let bits = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
      return Float(bitPattern: UInt32(bits) << 16)
    }
  }

  @inline(__always)
  public static func store(_ p: UnsafeMutableRawPointer, _ i: Int, _ t: DType, _ x: Float) {
    switch t {
    case .f32: p.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
    case .f16: p.storeBytes(of: Float16(x).bitPattern.littleEndian, toByteOffset: i * 2, as: UInt16.self)
    default: p.storeBytes(of: bfloat16Bits(x).littleEndian, toByteOffset: i * 2, as: UInt16.self)
    }
  }

  /// f32 → bf16 with round-to-nearest-even; NaN is kept (quiet, same sign).
  @inline(__always)
  public static func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }

  /// `v` rounded to `dtype` (f16 or bf16) and back; f32 unchanged.
  @inline(__always)
  public static func round(_ v: Float, to dtype: DType) -> Float {
    switch dtype {
    case .f16: return Float(Float16(v))
    case .bf16:
      let bits = v.bitPattern
      return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    default: return v
    }
  }

  /// Converts `n` elements in parallel slices; each slice writes a disjoint
  /// output range. `to` is f32, f16 or bf16.
  public static func convert(count n: Int, from: DType, to: DType, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) {
    let slice = 1 << 20
    let slices = (n + slice - 1) / slice
    guard let srcBase = input.baseAddress, let dstBase = output.baseAddress else { return }
    // nonisolated(unsafe): each iteration touches only elements [lo, hi).
    nonisolated(unsafe) let (src, dst) = (srcBase, dstBase)
    if from == .f32 && to == .f32 {
      dst.copyMemory(from: src, byteCount: n * 4)
      return
    }
    DispatchQueue.concurrentPerform(iterations: slices) { s in
      let lo = s * slice
      for i in lo..<min(n, lo + slice) { store(dst, i, to, load(src, i, from)) }
    }
  }
}
