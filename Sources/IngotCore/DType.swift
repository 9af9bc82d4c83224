/// Logical element types. The raw value is the name used in `.ingot` headers.
public enum DType: String, CaseIterable, Sendable {
  case bool, u8, i8, u16, i16, u32, i32, u64, i64
  case f16, bf16, f32, f64, c64
  case f8_e4m3, f8_e5m2, f8_e8m0, f8_e4m3fnuz, f8_e5m2fnuz
  case f4, f6_e2m3, f6_e3m2

  /// Bits per element. Sub-byte types (f4, f6) are packed; a tensor of them
  /// must fill a whole number of bytes.
  public var bits: Int {
    switch self {
    case .bool, .u8, .i8, .f8_e4m3, .f8_e5m2, .f8_e8m0, .f8_e4m3fnuz, .f8_e5m2fnuz: 8
    case .u16, .i16, .f16, .bf16: 16
    case .u32, .i32, .f32: 32
    case .u64, .i64, .f64, .c64: 64
    case .f4: 4
    case .f6_e2m3, .f6_e3m2: 6
    }
  }

  /// The 16/32-bit float types that `--dtype` casts between.
  public var isCastableFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }

  public var isFloatingPoint: Bool {
    switch self {
    case .f16, .bf16, .f32, .f64, .f8_e4m3, .f8_e5m2, .f8_e8m0, .f8_e4m3fnuz, .f8_e5m2fnuz,
      .f4, .f6_e2m3, .f6_e3m2:
      true
    default: false
    }
  }

  /// Bytes needed for `count` elements, or nil on overflow or a partial byte.
  public func byteCount(elements count: Int) -> Int? {
    let (bitCount, overflow) = count.multipliedReportingOverflow(by: bits)
    guard !overflow, bitCount % 8 == 0 else { return nil }
    return bitCount / 8
  }
}

/// Element count of a shape, or nil when a dimension is negative or the
/// product overflows. Rank 0 has one element.
public func elementCount(_ shape: [Int]) -> Int? {
  var n = 1
  for d in shape {
    guard d >= 0 else { return nil }
    let (p, overflow) = n.multipliedReportingOverflow(by: d)
    guard !overflow else { return nil }
    n = p
  }
  return n
}
