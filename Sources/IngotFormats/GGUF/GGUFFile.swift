import IngotContainer

/// A GGUF file (v2, v3), parsed and checked before any tensor is read:
/// every count and length is checked against the bytes that remain.
public final class GGUFFile: @unchecked Sendable {
  // @unchecked: immutable after init.
  public struct TensorInfo: Sendable {
    public var name: String
    /// numpy order (outermost first): GGUF's dims reversed.
    public var shape: [Int]
    public var type: GGMLType
    /// Absolute byte range in the file.
    public var range: Range<Int>
  }

  public let path: String
  public let mapped: MappedFile
  public let version: UInt32
  /// Every key/value, as canonical JSON text (strings as JSON strings).
  public let metadata: [(key: String, value: JSONValue)]
  public let tensors: [TensorInfo]
  public let alignment: Int

  public init(path: String) throws {
    self.path = path
    let file = try MappedFile(path: path)
    mapped = file
    var r = Reader(bytes: file.all, file: path)
    guard file.size >= 8, Array(file.all[0..<4]) == Array("GGUF".utf8) else { throw r.fail("not a GGUF file (bad magic)") }
    r.at = 4
    version = try r.u32()
    guard version == 2 || version == 3 else { throw r.fail("unsupported GGUF version \(version) (2 and 3 are read)") }
    let tensorCount = try r.u64(), kvCount = try r.u64()
    // Each key/value needs at least 8 + 1 + 4 + 1 bytes, each tensor info 8 + 1 + 4 + 4 + 8.
    guard kvCount <= UInt64(r.remaining / 14) else { throw r.fail("kv_count \(kvCount) exceeds what the file can hold") }
    guard tensorCount <= UInt64(r.remaining / 25) else { throw r.fail("tensor_count \(tensorCount) exceeds what the file can hold") }
    var meta: [(String, JSONValue)] = []
    var alignment = 32
    for _ in 0..<Int(kvCount) {
      let key = try r.string()
      let type = try r.u32()
      let value = try r.value(type, depth: 0)
      if key == "general.alignment" {
        guard case .int(let a) = value, a > 0, a <= 1 << 20, a & (a - 1) == 0 else {
          throw r.fail("general.alignment must be a power of two, not \(CanonicalJSON.string(value))")
        }
        alignment = Int(a)
      }
      meta.append((key, value))
    }
    self.alignment = alignment
    var infos: [(String, [Int], GGMLType, UInt64)] = []
    for _ in 0..<Int(tensorCount) {
      let name = try r.string()
      guard name.utf8.count <= 256 else { throw r.fail("tensor name longer than 256 bytes") }
      let nDims = try r.u32()
      guard nDims >= 1, nDims <= 4 else { throw r.fail("\(name): \(nDims) dimensions (1 to 4 are allowed)") }
      var dims: [Int] = []
      for _ in 0..<nDims {
        let d = try r.u64()
        guard d <= UInt64(Int32.max) * 1024 else { throw r.fail("\(name): dimension \(d) is too large") }
        dims.append(Int(d))
      }
      let typeID = try r.u32()
      guard let type = GGMLType(rawValue: typeID) else { throw r.fail("\(name): unknown tensor type \(typeID)") }
      infos.append((name, Array(dims.reversed()), type, try r.u64()))
    }
    let dataStart = (r.at + alignment - 1) / alignment * alignment
    guard dataStart <= file.size else { throw r.fail("data section starts past the end of the file") }
    var tensors: [TensorInfo] = []
    var names = Set<String>()
    for (name, shape, type, offset) in infos {
      guard names.insert(name).inserted else { throw r.fail("\(name): duplicate tensor name") }
      guard let count = elementCount(shape), let bytes = type.byteCount(elements: count, rowLength: shape.last ?? 1) else {
        throw r.fail("\(name): \(shape) of \(type) is not a whole number of blocks, or overflows")
      }
      guard offset % UInt64(alignment) == 0, offset <= UInt64(file.size - dataStart), UInt64(bytes) <= UInt64(file.size - dataStart) - offset else {
        throw r.fail("\(name): data at offset \(offset) (+\(bytes) bytes) runs past the end of the file or is misaligned")
      }
      let start = dataStart + Int(offset)
      tensors.append(TensorInfo(name: name, shape: shape, type: type, range: start..<(start + bytes)))
    }
    metadata = meta
    self.tensors = tensors
  }

