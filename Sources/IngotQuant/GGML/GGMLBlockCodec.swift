import IngotCore

/// `ggml` (formats/ingot-v1.md §5.3): a tensor in ggml's own block bytes,
/// exactly as a GGUF file stores them, so its payload digest is the
/// SHA-256 an auditor computes over the vendor's tensor data. Parameter
/// `type` names the block type (gguf-py's spelling: Q4_K, IQ4_XS …); rows
/// hold whole blocks. Dequantization is ggml's `dequantize_row_*`
/// (GGMLDequant); `--scheme q4_k` and its siblings quantize into the same
/// layouts (GGMLQuantize).
public struct GGMLBlockCodec: QuantCodec {
  public static let kind = "ggml"
  public static let family = "q4_k"
  /// One `--scheme` per type ggml quantizes into.
  public static var families: [String] { GGMLQuantize.quantizable.map { $0.description.lowercased() } }
  public let type: GGMLType
  /// Fit with HQQ (GGMLQuantize.hqqTypes); not stored: the bytes say all a reader needs.
  public var hqq = false
  public let rows: Int
  public let cols: Int
  public var groupSize: Int { type.block.elements }
  public var parameters: [String: JSONValue] { ["type": .string(type.description)] }
  public var rowBytes: Int { cols / type.block.elements * type.block.bytes }
  public var payloadLength: Int { rows * rowBytes }

  public init(type: GGMLType, rows: Int, cols: Int) {
    self.type = type
    self.rows = rows
    self.cols = cols
  }

  public init(parameters: [String: JSONValue], rows: Int, cols: Int) throws(LayoutError) {
    let p = ParameterReader(kind: Self.kind, parameters: parameters)
    try p.only(["type"])
    let name = try p.string("type")
    guard let type = GGMLType(name: name), type.isBlock else {
      throw .badParameter(kind: Self.kind, key: "type", allowed: "a ggml block type (\(GGMLType.allCases.filter(\.isBlock).map(\.description).joined(separator: ", ")))")
    }
    guard cols % type.block.elements == 0 else { throw .rowLength(kind: "\(Self.kind) \(name)", cols: cols, multipleOf: type.block.elements) }
    self.init(type: type, rows: rows, cols: cols)
  }

  static func type(_ o: QuantOptions) -> GGMLType? {
    guard let v = o.variant, let t = GGMLQuantize.quantizable.first(where: { $0.description.lowercased() == v }) else { return nil }
    return t
  }

  public static func claims(_ o: QuantOptions) -> Bool { type(o) != nil }
  public static func validate(_ o: QuantOptions) throws(LayoutError) {
    guard type(o) != nil else { throw .unknownEncoding(o.variant ?? "ggml") }
    guard o.groupSize == nil else { throw .badParameter(kind: o.variant ?? "ggml", key: "--group-size", allowed: "absent (ggml types have fixed blocks)") }
    guard o.scales == nil, o.bits == nil, !o.symmetric else {
      throw .combination(kind: o.variant ?? "ggml", reason: "ggml types have fixed layouts: no --scales, --bits or --symmetric")
    }
    if o.hqq, let t = type(o), !GGMLQuantize.hqqTypes.contains(t) {
      throw .combination(kind: o.variant ?? "ggml", reason: "HQQ fits an affine zero point: Q4_1, Q5_1, Q4_K or Q5_K")
    }
  }
  public static func schemeName(_ o: QuantOptions) -> String { type(o)?.description ?? "ggml" }
  public static func fit(_ o: QuantOptions, rows: Int, cols: Int) -> Result<Self, KeepReason> {
    guard let t = type(o) else { return .failure(KeepReason("no ggml type")) }
    guard cols % t.block.elements == 0 else {
      return .failure(KeepReason("row length \(cols) is not a multiple of \(t)'s block of \(t.block.elements)"))
    }
    var codec = Self(type: t, rows: rows, cols: cols)
    codec.hqq = o.hqq && GGMLQuantize.hqqTypes.contains(t)
    return .success(codec)
  }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    try quantize(rows, values, search: search, importance: nil, name: name, into: base)
  }

  public static func weighsImportance(_ options: QuantOptions) -> Bool { true }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, importance: UnsafeBufferPointer<Float>,
                           name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    try quantize(rows, values, search: search, importance: importance.count == cols ? importance.baseAddress : nil, name: name, into: base)
  }

  func quantize(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, importance: UnsafePointer<Float>?, name: String,
                into base: UnsafeMutableRawPointer) throws(QuantError) {
    let scratch = GGMLQuantize.Scratch()
    defer { scratch.deallocate() }
    for r in rows {
      let row = try Kernels.row(values, r, cols, name: name)
      guard GGMLQuantize.row(type, row.baseAddress!, cols, search: search, importance: importance, hqq: hqq, scratch, into: base + r * rowBytes) else {  // audited: cols > 0
        throw .outOfRange(tensor: name, row: r)
      }
    }
  }

  public func dequantizeRow(_ r: Int, payload p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    GGMLDequant.dequantize(type, UnsafeRawBufferPointer(start: p + r * rowBytes, count: rowBytes), count: cols, into: out)
  }
}
