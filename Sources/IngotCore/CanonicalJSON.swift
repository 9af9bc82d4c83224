/// Canonical JSON, as specified in formats/ingot-v1.md §3:
/// object keys sorted by their UTF-8 bytes, no whitespace, strings escaped
/// exactly as Python's `json.dumps(..., ensure_ascii=False)` does, integers in
/// decimal, floats in shortest round-trip form (Swift's `description`, which
/// matches Python's `repr`). The independent Python reader reproduces it with
/// `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
public enum CanonicalJSON {
  public static func encode(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    write(value, into: &out)
    return out
  }

  public static func string(_ value: JSONValue) -> String {
    String(decoding: encode(value), as: UTF8.self)
  }

  static func write(_ value: JSONValue, into out: inout [UInt8]) {
    switch value {
    case .null: out.append(contentsOf: Array("null".utf8))
    case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
    case .int(let i): out.append(contentsOf: Array(String(i).utf8))
    case .double(let d):
      // Non-finite values never reach here through JSONValue.number; if one
      // does, null is the only valid JSON for it.
      if d.isFinite {
        out.append(contentsOf: Array(pythonRepr(d).utf8))
      } else {
        out.append(contentsOf: Array("null".utf8))
      }
    case .string(let s): writeString(s, into: &out)
    case .array(let items):
      out.append(UInt8(ascii: "["))
      for (i, item) in items.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        write(item, into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      let keys = members.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
      for (i, key) in keys.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(members[key]!, into: &out)  // audited: key comes from members.keys
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  /// The shortest round-trip digits (Swift's and Python's agree on them),
  /// laid out by Python's repr rule that the spec adopts: positional for
  /// decimal exponents −4 ≤ e < 16, else d.ddde±XX. Swift's own
  /// `description` switches to exponent form at 2^53 (9.5e15 → "9.5e+15"
  /// where Python writes "9500000000000000.0").
  static func pythonRepr(_ d: Double) -> String {
    let text = d.description
    // Digits and decimal exponent from either of Swift's two forms.
    var s = Substring(text)
    let negative = s.hasPrefix("-")
    if negative { s = s.dropFirst() }
    var exponent = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      exponent = Int(s[s.index(after: e)...]) ?? 0
      s = s[..<e]
    }
    let point = s.firstIndex(of: ".")
    let intPart = point.map { s[..<$0] } ?? s
    let fracPart = point.map { s[s.index(after: $0)...] } ?? ""
    var digits = Array(intPart + fracPart)
    // Position of the decimal point relative to digits[0].
    var pointAt = intPart.count + exponent
    while digits.count > 1, digits.first == "0" {
      digits.removeFirst()
      pointAt -= 1
    }
    while digits.count > 1, digits.last == "0" { digits.removeLast() }
    if digits == ["0"] { return negative ? "-0.0" : "0.0" }
    let e = pointAt - 1  // scientific exponent
    var out = negative ? "-" : ""
    if e < -4 || e >= 16 {
      out += String(digits[0])
      if digits.count > 1 { out += "." + String(digits[1...]) }
      out += "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
    } else if pointAt <= 0 {
      out += "0." + String(repeating: "0", count: -pointAt) + String(digits)
    } else if pointAt >= digits.count {
      out += String(digits) + String(repeating: "0", count: pointAt - digits.count) + ".0"
    } else {
      out += String(digits[..<pointAt]) + "." + String(digits[pointAt...])
    }
    return out
  }

  static func writeString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in s.utf8 {
      switch byte {
      case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
      case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
      case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
      case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
      case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
      case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
      case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
      case 0..<0x20:
        let hex = Array("0123456789abcdef".utf8)
        out.append(contentsOf: Array("\\u00".utf8))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0xF)])
      default: out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}
