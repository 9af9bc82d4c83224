import Foundation

/// tokenizer.json's `normalizer`, applied to scalars before pre-tokenizing.
indirect enum Normalizer: Sendable {
  case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
  case nfc, nfd, nfkc, nfkd
  case lowercase
  case stripAccents
  case strip(left: Bool, right: Bool)
  case replace(Pattern, String)
  case replaceLiteral([UInt32], [UInt32])
  case prepend([UInt32])
  case sequence([Normalizer])

  func apply(_ s: [UInt32]) -> [UInt32] {
    switch self {
    case .bert(let clean, let chinese, let strip, let lower):
      var out: [UInt32] = []
      out.reserveCapacity(s.count)
      let other = UnicodeTable.other
      for c in s {
        if clean {
          if c == 0 || c == 0xFFFD || (c != 9 && c != 10 && c != 13 && UnicodeTable.mask(c) & other != 0) { continue }
          if c == 9 || c == 10 || c == 13 || UnicodeTable.isWhitespace(c) { out.append(0x20); continue }
        }
        if chinese && Self.isChinese(c) {
          out += [0x20, c, 0x20]
          continue
        }
        out.append(c)
      }
      if strip { out = Self.stripMarks(Self.nfd(out)) }
      if lower { out = Self.lower(out) }
      return out
    case .nfc: return Self.unicode(s, \.precomposedStringWithCanonicalMapping)
    case .nfd: return Self.nfd(s)
    case .nfkc: return Self.unicode(s, \.precomposedStringWithCompatibilityMapping)
    case .nfkd: return Self.unicode(s, \.decomposedStringWithCompatibilityMapping)
    case .lowercase: return Self.lower(s)
    case .stripAccents: return Self.stripMarks(s)
    case .strip(let left, let right):
      var a = 0, b = s.count
      if left { while a < b && UnicodeTable.isWhitespace(s[a]) { a += 1 } }
      if right { while b > a && UnicodeTable.isWhitespace(s[b - 1]) { b -= 1 } }
      return Array(s[a..<b])
    case .replace(let p, let content):
      let with = content.unicodeScalars.map(\.value)
      return s.withUnsafeBufferPointer { buf in
        var out: [UInt32] = [], at = 0
        for m in p.matches(buf, in: 0..<s.count) {
          out += s[at..<m.lowerBound]
          out += with
          at = m.upperBound
        }
        return out + s[at...]
      }
    case .replaceLiteral(let what, let with): return Self.replace(s, what, with)
    case .prepend(let p): return s.isEmpty ? s : p + s
    case .sequence(let all): return all.reduce(s) { $1.apply($0) }
    }
  }

  static func isChinese(_ c: UInt32) -> Bool {
    (0x4E00...0x9FFF).contains(c) || (0x3400...0x4DBF).contains(c) || (0x20000...0x2A6DF).contains(c) || (0x2A700...0x2B73F).contains(c)
      || (0x2B740...0x2B81F).contains(c) || (0x2B920...0x2CEAF).contains(c) || (0xF900...0xFAFF).contains(c) || (0x2F800...0x2FA1F).contains(c)
  }

  /// Every occurrence of `what` replaced, matched scalar by scalar (String
  /// and Foundation match canonically equivalent text and grapheme clusters).
  static func replace(_ s: [UInt32], _ what: [UInt32], _ with: [UInt32]) -> [UInt32] {
    guard !what.isEmpty, s.count >= what.count else { return s }
    var out: [UInt32] = [], i = 0
    out.reserveCapacity(s.count)
    while i < s.count {
      if i + what.count <= s.count && s[i..<(i + what.count)].elementsEqual(what) {
        out += with
        i += what.count
      } else {
        out.append(s[i])
        i += 1
      }
    }
    return out
  }

  /// Scalar values as a String (invalid ones as U+FFFD).
  static func string<S: Sequence<UInt32>>(_ s: S) -> String {
    var str = String.UnicodeScalarView()
    for c in s { str.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
    return String(str)
  }

  static func unicode(_ s: [UInt32], _ form: KeyPath<String, String>, force: Bool = false) -> [UInt32] {
    // ASCII is its own normal form under all four.
    if !force && s.allSatisfy({ $0 < 0x80 }) { return s }
    return string(s)[keyPath: form].unicodeScalars.map(\.value)
  }

  /// NFD: each scalar's full canonical decomposition (cached per scalar),
  /// then canonical ordering of combining marks, done by Foundation only
  /// when two marks with combining classes meet (rare outside crafted text).
  static func nfd(_ s: [UInt32]) -> [UInt32] {
    if s.allSatisfy({ $0 < 0xC0 }) { return s }
    var cache: [UInt32: [UInt32]] = [:]
    var out: [UInt32] = []
    out.reserveCapacity(s.count + s.count / 4)
    var previousClass: UInt8 = 0
    for c in s {
      if c < 0xC0 {
        out.append(c)
        previousClass = 0
        continue
      }
      let d: [UInt32]
      if let hit = cache[c] { d = hit } else {
        d = unicode([c], \.decomposedStringWithCanonicalMapping, force: true)
        cache[c] = d
      }
      for x in d {
        let cc = UnicodeTable.combiningClass(x)
        if cc != 0 && previousClass != 0 { return unicode(s, \.decomposedStringWithCanonicalMapping) }
        previousClass = cc
        out.append(x)
      }
    }
    return out
  }

  static func stripMarks(_ s: [UInt32]) -> [UInt32] { s.filter { UnicodeTable.mask($0) & UnicodeTable.nonspacingMark == 0 } }

  static func lower(_ s: [UInt32]) -> [UInt32] {
    var out: [UInt32] = []
    out.reserveCapacity(s.count)
    for c in s {
      if c < 0x80 {
        out.append(c >= 0x41 && c <= 0x5A ? c + 32 : c)
      } else if c < 0x10000, UnicodeTable.lowerBMP[Int(c)] != 0xFFFF_FFFF {
        out.append(UnicodeTable.lowerBMP[Int(c)])
      } else if let u = Unicode.Scalar(c) {
        out += u.properties.lowercaseMapping.unicodeScalars.map(\.value)
      } else {
        out.append(c)
      }
    }
    return out
  }
}
