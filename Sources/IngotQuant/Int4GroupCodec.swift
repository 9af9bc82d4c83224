import IngotCore

/// `int4_group` (formats/ingot-v1.md §5.3): 4-bit codes in groups of 32,
/// 64 or 128 along a row, element 2i in the low nibble of byte i.
/// - symmetric: codes 0…15 meaning −8…7, one f16 scale per group;
/// - asymmetric: codes 0…15, f16 scale and f16 minimum per group;
/// - asymmetric with `q6` scales (group 32): per group a 6-bit scale and a
///   6-bit minimum magnitude in a 12-bit stream, under f16 super-scales per
///   super-block (256 values, or the whole row).
public struct Int4GroupCodec: QuantCodec {
  public static let kind = "int4_group"
  public static let family = "int4"
  public static let groupSizes = [32, 64, 128]

  public enum Scales: String, Sendable {
    case plain = "f16"
    case q6
  }

  public let rows: Int
  public let cols: Int
  public let groupSize: Int
  public let symmetric: Bool
  public let scales: Scales
  /// q6 only: values per super-block.
  public let superBlock: Int

  public init(rows: Int, cols: Int, groupSize: Int, symmetric: Bool, scales: Scales, superBlock: Int = 0) {
    self.rows = rows
    self.cols = cols
    self.groupSize = groupSize
    self.symmetric = symmetric
    self.scales = scales
    self.superBlock = superBlock
  }

  public var parameters: [String: JSONValue] {
    var p: [String: JSONValue] = [
      "group_size": .int(Int64(groupSize)), "mode": .string(symmetric ? "symmetric" : "asymmetric"), "scales": .string(scales.rawValue),
    ]
    if scales == .q6 { p["super_block"] = .int(Int64(superBlock)) }
    return p
  }

  // Sections in payload order: codes, scales (f16 per group or the q6
  // stream), then minimums (f16 per group) or the q6 super-scales (f16 d per
  // super-block, then f16 dmin per super-block).
  public var groups: Int { rows * (cols / groupSize) }
  public var superBlocks: Int { scales == .q6 ? rows * cols / superBlock : 0 }
  public var codeBytes: Int { rows * cols / 2 }
  public var scaleSection: Range<Int> { codeBytes..<(codeBytes + (scales == .q6 ? (groups * 12 + 7) / 8 : groups * 2)) }
  public var minSection: Range<Int> {
    let start = scaleSection.upperBound
    guard !symmetric else { return start..<start }
    return start..<(start + (scales == .q6 ? superBlocks * 4 : groups * 2))
  }
  public var payloadLength: Int { minSection.upperBound }

  /// An even row count when rows hold an odd number of q6 groups, so no two
  /// units of work share a byte of the 12-bit stream.
  public var chunkRows: Int {
    var n = max(1, (64 << 10) / max(cols, 1))
    if scales == .q6 && (cols / 32) % 2 == 1 && n % 2 == 1 { n += 1 }
    return n
  }

  public init(parameters: [String: JSONValue], rows: Int, cols: Int) throws(LayoutError) {
    let k = Self.kind
    let p = ParameterReader(kind: k, parameters: parameters)
    let g = try p.int("group_size")
    guard Self.groupSizes.contains(g) else { throw .badParameter(kind: k, key: "group_size", allowed: "32, 64 or 128") }
    guard cols % g == 0 else { throw .rowLength(kind: k, cols: cols, multipleOf: g) }
    let mode = try p.string("mode")
    guard mode == "symmetric" || mode == "asymmetric" else { throw .badParameter(kind: k, key: "mode", allowed: "symmetric or asymmetric") }
    guard let scales = Scales(rawValue: try p.string("scales")) else { throw .badParameter(kind: k, key: "scales", allowed: "f16 or q6") }
    var superBlock = 0
    if scales == .q6 {
      try p.only(["group_size", "mode", "scales", "super_block"])
      superBlock = try p.int("super_block")
      guard mode == "asymmetric", g == 32 else { throw .combination(kind: k, reason: "q6 scales need mode asymmetric and group_size 32") }
      guard superBlock > 0, superBlock % g == 0, cols % superBlock == 0 else {
        throw .combination(kind: k, reason: "super_block \(superBlock) must be a multiple of 32 that divides the row length \(cols)")
      }
    } else {
      try p.only(["group_size", "mode", "scales"])
    }
    self.init(rows: rows, cols: cols, groupSize: g, symmetric: mode == "symmetric", scales: scales, superBlock: superBlock)
  }

