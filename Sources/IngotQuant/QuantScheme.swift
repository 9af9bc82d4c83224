import IngotContainer

/// What `ingot quantize --scheme ...` asks for. A scheme becomes a concrete
/// `QuantLayout` per tensor, or a reason the tensor keeps its precision.
public struct QuantScheme: Equatable, Sendable {
  public var kind: QuantLayout.Kind
  public var groupSize: Int
  public var symmetric: Bool
  public var scales: QuantLayout.ScaleFormat
  /// Error-minimizing scale search (default) or plain round-to-nearest.
  public var search: Bool

  public init(kind: QuantLayout.Kind, groupSize: Int, symmetric: Bool, scales: QuantLayout.ScaleFormat, search: Bool) {
    self.kind = kind
    self.groupSize = groupSize
    self.symmetric = symmetric
    self.scales = scales
    self.search = search
  }

  public static func int8Channel(search: Bool = true) -> QuantScheme {
    QuantScheme(kind: .int8Channel, groupSize: 0, symmetric: true, scales: .plain, search: search)
  }
  public static func int8Block(search: Bool = true) -> QuantScheme {
    QuantScheme(kind: .int8Block, groupSize: 32, symmetric: true, scales: .plain, search: search)
  }
  /// The default int4 (`--scheme int4`): asymmetric, group 32, f16 scale and
  /// minimum (5 bits per weight): the fastest to search (≈ 320 MB/s a core)
  /// of the layouts above 22.8 dB on MiniLM. q6 (4.47 bits) is smaller and
  /// quantizes at ≈ 250 MB/s (BENCHMARKS.md).
  public static func int4(groupSize: Int = 32, symmetric: Bool = false, scales: QuantLayout.ScaleFormat = .plain, search: Bool = true) -> QuantScheme {
    QuantScheme(kind: .int4Group, groupSize: groupSize, symmetric: symmetric, scales: scales, search: search)
  }

  /// A short name for tables: int8_channel, int8_block32, int4_g32_asym_q6 ...
  public var name: String {
    switch kind {
    case .int8Channel: return "int8_channel"
    case .int8Block: return "int8_block32"
    case .int4Group: return "int4_g\(groupSize)_\(symmetric ? "sym" : "asym")_\(scales.rawValue)"
    }
  }

  /// The layout this scheme gives a tensor, or why the tensor cannot take it.
  public func layout(dtype: DType, shape: [Int]) -> Result<QuantLayout, KeepReason> {
    guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else { return .failure(.init("dtype \(dtype.rawValue) is not f32, f16 or bf16")) }
    guard shape.count >= 2 else { return .failure(.init("rank \(shape.count): only matrices (rank ≥ 2) are quantized")) }
    guard let count = elementCount(shape), count > 0 else { return .failure(.init("empty tensor")) }
    let rows = shape[0]
    let cols = count / rows
    switch kind {
    case .int8Channel:
      return .success(QuantLayout(kind: kind, rows: rows, cols: cols, groupSize: cols, symmetric: true, scales: .plain, superBlock: 0))
    case .int8Block, .int4Group:
      guard cols % groupSize == 0 else { return .failure(.init("row length \(cols) is not a multiple of the group size \(groupSize)")) }
      var superBlock = 0
      if scales == .q6 {
        // 256 values per super-block, as Q4_K, when the row allows; else the whole row.
        superBlock = cols % 256 == 0 ? 256 : cols
      }
      return .success(QuantLayout(kind: kind, rows: rows, cols: cols, groupSize: groupSize, symmetric: symmetric, scales: scales, superBlock: superBlock))
    }
  }

  /// Parameters recorded in provenance.
  public var parameters: [String: JSONValue] {
    var p: [String: JSONValue] = ["scheme": .string(name), "search": .bool(search)]
    if kind != .int8Channel { p["group_size"] = .int(Int64(groupSize)) }
    return p
  }
}

public struct KeepReason: Error, Equatable, Sendable, CustomStringConvertible {
  public let reason: String
  public init(_ reason: String) { self.reason = reason }
  public var description: String { reason }
}
