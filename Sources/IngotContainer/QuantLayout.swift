/// Where the sections of a quantized payload lie (formats/ingot-v1.md §5.3).
/// The container module owns this so that a reader can check a quantized
/// tensor's length before touching its data; IngotQuant fills and reads the
/// sections.
public struct QuantLayout: Equatable, Sendable {
  public enum Kind: String, Sendable, CaseIterable {
    case int8Channel = "int8_channel"
    case int8Block = "int8_block"
    case int4Group = "int4_group"
  }

  public enum ScaleFormat: String, Sendable {
    /// One f32 (int8_channel) or f16 (others) scale, and for asymmetric int4
    /// one f16 minimum, per row/block/group.
    case plain = "f16"
    /// int4 asymmetric, group 32: per group a 6-bit scale and a 6-bit minimum
    /// (as a magnitude: the minimum is ≤ 0) under an f16 super-scale and
    /// super-minimum per super-block.
    case q6 = "q6"
  }

  public var kind: Kind
  /// Rows of the 2-D view: the first dimension.
  public var rows: Int
  /// Columns: the product of the other dimensions.
  public var cols: Int
  /// Values sharing one scale along a row (cols for int8_channel).
  public var groupSize: Int
  public var symmetric: Bool
  public var scales: ScaleFormat
  /// int4 q6 only: values per super-block.
  public var superBlock: Int

  /// Byte ranges of the sections, in payload order.
  public var codes: Range<Int> { 0..<codeBytes }
  public var codeBytes: Int { kind == .int4Group ? rows * cols / 2 : rows * cols }
  public var groups: Int { rows * (cols / groupSize) }
  public var superBlocks: Int { scales == .q6 ? rows * cols / superBlock : 0 }

  /// Scales: f32 per row (int8_channel), f16 per group, or the q6 bit stream.
  public var scaleSection: Range<Int> {
    let n: Int
    switch (kind, scales) {
    case (.int8Channel, _): n = rows * 4
    case (_, .plain): n = groups * 2
    case (_, .q6): n = (groups * 12 + 7) / 8
    }
    return codes.upperBound..<(codes.upperBound + n)
  }

  /// Minimums (asymmetric plain int4: f16 per group) or the q6 super-scales
  /// (f16 d per super-block, then f16 dmin per super-block); empty otherwise.
  public var minSection: Range<Int> {
    let start = scaleSection.upperBound
    if kind == .int4Group && !symmetric { return start..<(start + (scales == .q6 ? superBlocks * 4 : groups * 2)) }
    return start..<start
  }

  public var payloadLength: Int { minSection.upperBound }

  public var bitsPerWeight: Double { rows * cols == 0 ? 0 : Double(payloadLength * 8) / Double(rows * cols) }

  public init(kind: Kind, rows: Int, cols: Int, groupSize: Int, symmetric: Bool, scales: ScaleFormat, superBlock: Int) {
    self.kind = kind
    self.rows = rows
    self.cols = cols
    self.groupSize = groupSize
    self.symmetric = symmetric
    self.scales = scales
    self.superBlock = superBlock
  }

  public var encoding: Encoding {
    switch kind {
    case .int8Channel:
      return Encoding(kind: kind.rawValue, parameters: ["scale_dtype": "f32"])
    case .int8Block:
      return Encoding(kind: kind.rawValue, parameters: ["block_size": .int(Int64(groupSize)), "scale_dtype": "f16"])
    case .int4Group:
      var p: [String: JSONValue] = [
        "group_size": .int(Int64(groupSize)), "mode": .string(symmetric ? "symmetric" : "asymmetric"),
        "scales": .string(scales.rawValue),
      ]
      if scales == .q6 { p["super_block"] = .int(Int64(superBlock)) }
      return Encoding(kind: kind.rawValue, parameters: p)
    }
  }

  /// Validates `encoding` against the tensor's dtype and shape. Returns nil
  /// for `raw`; throws a reason for anything inconsistent.
  public static func parse(_ encoding: Encoding, dtype: DType, shape: [Int]) throws(LayoutError) -> QuantLayout? {
    if encoding.isRaw { return nil }
    guard let kind = Kind(rawValue: encoding.kind) else { throw LayoutError("unknown encoding '\(encoding.kind)'") }
    guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else {
      throw LayoutError("\(encoding.kind) needs a logical dtype of f32, f16 or bf16, not \(dtype.rawValue)")
    }
    guard shape.count >= 2, let count = elementCount(shape), count > 0, shape[0] > 0 else {
      throw LayoutError("\(encoding.kind) needs a non-empty tensor of rank 2 or more")
    }
    let rows = shape[0]
    let cols = count / rows
    let p = encoding.parameters
    func int(_ key: String) throws(LayoutError) -> Int {
      guard let v = p[key]?.intValue else { throw LayoutError("\(encoding.kind): missing integer '\(key)'") }
      return Int(v)
    }
    func string(_ key: String) throws(LayoutError) -> String {
      guard let v = p[key]?.stringValue else { throw LayoutError("\(encoding.kind): missing string '\(key)'") }
      return v
    }
    func only(_ keys: Set<String>) throws(LayoutError) {
      for key in p.keys where !keys.contains(key) { throw LayoutError("\(encoding.kind): unknown parameter '\(key)'") }
    }
    let layout: QuantLayout
    switch kind {
    case .int8Channel:
      try only(["scale_dtype"])
      guard try string("scale_dtype") == "f32" else { throw LayoutError("int8_channel: scale_dtype must be f32") }
      layout = QuantLayout(kind: kind, rows: rows, cols: cols, groupSize: cols, symmetric: true, scales: .plain, superBlock: 0)
    case .int8Block:
      try only(["block_size", "scale_dtype"])
      let b = try int("block_size")
      guard b == 32, try string("scale_dtype") == "f16" else { throw LayoutError("int8_block: block_size must be 32 and scale_dtype f16") }
      guard cols % b == 0 else { throw LayoutError("int8_block: row length \(cols) is not a multiple of \(b)") }
      layout = QuantLayout(kind: kind, rows: rows, cols: cols, groupSize: b, symmetric: true, scales: .plain, superBlock: 0)
    case .int4Group:
      let g = try int("group_size")
      guard [32, 64, 128].contains(g) else { throw LayoutError("int4_group: group_size must be 32, 64 or 128") }
      guard cols % g == 0 else { throw LayoutError("int4_group: row length \(cols) is not a multiple of \(g)") }
      let mode = try string("mode")
      guard mode == "symmetric" || mode == "asymmetric" else { throw LayoutError("int4_group: mode must be symmetric or asymmetric") }
      guard let scales = ScaleFormat(rawValue: try string("scales")) else { throw LayoutError("int4_group: scales must be f16 or q6") }
      var superBlock = 0
      if scales == .q6 {
        try only(["group_size", "mode", "scales", "super_block"])
        superBlock = try int("super_block")
        guard mode == "asymmetric", g == 32 else { throw LayoutError("int4_group: q6 scales need mode asymmetric and group_size 32") }
        guard superBlock > 0, superBlock % g == 0, cols % superBlock == 0 else {
          throw LayoutError("int4_group: super_block \(superBlock) must be a multiple of 32 that divides the row length \(cols)")
        }
      } else {
        try only(["group_size", "mode", "scales"])
      }
      layout = QuantLayout(kind: kind, rows: rows, cols: cols, groupSize: g, symmetric: mode == "symmetric", scales: scales, superBlock: superBlock)
    }
    return layout
  }
}

public struct LayoutError: Error, Equatable, Sendable {
  public let reason: String
  public init(_ reason: String) { self.reason = reason }
}