  public static func claims(_ o: QuantOptions) -> Bool { true }

  public static func normalize(_ o: QuantOptions) -> QuantOptions {
    QuantOptions(groupSize: o.groupSize ?? 32, symmetric: o.symmetric, scales: o.scales ?? "f16")
  }

  public static func validate(_ o: QuantOptions) throws(LayoutError) {
    let g = o.groupSize ?? 32
    guard groupSizes.contains(g) else { throw .badParameter(kind: "int4", key: "--group-size", allowed: "32, 64 or 128") }
    guard let s = Scales(rawValue: o.scales ?? "f16") else { throw .badParameter(kind: "int4", key: "--scales", allowed: "f16 or q6") }
    if s == .q6 && (o.symmetric || g != 32) { throw .combination(kind: "int4", reason: "--scales q6 needs --asymmetric and --group-size 32") }
  }

  public static func schemeName(_ o: QuantOptions) -> String {
    "int4_g\(o.groupSize ?? 32)_\(o.symmetric ? "sym" : "asym")_\(Scales(rawValue: o.scales ?? "f16")?.rawValue ?? "f16")"
  }

  public static func fit(_ o: QuantOptions, rows: Int, cols: Int) -> Result<Self, KeepReason> {
    let g = o.groupSize ?? 32
    guard cols % g == 0 else { return .failure(KeepReason("row length \(cols) is not a multiple of the group size \(g)")) }
    let scales = Scales(rawValue: o.scales ?? "f16") ?? .plain
    // q6: 256 values per super-block, as Q4_K, when the row allows; else the whole row.
    let superBlock = scales == .q6 ? (cols % 256 == 0 ? 256 : cols) : 0
    return .success(Self(rows: rows, cols: cols, groupSize: g, symmetric: o.symmetric, scales: scales, superBlock: superBlock))
  }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    try quantize(rows, values, search: search, importance: nil, name: name, into: base)
  }

  /// f16 scales weigh each column's error by its importance; q6's
  /// super-block search does not yet.
  public static func weighsImportance(_ o: QuantOptions) -> Bool { o.scales != Scales.q6.rawValue }

  public func quantizeRows(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, importance: UnsafeBufferPointer<Float>,
                           name: String, into base: UnsafeMutableRawPointer) throws(QuantError) {
    try quantize(rows, values, search: search, importance: scales == .plain && importance.count == cols ? importance.baseAddress : nil, name: name, into: base)
  }

  func quantize(_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>, search: Bool, importance: UnsafePointer<Float>?, name: String,
                into base: UnsafeMutableRawPointer) throws(QuantError) {
    let s = Kernels.Scratch(cols)
    defer { s.deallocate() }
    let g = groupSize
    for r in rows {
      let row = try Kernels.row(values, r, cols, name: name)
      if scales == .q6 {
        for sb in 0..<(cols / superBlock) {
          try Q6.quantizeSuperBlock(row, r, sb, layout: self, search: search, name: name, base: base, x: s.x, codes: s.codes, scratch: s.work)
        }
        continue
      }
      for j in 0..<(cols / g) {
        s.x.update(from: row.baseAddress! + j * g, count: g)  // audited: cols > 0
        let gi = r * (cols / g) + j
        let w = importance.map { $0 + j * g }
        if symmetric {
          let scale = w.map { WeightedKernels.symmetric(s.x, $0, g, qmin: -8, qmax: 7, search: search, roundF16: true, steps: 9, codes: s.codes, scratch: s.work) }
            ?? GroupKernels.symmetric(s.x, g, qmin: -8, qmax: 7, search: search, roundF16: true, codes: s.codes, scratch: s.work)
          guard scale.isFinite else { throw .outOfRange(tensor: name, row: r) }
          for i in 0..<g { s.codes[i] += 8 }
          Kernels.storeF16(scale, base + scaleSection.lowerBound + 2 * gi)
        } else {
          let fit = w.map { WeightedKernels.asymmetric(s.x, $0, g, search: search, rounding: .f16, levels: 15, nonPositiveMin: false, codes: s.codes, scratch: s.work) }
            ?? GroupKernels.asymmetric(s.x, g, search: search, rounding: .f16, codes: s.codes, scratch: s.work)
          guard fit.scale.isFinite, fit.min.isFinite else { throw .outOfRange(tensor: name, row: r) }
          Kernels.storeF16(fit.scale, base + scaleSection.lowerBound + 2 * gi)
          Kernels.storeF16(fit.min, base + minSection.lowerBound + 2 * gi)
        }
        Kernels.storeNibbles(s.codes, g, base + (r * cols + j * g) / 2)
      }
    }
  }

  /// q6: group `gi`'s scale and minimum magnitude (value = s·q − m).
  public func q6Group(_ gi: Int, payload p: UnsafeRawPointer) -> (scale: Float, min: Float) {
    let bit = gi * 12
    let b0 = UInt16(p.load(fromByteOffset: scaleSection.lowerBound + bit / 8, as: UInt8.self))
    let b1 = UInt16(p.load(fromByteOffset: scaleSection.lowerBound + bit / 8 + 1, as: UInt8.self))
    let entry = bit % 8 == 0 ? (b0 | (b1 & 0x0F) << 8) : (b0 >> 4 | b1 << 4)
    let sb = gi * groupSize / superBlock
    let d = Kernels.f16At(p, minSection.lowerBound + 2 * sb)
    let dmin = Kernels.f16At(p, minSection.lowerBound + 2 * superBlocks + 2 * sb)
    return (Float(entry & 63) * d, Float(entry >> 6) * dmin)
  }

  public func dequantizeRow(_ r: Int, payload p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    let packed = (p + r * cols / 2).assumingMemoryBound(to: UInt8.self)
    let g = groupSize
    let groupsPerRow = cols / g
    let scaleStart = scaleSection.lowerBound, minStart = minSection.lowerBound
    for j in 0..<groupsPerRow {
      let gi = r * groupsPerRow + j
      let range = (j * g)..<(j * g + g)
      switch (scales, symmetric) {
      case (.plain, true):
        let s = Kernels.f16At(p, scaleStart + 2 * gi)
        for i in stride(from: range.lowerBound, to: range.upperBound, by: 2) {
          let b = packed[i / 2]
          out[i] = (Float(b & 0x0F) - 8) * s
          out[i + 1] = (Float(b >> 4) - 8) * s
        }
      case (.plain, false):
        let s = Kernels.f16At(p, scaleStart + 2 * gi)
        let m = Kernels.f16At(p, minStart + 2 * gi)
        for i in stride(from: range.lowerBound, to: range.upperBound, by: 2) {
          let b = packed[i / 2]
          out[i] = Float(b & 0x0F) * s + m
          out[i + 1] = Float(b >> 4) * s + m
        }
      case (.q6, _):
        let (s, m) = q6Group(gi, payload: p)
        for i in stride(from: range.lowerBound, to: range.upperBound, by: 2) {
          let b = packed[i / 2]
          out[i] = s * Float(b & 0x0F) - m
          out[i + 1] = s * Float(b >> 4) - m
        }
      }
    }
  }
}
