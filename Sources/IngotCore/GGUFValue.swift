import IngotCore

/// A GGUF metadata value with its wire type (formats/gguf.md): what a
/// writer needs, since llama.cpp checks each key's type (u32 counts, f32
/// epsilons) and JSON cannot tell them apart.
public indirect enum GGUFValue: Equatable, Sendable {
  case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32), f32(Float), bool(Bool)
  case string(String), u64(UInt64), i64(Int64), f64(Double)
  /// Elements all of wire type `element`.
  case array(element: UInt32, [GGUFValue])

  public var typeCode: UInt32 {
    switch self {
    case .u8: 0
    case .i8: 1
    case .u16: 2
    case .i16: 3
    case .u32: 4
    case .i32: 5
    case .f32: 6
    case .bool: 7
    case .string: 8
    case .array: 9
    case .u64: 10
    case .i64: 11
    case .f64: 12
    }
  }

  /// Wire type names, as the container records them (`gguf-types`).
  public static let typeNames: [UInt32: String] = [
    0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool", 8: "string", 9: "array", 10: "u64", 11: "i64", 12: "f64",
  ]

  /// Appends the value (without its type code, as array elements are written).
  public func encode(into out: inout [UInt8]) {
    func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    switch self {
    case .u8(let v): out.append(v)
    case .i8(let v): out.append(UInt8(bitPattern: v))
    case .u16(let v): le(v)
    case .i16(let v): le(v)
    case .u32(let v): le(v)
    case .i32(let v): le(v)
    case .f32(let v): le(v.bitPattern)
    case .bool(let v): out.append(v ? 1 : 0)
    case .string(let s):
      le(UInt64(s.utf8.count))
      out.append(contentsOf: s.utf8)
    case .u64(let v): le(v)
    case .i64(let v): le(v)
    case .f64(let v): le(v.bitPattern)
    case .array(let element, let items):
      le(element)
      le(UInt64(items.count))
      for i in items { i.encode(into: &out) }
    }
  }

  /// A value of wire type `type` (arrays: of `element`) from its JSON form
  /// as GGUFFile reads it; nil when it does not fit the type.
  public static func from(_ json: JSONValue, type: UInt32, element: UInt32? = nil) -> GGUFValue? {
    func int<T: FixedWidthInteger>(_ t: T.Type) -> T? {
      if case .int(let i) = json { return T(exactly: i) }
      if case .string(let s) = json { return T(s) }  // u64 beyond Int64
      return nil
    }
    func double() -> Double? {
      switch json {
      case .double(let d): return d
      case .int(let i): return Double(i)
      case .string(let s): return Double(s)  // nan, inf
      default: return nil
      }
    }
    switch type {
    case 0: return int(UInt8.self).map { .u8($0) }
    case 1: return int(Int8.self).map { .i8($0) }
    case 2: return int(UInt16.self).map { .u16($0) }
    case 3: return int(Int16.self).map { .i16($0) }
    case 4: return int(UInt32.self).map { .u32($0) }
    case 5: return int(Int32.self).map { .i32($0) }
    case 10: return int(UInt64.self).map { .u64($0) }
    case 11: return int(Int64.self).map { .i64($0) }
    case 6: return double().map { .f32(Float($0)) }
    case 12: return double().map { .f64($0) }
    case 7: return json.boolValue.map { .bool($0) }
    case 8: return json.stringValue.map { .string($0) }
    case 9:
      guard let element, element != 9, let items = json.arrayValue else { return nil }
      var out: [GGUFValue] = []
      out.reserveCapacity(items.count)
      for i in items {
        guard let v = from(i, type: element) else { return nil }
        out.append(v)
      }
      return .array(element: element, out)
    default: return nil
    }
  }
}