  struct Reader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var at = 0
    var remaining: Int { bytes.count - at }

    func fail(_ reason: String) -> GGUFError { .invalid(file: file, offset: at, reason: reason) }

    mutating func take(_ n: Int) throws(GGUFError) -> UnsafeRawBufferPointer {
      guard n >= 0, n <= remaining else { throw fail("a length of \(n) runs past the end of the file (truncated?)") }
      defer { at += n }
      return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
    }
    mutating func u32() throws(GGUFError) -> UInt32 {
      guard let v = bytes.readLE(at, as: UInt32.self) else { throw fail("truncated") }
      at += 4
      return v
    }
    mutating func u64() throws(GGUFError) -> UInt64 {
      guard let v = bytes.readLE(at, as: UInt64.self) else { throw fail("truncated") }
      at += 8
      return v
    }
    mutating func string() throws(GGUFError) -> String {
      let n = try u64()
      guard n <= UInt64(remaining) else { throw fail("string of \(n) bytes runs past the end of the file") }
      let raw = try take(Int(n))
      guard let s = String(validating: raw, as: UTF8.self) else { throw fail("string is not UTF-8") }
      return s
    }

    mutating func value(_ type: UInt32, depth: Int) throws(GGUFError) -> JSONValue {
      func int<T: FixedWidthInteger>(_ t: T.Type) throws(GGUFError) -> JSONValue {
        guard let v = bytes.readLE(at, as: T.self) else { throw fail("truncated") }
        at += MemoryLayout<T>.size
        guard let i = Int64(exactly: v) else { return .string(String(v)) }  // u64 beyond Int64: kept as text
        return .int(i)
      }
      switch type {
      case 0: return try int(UInt8.self)
      case 1: return try int(Int8.self)
      case 2: return try int(UInt16.self)
      case 3: return try int(Int16.self)
      case 4: return try int(UInt32.self)
      case 5: return try int(Int32.self)
      case 10: return try int(UInt64.self)
      case 11: return try int(Int64.self)
      case 6:
        let bits = try u32()
        let f = Float(bitPattern: bits)
        return f.isFinite ? .double(Double(f)) : .string(f.description)
      case 12:
        let bits = try u64()
        let f = Double(bitPattern: bits)
        return f.isFinite ? .double(f) : .string(f.description)
      case 7:
        let b = try take(1)[0]
        guard b <= 1 else { throw fail("bool value \(b) (must be 0 or 1)") }
        return .bool(b == 1)
      case 8: return .string(try string())
      case 9:
        guard depth == 0 else { throw fail("nested arrays are refused") }
        let elementType = try u32()
        guard elementType != 9 else { throw fail("nested arrays are refused") }
        let count = try u64()
        // Every element takes at least one byte: check before allocating.
        guard count <= UInt64(remaining) else { throw fail("array of \(count) elements runs past the end of the file") }
        var items: [JSONValue] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<Int(count) { items.append(try value(elementType, depth: depth + 1)) }
        return .array(items)
      default:
        throw fail("unknown metadata value type \(type)")
      }
    }
  }
}

public enum GGUFError: Error, CustomStringConvertible, Equatable {
  case invalid(file: String, offset: Int, reason: String)
  public var description: String {
    switch self {
    case .invalid(let f, let o, let r): "\(f): offset \(o): \(r)"
    }
  }
}

extension GGUFError: ReportableError {}
