import IngotCore
import IngotQuant

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
  /// Each key's wire type, and an array's element type, in file order.
  public let types: [(key: String, type: UInt32, element: UInt32?)]
  public let tensors: [TensorInfo]
  public let alignment: Int

  public init(path: String) throws {
    self.path = path
    let file = try MappedFile(path: path)
    mapped = file
    var r = Reader(cursor: ByteCursor(file.all), file: path)
    guard file.size >= 8, Array(file.all[0..<4]) == Array("GGUF".utf8) else { throw GGUFError.badMagic(file: path) }
    try r.skip(4)
    version = try r.u32()
    guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(file: path, version: version) }
    let tensorCount = try r.u64(), kvCount = try r.u64()
    // Each key/value needs at least 8 + 1 + 4 + 1 bytes, each tensor info 8 + 1 + 4 + 4 + 8.
    guard kvCount <= UInt64(r.remaining / 14) else { throw GGUFError.countTooLarge(file: path, field: "kv_count", count: kvCount) }
    guard tensorCount <= UInt64(r.remaining / 25) else { throw GGUFError.countTooLarge(file: path, field: "tensor_count", count: tensorCount) }
    var meta: [(String, JSONValue)] = []
    var types: [(String, UInt32, UInt32?)] = []
    var keys = Set<String>()
    var alignment = 32
    for _ in 0..<Int(kvCount) {
      let at = r.at
      let key = try r.string()
      // llama.cpp refuses a key given twice; so do we (which value counts would be a guess).
      guard keys.insert(key).inserted else { throw GGUFError.duplicateKey(file: path, key: key, offset: at) }
      let type = try r.u32()
      let element: UInt32? = type == 9 ? r.peekU32() : nil
      let value = try r.value(type, depth: 0)
      types.append((key, type, element))
      if key == "general.alignment" {
        guard case .int(let a) = value, a > 0, a <= 1 << 20, a & (a - 1) == 0 else {
          throw GGUFError.badKey(file: path, key: key, reason: "must be a power of two up to 2^20, not \(CanonicalJSON.string(value))")
        }
        alignment = Int(a)
      }
      meta.append((key, value))
    }
    self.alignment = alignment
    var infos: [(String, [Int], GGMLType, UInt64)] = []
    for _ in 0..<Int(tensorCount) {
      let at = r.at
      let name = try r.string()
      guard !name.isEmpty, name.utf8.count <= Limits.maxTensorNameBytes else { throw GGUFError.badTensorName(file: path, offset: at) }
      let nDims = try r.u32()
      guard nDims >= 1, nDims <= 4 else { throw GGUFError.badRank(file: path, tensor: name, rank: nDims) }
      var dims: [Int] = []
      for _ in 0..<nDims {
        let d = try r.u64()
        guard d <= UInt64(Int32.max) * 1024 else { throw GGUFError.dimensionTooLarge(file: path, tensor: name, dimension: d) }
        dims.append(Int(d))
      }
      let typeID = try r.u32()
      guard let type = GGMLType(rawValue: typeID) else { throw GGUFError.unknownType(file: path, tensor: name, type: typeID) }
      infos.append((name, Array(dims.reversed()), type, try r.u64()))
    }
    let dataStart = (r.at + alignment - 1) / alignment * alignment
    // A file without tensors (llama.cpp's vocabulary-only GGUFs) may end
    // before the padding to its data section, as llama.cpp accepts.
    guard dataStart <= file.size || infos.isEmpty else { throw GGUFError.truncated(file: path, offset: dataStart, needed: 0) }
    var tensors: [TensorInfo] = []
    var names = Set<String>()
    for (name, shape, type, offset) in infos {
      guard names.insert(name).inserted else { throw GGUFError.duplicateTensor(file: path, tensor: name) }
      guard let count = elementCount(shape), let bytes = type.byteCount(elements: count, rowLength: shape.last ?? 1) else {
        throw GGUFError.partialBlocks(file: path, tensor: name, shape: shape, type: "\(type)")
      }
      guard offset % UInt64(alignment) == 0, offset <= UInt64(file.size - dataStart), UInt64(bytes) <= UInt64(file.size - dataStart) - offset else {
        throw GGUFError.dataOutOfBounds(file: path, tensor: name, offset: Int(truncatingIfNeeded: offset))
      }
      let start = dataStart + Int(offset)
      tensors.append(TensorInfo(name: name, shape: shape, type: type, range: start..<(start + bytes)))
    }
    // Two tensors over the same bytes would count one payload twice (300
    // infos at one offset turn 1 MB into 300): every range is its own.
    if let (a, b) = firstOverlap(tensors.map { (range: $0.range, tag: $0.name) }) {
      throw GGUFError.overlappingData(file: path, tensor: b, other: a)
    }
    metadata = meta
    self.types = types
    self.tensors = tensors
  }

  /// The header's reads, through one ByteCursor, each failure typed.
  struct Reader {
    var cursor: ByteCursor
    let file: String
    var at: Int { cursor.readerIndex }
    var remaining: Int { cursor.readableBytes }

    func short(_ e: ByteCursor.Short) -> GGUFError { .truncated(file: file, offset: e.offset, needed: e.needed) }

    mutating func skip(_ n: Int) throws(GGUFError) {
      do { _ = try cursor.takeSlice(length: n) } catch { throw short(error) }
    }
    mutating func take(_ n: Int) throws(GGUFError) -> UnsafeRawBufferPointer {
      do { return try cursor.takeSlice(length: n) } catch { throw short(error) }
    }
    mutating func int<T: FixedWidthInteger>(_ t: T.Type) throws(GGUFError) -> T {
      do { return try cursor.takeInteger(endianness: .little, as: T.self) } catch { throw short(error) }
    }
    mutating func u32() throws(GGUFError) -> UInt32 { try int(UInt32.self) }
    /// The next u32, not consumed (an array's element type); nil at the end.
    func peekU32() -> UInt32? {
      var c = cursor
      return try? c.takeInteger(endianness: .little, as: UInt32.self)
    }
    mutating func u64() throws(GGUFError) -> UInt64 { try int(UInt64.self) }
    mutating func string() throws(GGUFError) -> String {
      let start = at
      let n = try u64()
      guard n <= UInt64(remaining) else { throw GGUFError.truncated(file: file, offset: at, needed: Int(clamping: n)) }
      guard n <= UInt64(Limits.maxMetadataStringBytes) else {
        throw GGUFError.limit(file: file, offset: at, what: "string bytes (maxMetadataStringBytes)", limit: Limits.maxMetadataStringBytes)
      }
      let raw = try take(Int(n))
      guard let s = String(validating: raw, as: UTF8.self) else { throw GGUFError.notUTF8(file: file, offset: start) }
      return s
    }

    mutating func value(_ type: UInt32, depth: Int) throws(GGUFError) -> JSONValue {
      func integer<T: FixedWidthInteger>(_ t: T.Type) throws(GGUFError) -> JSONValue {
        let v = try int(T.self)
        guard let i = Int64(exactly: v) else { return .string(String(v)) }  // u64 beyond Int64: kept as text
        return .int(i)
      }
      switch type {
      case 0: return try integer(UInt8.self)
      case 1: return try integer(Int8.self)
      case 2: return try integer(UInt16.self)
      case 3: return try integer(Int16.self)
      case 4: return try integer(UInt32.self)
      case 5: return try integer(Int32.self)
      case 10: return try integer(UInt64.self)
      case 11: return try integer(Int64.self)
      // Non-finite floats keep their value as text ("nan", "inf"): metadata
      // is the file's content, not a measurement (JSONValue.number's null).
      case 6:
        let f = Float(bitPattern: try u32())
        return f.isFinite ? .double(Double(f)) : .string(f.description)
      case 12:
        let f = Double(bitPattern: try u64())
        return f.isFinite ? .double(f) : .string(f.description)
      case 7:
        let at = self.at
        let b = try take(1)[0]
        guard b <= 1 else { throw GGUFError.badBool(file: file, offset: at, value: b) }
        return .bool(b == 1)
      case 8: return .string(try string())
      case 9:
        let at = self.at
        guard depth == 0 else { throw GGUFError.nestedArray(file: file, offset: at) }
        let elementType = try u32()
        guard elementType != 9 else { throw GGUFError.nestedArray(file: file, offset: at) }
        let count = try u64()
        guard count <= UInt64(Limits.maxMetadataArrayLength) else {
          throw GGUFError.limit(file: file, offset: self.at, what: "array elements (maxMetadataArrayLength)", limit: Limits.maxMetadataArrayLength)
        }
        // Every element takes at least one byte: check before allocating.
        guard count <= UInt64(remaining) else { throw GGUFError.truncated(file: file, offset: self.at, needed: Int(clamping: count)) }
        var items: [JSONValue] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<Int(count) { items.append(try value(elementType, depth: depth + 1)) }
        return .array(items)
      default:
        throw GGUFError.unknownValueType(file: file, offset: at - 4, type: type)
      }
    }
  }
}
