import IngotCore

/// What `ingot quantize --scheme …` asks for: a codec (by kind), its options
/// and whether to search. It becomes a codec value per tensor, or a reason
/// the tensor keeps its precision.
public struct QuantScheme: Equatable, Sendable {
  public var kind: String
  public var options: QuantOptions
  /// Error-minimizing scale search (default) or plain round-to-nearest.
  public var search: Bool

  /// Picks and checks the codec for a `--scheme` family and its flags.
  public init(family: String, options: QuantOptions, search: Bool) throws(LayoutError) {
    var options = options
    if QuantCodecs.all.contains(where: { $0.families.count > 1 && $0.families.contains(family) }) { options.variant = family }
    guard let codec = QuantCodecs.all.first(where: { $0.families.contains(family) && $0.claims(options) }) else {
      throw .unknownEncoding(family)
    }
    try codec.validate(options)
    self.init(kind: codec.kind, options: codec.normalize(options), search: search)
  }

  init(kind: String, options: QuantOptions, search: Bool) {
    self.kind = kind
    self.options = options
    self.search = search
  }

  public static func int8Channel(search: Bool = true) -> QuantScheme {
    QuantScheme(kind: Int8ChannelCodec.kind, options: QuantOptions(), search: search)
  }
  public static func int8Block(search: Bool = true) -> QuantScheme {
    QuantScheme(kind: Int8BlockCodec.kind, options: QuantOptions(groupSize: 32), search: search)
  }
  /// The default int4 (`--scheme int4`): asymmetric, group 32, f16 scale and
  /// minimum (5 bits per weight): the fastest to search (≈ 320 MB/s a core)
  /// of the layouts above 22.8 dB on MiniLM. q6 (4.47 bits) is smaller and
  /// quantizes at ≈ 250 MB/s (BENCHMARKS.md).
  public static func int4(groupSize: Int = 32, symmetric: Bool = false, scales: Int4GroupCodec.Scales = .plain, search: Bool = true) -> QuantScheme {
    QuantScheme(kind: Int4GroupCodec.kind, options: QuantOptions(groupSize: groupSize, symmetric: symmetric, scales: scales.rawValue), search: search)
  }

  /// `kind` is always a registered one: the only initializers take it from
  /// the registry or from a codec type.
  public var codec: any QuantCodec.Type { QuantCodecs.codec(kind: kind) ?? Int8ChannelCodec.self }

  /// A short name for tables: int8_channel, int8_block32, int4_g32_asym_q6 ...
  public var name: String { codec.schemeName(options) }

  /// The codec this scheme gives a tensor, or why the tensor cannot take it.
  public func layout(dtype: DType, shape: [Int]) -> Result<any QuantCodec, KeepReason> {
    guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else { return .failure(.init("dtype \(dtype.rawValue) is not f32, f16 or bf16")) }
    guard shape.count >= 2 else { return .failure(.init("rank \(shape.count): only matrices (rank ≥ 2) are quantized")) }
    guard let count = elementCount(shape), count > 0 else { return .failure(.init("empty tensor")) }
    // mlx keeps its scales in the tensor's dtype unless told otherwise.
    var options = self.options
    if kind == MLXAffineCodec.kind && options.scales == nil { options.scales = dtype.rawValue }
    func fit<C: QuantCodec>(_ c: C.Type) -> Result<any QuantCodec, KeepReason> {
      c.fit(options, rows: shape[0], cols: count / shape[0]).map { $0 }
    }
    return fit(codec)
  }

  /// Parameters recorded in provenance.
  public var parameters: [String: JSONValue] {
    var p: [String: JSONValue] = ["scheme": .string(name), "search": .bool(search)]
    if let g = options.groupSize { p["group_size"] = .int(Int64(g)) }
    if let b = options.bits { p["bits"] = .int(Int64(b)) }
    if let v = options.variant { p["type"] = .string(v) }
    if options.hqq { p["fit"] = "hqq" }
    return p
  }
}
