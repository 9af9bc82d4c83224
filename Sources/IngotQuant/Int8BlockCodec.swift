import IngotCore

/// `int8_block` (formats/ingot-v1.md §5.3): codes −127…127 with one f16
/// scale per block of 32 values (ggml's Q8_0 arithmetic, 8.5 bits per
/// weight); value = f32(code) × f32(scale).
public struct Int8BlockCodec: QuantCodec {
  public static let kind = "int8_block"
  public static let family = "int8"
  public static let blockSize = 32
  public let rows: Int
  public let cols: Int
  public var groupSize: Int { Self.blockSize }
  public var parameters: [String: JSONValue] { ["block_size": .int(Int64(Self.blockSize)), "scale_dtype": "f16"] }
  public var payloadLength: Int { rows * cols + rows * (cols / 32) * 2 }
  public var scaleStart: Int { rows * cols }

  public init(rows: Int, cols: Int) {
    self.rows = rows
    self.cols = cols
  }

  public init(parameters: [String: JSONValue], rows: Int, cols: Int) throws(LayoutError) {
    let p = ParameterReader(kind: Self.kind, parameters: parameters)
    try p.only(["block_size", "scale_dtype"])
    guard try p.int("block_size") == Self.blockSize else { throw .badParameter(kind: Self.kind, key: "block_size", allowed: "32") }
    guard try p.string("scale_dtype") == "f16" else { throw .badParameter(kind: Self.kind, key: "scale_dtype", allowed: "f16") }
    guard cols % Self.blockSize == 0 else { throw .rowLength(kind: Self.kind, cols: cols, multipleOf: Self.blockSize) }
    self.init(rows: rows, cols: cols)
  }

  public static func claims(_ o: QuantOptions) -> Bool { o.groupSize != nil }
  public static func validate(_ o: QuantOptions) throws(LayoutError) {
    guard o.groupSize == blockSize else { throw .badParameter(kind: "int8", key: "--group-size", allowed: "absent (per channel) or 32") }
  }
  public static func schemeName(_ o: QuantOptions) -> String { "int8_block32" }
  public static func fit(_ o: QuantOptions, rows: Int, cols: Int) -> Result<Self, KeepReason> {
    guard cols % blockSize == 0 else { return .failure(KeepReason("row length \(cols) is not a multiple of the group size \(blockSize)")) }
    return .success(Self(rows: rows, cols: cols))
  }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    let scratch = Kernels.Scratch(cols)
    defer { scratch.deallocate() }
    for r in rows {
      let row = try Kernels.row(values, r, cols, name: name)
      for b in 0..<(cols / 32) {
        scratch.x.update(from: row.baseAddress! + b * 32, count: 32)  // audited: cols > 0
        let s = GroupKernels.symmetric(scratch.x, 32, qmin: -127, qmax: 127, search: search, roundF16: true, codes: scratch.codes, scratch: scratch.work)
        guard s.isFinite else { throw .outOfRange(tensor: name, row: r) }
        Kernels.storeI8(scratch.codes, 32, base + r * cols + b * 32)
        Kernels.storeF16(s, base + scaleStart + 2 * (r * (cols / 32) + b))
      }
    }
  }

  public func dequantizeRow(_ r: Int, payload p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    let codes = (p + r * cols).assumingMemoryBound(to: Int8.self)
    for b in 0..<(cols / 32) {
      let s = Kernels.f16At(p, scaleStart + 2 * (r * (cols / 32) + b))
      for i in (b * 32)..<(b * 32 + 32) { out[i] = Float(codes[i]) * s }
    }
  }
}
