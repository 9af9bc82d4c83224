/// Unicode general categories and White_Space for every scalar, from the
/// Swift standard library's Unicode data, in one table built on first use
/// (1.1 MB; the regexes and normalizers look scalars up in their hot loops).
enum UnicodeTable {
  /// Category bit masks: one bit per general category.
  typealias Mask = UInt32

  /// Bit index per category, in a fixed order.
  static let categories: [Unicode.GeneralCategory] = [
    .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
    .nonspacingMark, .spacingMark, .enclosingMark,
    .decimalNumber, .letterNumber, .otherNumber,
    .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation,
    .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
    .spaceSeparator, .lineSeparator, .paragraphSeparator,
    .control, .format, .surrogate, .privateUse, .unassigned,
  ]

  static let codes: [String: Mask] = {
    let names = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
                 "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"]
    var out: [String: Mask] = [:]
    for (i, n) in names.enumerated() { out[n] = 1 << Mask(i) }
    for group in ["L", "M", "N", "P", "S", "Z", "C"] {
      out[group] = names.enumerated().filter { $0.element.hasPrefix(group) }.reduce(0) { $0 | 1 << Mask($1.offset) }
    }
    let long: [String: String] = ["Letter": "L", "Mark": "M", "Number": "N", "Punctuation": "P", "Symbol": "S", "Separator": "Z", "Other": "C",
                                   "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll", "Decimal_Number": "Nd"]
    for (k, v) in long { out[k] = out[v] }
    return out
  }()

  /// Per scalar: category index (low 5 bits), 0x20 = White_Space, 0x40 = a
  /// valid scalar (not a surrogate code point).
  static let table: [UInt8] = {
    var t = [UInt8](repeating: 29, count: 0x110000)  // Cn
    var index: [Unicode.GeneralCategory: UInt8] = [:]
    for (i, c) in categories.enumerated() { index[c] = UInt8(i) }
    for u in 0..<UInt32(0x110000) {
      guard let s = Unicode.Scalar(u) else {
        t[Int(u)] = 27  // Cs
        continue
      }
      let p = s.properties
      t[Int(u)] = (index[p.generalCategory] ?? 29) | (p.isWhitespace ? 0x20 : 0) | 0x40
    }
    return t
  }()

  @inline(__always) static func mask(_ u: UInt32) -> Mask {
    u < 0x110000 ? 1 << Mask(table[Int(u)] & 0x1F) : 1 << 29
  }

  @inline(__always) static func isWhitespace(_ u: UInt32) -> Bool { u < 0x110000 && table[Int(u)] & 0x20 != 0 }

  /// A mask by its name in `codes` (0 for a name the table lacks).
  static func named(_ n: String) -> Mask { codes[n] ?? 0 }

  static let letter = named("L"), number = named("N"), mark = named("M"), punctuation = named("P"), symbol = named("S")
  static let control = named("Cc"), format = named("Cf"), nonspacingMark = named("Mn")
  static let other = named("C"), decimal = named("Nd"), connector = named("Pc")

  /// Simple lowercase for the BMP; 0xFFFFFFFF where the mapping is not one
  /// scalar (İ → i̇), which callers look up in full.
  static let lowerBMP: [UInt32] = (0..<UInt32(0x10000)).map { u in
    guard let s = Unicode.Scalar(u) else { return u }
    let m = Array(s.properties.lowercaseMapping.unicodeScalars)
    return m.count == 1 ? m[0].value : 0xFFFF_FFFF
  }

  /// Canonical combining class, BMP and beyond, from the standard library.
  @inline(__always) static func combiningClass(_ u: UInt32) -> UInt8 {
    guard u >= 0x300, let s = Unicode.Scalar(u) else { return 0 }
    return s.properties.canonicalCombiningClass.rawValue
  }
}
