/// A strict JSON parser for headers read from untrusted files.
///
/// Why our own: Foundation's parser blurs integers and floats (offsets above
/// 2^53 would round) and accepts duplicate keys; both matter for validation.
/// Depth is limited so a hostile `[[[[...` cannot exhaust the stack.
public struct JSONParser {
  public struct Failure: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
  }

  public static let maxDepth = Limits.maxJSONDepth

  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.pos != bytes.count { throw parser.fail("trailing characters after the document") }
    return value
  }

  public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
    do {
      return try bytes.withUnsafeBytes { buffer in try parse(buffer) }
    } catch let error as Failure {
      throw error
    } catch {
      throw Failure(offset: 0, reason: "\(error)")
    }
  }

  let bytes: UnsafeRawBufferPointer
  var pos = 0

  func fail(_ reason: String) -> Failure { Failure(offset: pos, reason: reason) }

  func peek() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }

  mutating func skipWhitespace() {
    while let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 }
  }

  mutating func expect(_ literal: String) throws(Failure) {
    for byte in literal.utf8 {
      guard peek() == byte else { throw fail("expected '\(literal)'") }
      pos += 1
    }
  }

  mutating func parseValue(depth: Int) throws(Failure) -> JSONValue {
    guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
    guard let c = peek() else { throw fail("unexpected end of input") }
    switch c {
    case UInt8(ascii: "{"): return try parseObject(depth: depth)
    case UInt8(ascii: "["): return try parseArray(depth: depth)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try expect("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expect("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expect("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw fail("unexpected character 0x\(String(c, radix: 16))")
    }
  }

  mutating func parseObject(depth: Int) throws(Failure) -> JSONValue {
    pos += 1
    var members: [String: JSONValue] = [:]
    skipWhitespace()
    if peek() == UInt8(ascii: "}") {
      pos += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
      let keyOffset = pos
      let key = try parseString()
      skipWhitespace()
      try expect(":")
      skipWhitespace()
      let value = try parseValue(depth: depth + 1)
      if members.updateValue(value, forKey: key) != nil {
        throw Failure(offset: keyOffset, reason: "duplicate key \"\(key)\"")
      }
      skipWhitespace()
      guard let c = peek() else { throw fail("unterminated object") }
      pos += 1
      if c == UInt8(ascii: "}") { return .object(members) }
      guard c == UInt8(ascii: ",") else {
        pos -= 1
        throw fail("expected ',' or '}'")
      }
    }
  }

  mutating func parseArray(depth: Int) throws(Failure) -> JSONValue {
    pos += 1
    var items: [JSONValue] = []
    skipWhitespace()
    if peek() == UInt8(ascii: "]") {
      pos += 1
      return .array(items)
    }
    while true {
      skipWhitespace()
      items.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      guard let c = peek() else { throw fail("unterminated array") }
      pos += 1
      if c == UInt8(ascii: "]") { return .array(items) }
      guard c == UInt8(ascii: ",") else {
        pos -= 1
        throw fail("expected ',' or ']'")
      }
    }
  }

  mutating func parseHex4() throws(Failure) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let c = peek() else { throw fail("truncated \\u escape") }
      let digit: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw fail("bad hex digit in \\u escape")
      }
      value = value << 4 | digit
      pos += 1
    }
    return value
  }

  mutating func parseString() throws(Failure) -> String {
    pos += 1  // opening quote
    var out: [UInt8] = []
    while true {
      guard let c = peek() else { throw fail("unterminated string") }
      pos += 1
      switch c {
      case UInt8(ascii: "\""):
        guard let s = String(validating: out, as: UTF8.self) else {
          throw fail("string is not valid UTF-8")
        }
        return s
      case UInt8(ascii: "\\"):
        guard let e = peek() else { throw fail("unterminated escape") }
        pos += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try parseHex4()
          if (0xD800..<0xDC00).contains(scalar) {
            guard peek() == UInt8(ascii: "\\") else { throw fail("lone high surrogate") }
            pos += 1
            guard peek() == UInt8(ascii: "u") else { throw fail("lone high surrogate") }
            pos += 1
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("bad low surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else if (0xDC00..<0xE000).contains(scalar) {
            throw fail("lone low surrogate")
          }
          guard let u = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
          out.append(contentsOf: Array(String(Character(u)).utf8))
        default: throw fail("unknown escape")
        }
      case 0..<0x20:
        pos -= 1
        throw fail("control character in string")
      default:
        out.append(c)
      }
    }
  }

  mutating func parseNumber() throws(Failure) -> JSONValue {
    let start = pos
    var isFloat = false
    if peek() == UInt8(ascii: "-") { pos += 1 }
    guard let first = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
      throw fail("expected a digit")
    }
    if first == UInt8(ascii: "0") {
      pos += 1
    } else {
      while let c = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { pos += 1 }
    }
    if peek() == UInt8(ascii: ".") {
      isFloat = true
      pos += 1
      guard let c = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
        throw fail("expected a digit after '.'")
      }
      while let c = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { pos += 1 }
    }
    if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
      isFloat = true
      pos += 1
      if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
      guard let c = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
        throw fail("expected a digit in exponent")
      }
      while let c = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { pos += 1 }
    }
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
    if isFloat {
      guard let d = Double(text), d.isFinite else {
        throw Failure(offset: start, reason: "number \(text) out of range")
      }
      return .double(d)
    }
    guard let i = Int64(text) else {
      throw Failure(offset: start, reason: "integer \(text) out of range")
    }
    return .int(i)
  }
}
