import IngotCore

/// `mlx_affine` (formats/ingot-v1.md §5.3): MLX's affine quantization, byte
/// for byte as mlx-lm stores a quantized layer, so a model read from or
/// written to an MLX folder keeps MLX's own bytes and digests.
/// - codes: `bits`-wide (1, 2, 3, 4, 5, 6 or 8), element k of a row at bit
///   k·bits of the row's little-endian bit stream (MLX's uint32 words);
/// - scales, then biases: one per group of 32, 64 or 128 along a row, in
///   `scale_dtype` (f16, bf16 or f32);
/// - value = round(round(scale·q) + bias), each rounding to `scale_dtype`,
///   which is how MLX dequantizes (measured against mlx.core.dequantize).
public struct MLXAffineCodec: QuantCodec {
  public static let kind = "mlx_affine"
  public static let family = "mlx"
  public static let bitWidths = [1, 2, 3, 4, 5, 6, 8]
  public static let groupSizes = [32, 64, 128]
  public static let scaleDTypes: [DType] = [.f16, .bf16, .f32]

  public let rows: Int
  public let cols: Int
  public let bits: Int
  public let groupSize: Int
  public let scaleDType: DType

  public init(rows: Int, cols: Int, bits: Int, groupSize: Int, scaleDType: DType) {
    self.rows = rows
    self.cols = cols
    self.bits = bits
    self.groupSize = groupSize
    self.scaleDType = scaleDType
  }

  public var parameters: [String: JSONValue] {
    ["bits": .int(Int64(bits)), "group_size": .int(Int64(groupSize)), "scale_dtype": .string(scaleDType.rawValue)]
  }

  /// Bytes of one row's codes (cols is a multiple of 32, so whole uint32 words).
  public var rowCodeBytes: Int { cols * bits / 8 }
  public var groupsPerRow: Int { cols / groupSize }
  var scaleBytes: Int { scaleDType == .f32 ? 4 : 2 }
  public var scaleSection: Range<Int> { (rows * rowCodeBytes)..<(rows * rowCodeBytes + rows * groupsPerRow * scaleBytes) }
  public var biasSection: Range<Int> { scaleSection.upperBound..<(scaleSection.upperBound + rows * groupsPerRow * scaleBytes) }
  public var payloadLength: Int { biasSection.upperBound }

  public init(parameters: [String: JSONValue], rows: Int, cols: Int) throws(LayoutError) {
    let k = Self.kind
    let p = ParameterReader(kind: k, parameters: parameters)
    try p.only(["bits", "group_size", "scale_dtype"])
    let bits = try p.int("bits")
    guard Self.bitWidths.contains(bits) else { throw .badParameter(kind: k, key: "bits", allowed: "1, 2, 3, 4, 5, 6 or 8") }
    let g = try p.int("group_size")
    guard Self.groupSizes.contains(g) else { throw .badParameter(kind: k, key: "group_size", allowed: "32, 64 or 128") }
    guard let d = DType(rawValue: try p.string("scale_dtype")), Self.scaleDTypes.contains(d) else {
      throw .badParameter(kind: k, key: "scale_dtype", allowed: "f16, bf16 or f32")
    }
    guard cols % g == 0 else { throw .rowLength(kind: k, cols: cols, multipleOf: g) }
    self.init(rows: rows, cols: cols, bits: bits, groupSize: g, scaleDType: d)
  }

  public static func claims(_ o: QuantOptions) -> Bool { true }

  public static func normalize(_ o: QuantOptions) -> QuantOptions {
    var n = o
    n.groupSize = o.groupSize ?? 64
    n.bits = o.bits ?? 4
    n.symmetric = false
    return n
  }

  public static func validate(_ o: QuantOptions) throws(LayoutError) {
    guard groupSizes.contains(o.groupSize ?? 64) else { throw .badParameter(kind: "mlx", key: "--group-size", allowed: "32, 64 or 128") }
    guard bitWidths.contains(o.bits ?? 4) else { throw .badParameter(kind: "mlx", key: "--bits", allowed: "1, 2, 3, 4, 5, 6 or 8") }
    if o.symmetric { throw .combination(kind: "mlx", reason: "MLX's affine codes are asymmetric (scale and bias per group)") }
    if let s = o.scales, DType(rawValue: s).map({ scaleDTypes.contains($0) }) != true {
      throw .badParameter(kind: "mlx", key: "--scales", allowed: "f16, bf16 or f32 (default: the tensor's dtype, as mlx-lm stores them)")
    }
  }

  public static func schemeName(_ o: QuantOptions) -> String { "mlx_\(o.bits ?? 4)bit_g\(o.groupSize ?? 64)" }

