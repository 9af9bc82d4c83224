import IngotCore

/// One quantized encoding (formats/ingot-v1.md §5.3), in one file: its
/// layout for one tensor, its parameters parsed and checked, and its row
/// kernels. A value is the encoding of one tensor, a `rows × cols` view
/// (rows: the first dimension; cols: the product of the others).
///
/// Adding a scheme: a new conforming type, its line in `QuantCodecs.all`,
/// its section in the spec and its reader in tools/ingot_read.py.
public protocol QuantCodec: Sendable {
  /// The encoding's `kind` in headers and `required_features`.
  static var kind: String { get }
  /// The `--scheme` value that selects it (several codecs may share one; `claims` decides).
  static var family: String { get }
  /// Every `--scheme` value it answers (a codec of many types has one each;
  /// the chosen one reaches `claims` as `QuantOptions.variant`).
  static var families: [String] { get }
  /// Whether these scheme options (with `family`) mean this codec.
  static func claims(_ options: QuantOptions) -> Bool
  /// Checks scheme options before any tensor is read (the CLI calls it).
  static func validate(_ options: QuantOptions) throws(LayoutError)
  /// The options with this codec's defaults filled in (recorded in provenance).
  static func normalize(_ options: QuantOptions) -> QuantOptions
  /// The scheme's short name in tables and provenance (int8_channel, int4_g32_asym_q6 …).
  static func schemeName(_ options: QuantOptions) -> String
  /// The layout the options give a `rows × cols` tensor, or why it keeps its precision.
  static func fit(_ options: QuantOptions, rows: Int, cols: Int) -> Result<Self, KeepReason>
  /// Reads and checks a header's encoding parameters for a tensor.
  init(parameters: [String: JSONValue], rows: Int, cols: Int) throws(LayoutError)

  var rows: Int { get }
  var cols: Int { get }
  /// Values that share one scale (a whole row for per-channel scales).
  var groupSize: Int { get }
  var parameters: [String: JSONValue] { get }
  /// Bytes of the whole payload.
  var payloadLength: Int { get }
  /// Rows per unit of parallel work: no two units share a payload byte.
  var chunkRows: Int { get }

  /// Quantizes `rows` of `values` (row-major, cols each) into `payload`.
  func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, name: String, into payload: UnsafeMutableRawPointer) throws(QuantError)
  /// Whether `quantizeRows(…importance:…)` uses the importances under these options.
  static func weighsImportance(_ options: QuantOptions) -> Bool
  /// quantizeRows with each column's importance (a layer input's E[x²]):
  /// codecs whose search can weight its error by it say `weighsImportance`.
  func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, importance: UnsafeBufferPointer<Float>,
                    name: String, into payload: UnsafeMutableRawPointer) throws(QuantError)
  /// Row `r` as f32, with exactly the spec's arithmetic.
  func dequantizeRow(_ r: Int, payload: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>)
}

extension QuantCodec {
  public static var families: [String] { [family] }
  public static func weighsImportance(_ options: QuantOptions) -> Bool { false }
  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, importance: UnsafeBufferPointer<Float>,
                           name: String, into payload: UnsafeMutableRawPointer) throws(QuantError) {
    try quantizeRows(rows, values, search: search, name: name, into: payload)
  }
  public static func normalize(_ options: QuantOptions) -> QuantOptions { options }
  public var kind: String { Self.kind }
  public var encoding: Encoding { Encoding(kind: Self.kind, parameters: parameters) }
  public var bitsPerWeight: Double { rows * cols == 0 ? 0 : Double(payloadLength * 8) / Double(rows * cols) }
  /// About 64 K values per unit of work.
  public var chunkRows: Int { max(1, (64 << 10) / max(cols, 1)) }
}

/// What `--scheme` and its flags ask for, before any tensor is seen.
public struct QuantOptions: Equatable, Sendable {
  public var groupSize: Int?
  public var symmetric: Bool
  /// Scale storage: "f16" (default) or "q6"; for mlx, the scale dtype
  /// (f16, bf16 or f32; by default the tensor's own dtype, as mlx-lm stores them).
  public var scales: String?
  /// Code width, for schemes that have several (mlx).
  public var bits: Int?
  /// The `--scheme` value, for a codec that answers several (ggml: q4_k …).
  public var variant: String?
  /// HQQ's data-free zero-point fit instead of the squared-error search
  /// (ggml's affine types: `--method hqq`).
  public var hqq = false
  public init(groupSize: Int? = nil, symmetric: Bool = false, scales: String? = nil, bits: Int? = nil, variant: String? = nil) {
    self.variant = variant
    self.groupSize = groupSize
    self.symmetric = symmetric
    self.scales = scales
    self.bits = bits
  }
}

