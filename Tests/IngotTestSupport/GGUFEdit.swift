import Foundation
import IngotCore

/// Rewrites a GGUF file with one metadata key set (replaced, or appended),
/// keeping the tensor infos and data: for tests that need a file which says
/// something different. Values: .string, .int (u32), .double (f32).
public enum GGUFEdit {
  public enum EditError: Error { case notGGUF, badType(UInt32) }

  public static func set(_ key: String, _ value: JSONValue, in source: String, to output: String) throws {
    let b = try readFile(source)
    var at = 0
    func u32() throws -> UInt32 {
      guard at + 4 <= b.count else { throw EditError.notGGUF }
      defer { at += 4 }
      return b[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    func u64() throws -> UInt64 {
      guard at + 8 <= b.count else { throw EditError.notGGUF }
      defer { at += 8 }
      return b[at..<(at + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    func string() throws -> String {
      let n = Int(try u64())
      guard at + n <= b.count else { throw EditError.notGGUF }
      defer { at += n }
      return String(decoding: b[at..<(at + n)], as: UTF8.self)
    }
    func skip(_ type: UInt32) throws {
      switch type {
      case 0, 1, 7: at += 1
      case 2, 3: at += 2
      case 4, 5, 6: at += 4
      case 10, 11, 12: at += 8
      case 8: _ = try string()
      case 9:
        let inner = try u32()
        let n = try u64()
        for _ in 0..<n { try skip(inner) }
      default: throw EditError.badType(type)
      }
    }
    guard Array(b.prefix(4)) == Array("GGUF".utf8) else { throw EditError.notGGUF }
    at = 4
    _ = try u32()
    let tensors = try u64()
    let kvs = try u64()
    var entries: [(String, [UInt8])] = []
    var alignment = 32
    for _ in 0..<kvs {
      let start = at
      let k = try string()
      let type = try u32()
      let valueStart = at
      try skip(type)
      if k == "general.alignment", type == 4 { alignment = Int(b[valueStart]) | Int(b[valueStart + 1]) << 8 }
      entries.append((k, Array(b[start..<at])))
    }
    let infoStart = at
    for _ in 0..<tensors {
      _ = try string()
      let dims = try u32()
      at += 8 * Int(dims) + 4 + 8
    }
    let infos = Array(b[infoStart..<at])
    let dataStart = (at + alignment - 1) / alignment * alignment
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    var encoded = str(key)
    switch value {
    case .string(let s): encoded += le(UInt32(8)) + str(s)
    case .int(let i): encoded += le(UInt32(4)) + le(UInt32(truncatingIfNeeded: i))
    case .double(let d): encoded += le(UInt32(6)) + le(Float(d).bitPattern)
    default: throw EditError.badType(99)
    }
    if let i = entries.firstIndex(where: { $0.0 == key }) { entries[i].1 = encoded } else { entries.append((key, encoded)) }
    var out = Array("GGUF".utf8) + le(UInt32(3)) + le(tensors) + le(UInt64(entries.count))
    out += entries.flatMap(\.1) + infos
    while out.count % alignment != 0 { out.append(0) }
    out += b[dataStart...]
    try writeFile(output, out)
  }
}