  public static func fit(_ o: QuantOptions, rows: Int, cols: Int) -> Result<Self, KeepReason> {
    let g = o.groupSize ?? 64
    guard cols % g == 0 else { return .failure(KeepReason("row length \(cols) is not a multiple of the group size \(g)")) }
    let d = o.scales.flatMap { DType(rawValue: $0) } ?? .f16
    return .success(Self(rows: rows, cols: cols, bits: o.bits ?? 4, groupSize: g, scaleDType: d))
  }

  var rounding: ScaleRounding { scaleDType == .f16 ? .f16 : scaleDType == .bf16 ? .bf16 : .none }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    let s = Kernels.Scratch(cols)
    defer { s.deallocate() }
    let g = groupSize, levels = Float((1 << bits) - 1)
    for r in rows {
      let row = try Kernels.row(values, r, cols, name: name)
      for j in 0..<groupsPerRow {
        s.x.update(from: row.baseAddress! + j * g, count: g)  // audited: cols > 0
        let fit = GroupKernels.asymmetric(s.x, g, search: search, rounding: rounding, levels: levels, codes: s.codes, scratch: s.work)
        guard fit.scale.isFinite, fit.min.isFinite else { throw .outOfRange(tensor: name, row: r) }
        let gi = r * groupsPerRow + j
        store(fit.scale, base + scaleSection.lowerBound + scaleBytes * gi)
        store(fit.min, base + biasSection.lowerBound + scaleBytes * gi)
        packCodes(s.codes, count: g, firstElement: j * g, row: base + r * rowCodeBytes)
      }
    }
  }

  func store(_ v: Float, _ p: UnsafeMutableRawPointer) {
    switch scaleDType {
    case .f32: p.storeBytes(of: v.bitPattern.littleEndian, as: UInt32.self)
    case .bf16: p.storeBytes(of: FloatConversion.bfloat16Bits(v).littleEndian, as: UInt16.self)
    default: Kernels.storeF16(v, p)
    }
  }

  func load(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    switch scaleDType {
    case .f32: Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    case .bf16: Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) << 16)
    default: Kernels.f16At(p, offset)
    }
  }

  /// Writes codes (whole numbers 0…2^bits−1 as floats) into a row's bit
  /// stream. A group starts on a byte boundary: its first bit, firstElement ·
  /// bits, is a multiple of 32 · bits.
  func packCodes(_ codes: UnsafePointer<Float>, count: Int, firstElement: Int, row: UnsafeMutableRawPointer) {
    let out = (row + firstElement * bits / 8).assumingMemoryBound(to: UInt8.self)
    if bits == 8 {
      for i in 0..<count { out[i] = UInt8(codes[i]) }
      return
    }
    var acc: UInt32 = 0, filled = 0, at = 0
    for i in 0..<count {
      acc |= UInt32(codes[i]) << filled
      filled += bits
      while filled >= 8 {
        out[at] = UInt8(truncatingIfNeeded: acc)
        at += 1
        acc >>= 8
        filled -= 8
      }
    }
  }

  public func dequantizeRow(_ r: Int, payload p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    let codes = (p + r * rowCodeBytes).assumingMemoryBound(to: UInt8.self)
    let g = groupSize, mask = UInt32((1 << bits) - 1)
    let round = rounding
    for j in 0..<groupsPerRow {
      let gi = r * groupsPerRow + j
      let s = load(p, scaleSection.lowerBound + scaleBytes * gi)
      let b = load(p, biasSection.lowerBound + scaleBytes * gi)
      let start = j * g
      // With f16 or bf16 scales, q·s (≤ 8 + 11 significant bits) is exact in
      // f32, and a sum rounded to f32 then to the scale dtype is rounded once
      // (f32 has more than 2p + 2 bits): MLX's arithmetic in the scale dtype.
      switch (bits, round) {
      case (4, .none):
        for i in stride(from: start, to: start + g, by: 2) {
          let c = codes[i / 2]
          out[i] = Float(c & 0x0F) * s + b
          out[i + 1] = Float(c >> 4) * s + b
        }
      case (8, .none):
        for i in start..<(start + g) { out[i] = Float(codes[i]) * s + b }
      default:
        var bit = start * bits
        for i in start..<(start + g) {
          let byte = bit >> 3, shift = bit & 7
          var word = UInt32(codes[byte]) >> shift
          if shift + bits > 8 { word |= UInt32(codes[byte + 1]) << (8 - shift) }
          out[i] = round(round(Float(word & mask) * s) + b)
          bit += bits
        }
      }
    }
  }
}