/// The registry: every encoding by kind.
public enum QuantCodecs {
  public static let all: [any QuantCodec.Type] = [Int8ChannelCodec.self, Int8BlockCodec.self, Int4GroupCodec.self, MLXAffineCodec.self, GGMLBlockCodec.self]

  public static func codec(kind: String) -> (any QuantCodec.Type)? { all.first { $0.kind == kind } }

  public static var kinds: [String] { all.map { $0.kind } }

  /// The `--scheme` values, in registry order.
  public static var families: [String] {
    var seen: [String] = []
    for c in all { for f in c.families where !seen.contains(f) { seen.append(f) } }
    return seen
  }

  /// The codec a tensor's header encoding names, checked against its dtype
  /// and shape; nil for `raw`.
  public static func layout(_ encoding: Encoding, dtype: DType, shape: [Int]) throws(LayoutError) -> (any QuantCodec)? {
    if encoding.isRaw { return nil }
    guard let type = codec(kind: encoding.kind) else { throw .unknownEncoding(encoding.kind) }
    guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else { throw .logicalDType(kind: encoding.kind, dtype: dtype.rawValue) }
    guard shape.count >= 2, let count = elementCount(shape), count > 0, shape[0] > 0 else { throw .shape(kind: encoding.kind, shape: shape) }
    // A header may declare any shape: below 2^56 values every section's
    // size arithmetic (at most 4 bytes a value) stays far from overflow.
    guard count < 1 << 56 else { throw .shape(kind: encoding.kind, shape: shape) }
    let rows = shape[0], cols = count / rows
    return try type.init(parameters: encoding.parameters, rows: rows, cols: cols)
  }
}

/// Why an encoding's parameters do not fit a tensor. One case per check.
public enum LayoutError: Error, Equatable, Sendable, CustomStringConvertible {
  case unknownEncoding(String)
  case logicalDType(kind: String, dtype: String)
  case shape(kind: String, shape: [Int])
  case missingParameter(kind: String, key: String)
  case unknownParameter(kind: String, key: String)
  case badParameter(kind: String, key: String, allowed: String)
  case rowLength(kind: String, cols: Int, multipleOf: Int)
  case combination(kind: String, reason: String)

  public var description: String {
    switch self {
    case .unknownEncoding(let k): "unknown encoding '\(k)'"
    case .logicalDType(let k, let d): "\(k) needs a logical dtype of f32, f16 or bf16, not \(d)"
    case .shape(let k, let s): "\(k) needs a non-empty tensor of rank 2 or more whose size fits, not \(s)"
    case .missingParameter(let k, let key): "\(k): missing parameter '\(key)'"
    case .unknownParameter(let k, let key): "\(k): unknown parameter '\(key)'"
    case .badParameter(let k, let key, let allowed): "\(k): \(key) must be \(allowed)"
    case .rowLength(let k, let cols, let m): "\(k): row length \(cols) is not a multiple of \(m)"
    case .combination(let k, let r): "\(k): \(r)"
    }
  }

  var reason: String { description }
}

/// Why a tensor keeps its precision under a scheme.
public struct KeepReason: Error, Equatable, Sendable, CustomStringConvertible {
  public let reason: String
  public init(_ reason: String) { self.reason = reason }
  public var description: String { reason }
}

/// Reading a header's parameters, for the codecs' initializers.
struct ParameterReader {
  let kind: String
  let parameters: [String: JSONValue]

  func int(_ key: String) throws(LayoutError) -> Int {
    guard let v = parameters[key]?.intValue, let i = Int(exactly: v) else { throw .missingParameter(kind: kind, key: key) }
    return i
  }

  func string(_ key: String) throws(LayoutError) -> String {
    guard let v = parameters[key]?.stringValue else { throw .missingParameter(kind: kind, key: key) }
    return v
  }

  func only(_ keys: Set<String>) throws(LayoutError) {
    for key in parameters.keys.sorted() where !keys.contains(key) { throw .unknownParameter(kind: kind, key: key) }
  }
}
