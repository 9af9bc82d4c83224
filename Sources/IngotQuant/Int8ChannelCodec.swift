import IngotCore

/// `int8_channel` (formats/ingot-v1.md §5.3): codes −127…127, one f32
/// scale per row; value = f32(code) × scale.
public struct Int8ChannelCodec: QuantCodec {
  public static let kind = "int8_channel"
  public static let family = "int8"
  public let rows: Int
  public let cols: Int
  public var groupSize: Int { cols }
  public var parameters: [String: JSONValue] { ["scale_dtype": "f32"] }
  public var payloadLength: Int { rows * cols + rows * 4 }
  var scaleStart: Int { rows * cols }

  public init(rows: Int, cols: Int) {
    self.rows = rows
    self.cols = cols
  }

  public init(parameters: [String: JSONValue], rows: Int, cols: Int) throws(LayoutError) {
    let p = ParameterReader(kind: Self.kind, parameters: parameters)
    try p.only(["scale_dtype"])
    guard try p.string("scale_dtype") == "f32" else { throw .badParameter(kind: Self.kind, key: "scale_dtype", allowed: "f32") }
    self.init(rows: rows, cols: cols)
  }

  public static func claims(_ o: QuantOptions) -> Bool { o.groupSize == nil }
  public static func validate(_ o: QuantOptions) throws(LayoutError) {}
  public static func schemeName(_ o: QuantOptions) -> String { "int8_channel" }
  public static func fit(_ o: QuantOptions, rows: Int, cols: Int) -> Result<Self, KeepReason> { .success(Self(rows: rows, cols: cols)) }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    let codes = UnsafeMutablePointer<Float>.allocate(capacity: cols + 8)
    let trial = UnsafeMutablePointer<Float>.allocate(capacity: cols + 8)
    defer { codes.deallocate(); trial.deallocate() }
    for r in rows {
      let row = try Kernels.row(values, r, cols, name: name)
      let scale = Kernels.int8Row(row, search: search, codes: codes, trial: trial)
      Kernels.storeI8(scale.codes, cols, base + r * cols)
      (base + scaleStart + 4 * r).storeBytes(of: scale.scale.bitPattern.littleEndian, as: UInt32.self)
    }
  }

  public func dequantizeRow(_ r: Int, payload p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    let s = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: scaleStart + 4 * r, as: UInt32.self)))
    let codes = (p + r * cols).assumingMemoryBound(to: Int8.self)
    for i in 0..<cols { out[i] = Float(codes[i]) * s }
  }
}
