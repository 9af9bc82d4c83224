import IngotCore

/// One parsed and validated safetensors file, mapped from disk.
public final class SafetensorsFile: @unchecked Sendable {
  // @unchecked: immutable after init.
  public struct Entry: Equatable, Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Absolute byte range in the file.
    public var range: Range<Int>
  }

  public static let maxHeaderLength = UInt64(Limits.maxSafetensorsHeaderBytes)

  public let path: String
  public let mapped: MappedFile
  /// Entries in file order (by offset).
  public let entries: [Entry]
  public let metadata: [String: String]

  public convenience init(path: String) throws {
    try self.init(mapped: try MappedFile(path: path))
  }

  /// Applies every check of the reference reader before any tensor is used.
  public init(mapped: MappedFile) throws(SafetensorsError) {
    let path = mapped.path
    self.path = path
    self.mapped = mapped
    let all = mapped.all
    guard mapped.size >= 8, let n = all.readLE(0, as: UInt64.self) else {
      throw .tooShort(file: path, size: mapped.size)
    }
    guard n <= Self.maxHeaderLength else { throw .headerTooLarge(file: path, length: n) }
    guard 8 + Int(n) <= mapped.size, let raw = mapped.bytes(offset: 8, count: Int(n)) else {
      throw .headerPastEnd(file: path, length: n, fileSize: mapped.size)
    }
    let json: JSONValue
    do {
      json = try JSONParser.parse(raw)  // leading/trailing spaces are accepted
    } catch {
      throw .invalidJSON(file: path, reason: error.description)
    }
    guard let object = json.objectValue else {
      throw .invalidSchema(file: path, reason: "header is not a JSON object")
    }
    var metadata: [String: String] = [:]
    var entries: [Entry] = []
    let base = 8 + Int(n)
    for (name, value) in object {
      if name == "__metadata__" {
        // null is no metadata: the reference reader's field is optional, and
        // mx.save_safetensors writes null when it is given none.
        if value == .null { continue }
        guard let meta = value.objectValue else {
          throw .invalidSchema(file: path, reason: "__metadata__ is not an object")
        }
        for (k, v) in meta {
          guard let s = v.stringValue else { throw .metadataNotString(file: path, key: k) }
          metadata[k] = s
        }
        continue
      }
      entries.append(try Self.parseEntry(name: name, value: value, base: base, file: path))
    }
    // Order matters for the message: a range past the end of the file is
    // named as such before it can show up as a gap or a size mismatch.
    for e in entries where e.range.upperBound > mapped.size {
      throw .offsetOutOfFile(file: path, tensor: e.name, end: e.range.upperBound - base, available: mapped.size - base)
    }
    // Contiguity: sorted by begin, each starts where the previous ended.
    entries.sort { ($0.range.lowerBound, $0.name) < ($1.range.lowerBound, $1.name) }
    var expected = base
    for e in entries {
      guard e.range.lowerBound == expected else {
        throw .gapOrOverlap(file: path, tensor: e.name, expectedBegin: expected - base, begin: e.range.lowerBound - base)
      }
      expected = e.range.upperBound
    }
    for e in entries {
      guard let count = elementCount(e.shape), let bytes = e.dtype.byteCount(elements: count) else {
        throw .shapeOverflow(file: path, tensor: e.name)
      }
      guard e.range.count == bytes else {
        throw .sizeMismatch(file: path, tensor: e.name, expected: bytes, actual: e.range.count)
      }
    }
    guard expected == mapped.size else {
      throw .dataLengthMismatch(file: path, dataEnd: expected - base, available: mapped.size - base)
    }
    self.entries = entries
    self.metadata = metadata
  }

  static func parseEntry(name: String, value: JSONValue, base: Int, file: String) throws(SafetensorsError) -> Entry {
    func schema(_ reason: String) -> SafetensorsError { .invalidSchema(file: file, reason: "\(name): \(reason)") }
    guard let o = value.objectValue else { throw schema("entry is not an object") }
    for key in o.keys where !["dtype", "shape", "data_offsets"].contains(key) {
      throw schema("unknown field '\(key)'")
    }
    guard let dtypeName = o["dtype"]?.stringValue else { throw schema("missing dtype") }
    guard let dtype = SafetensorsDType.byName[dtypeName] else {
      throw .unknownDType(file: file, tensor: name, dtype: dtypeName)
    }
    guard let dims = o["shape"]?.arrayValue else { throw schema("missing shape") }
    guard dims.count <= Limits.maxDimensions else { throw schema("\(dims.count) dimensions, over \(Limits.maxDimensions) (maxDimensions)") }
    var shape: [Int] = []
    for d in dims {
      guard let v = d.intValue, v >= 0 else { throw schema("shape holds a negative or non-integer value") }
      shape.append(Int(v))
    }
    guard let offsets = o["data_offsets"]?.arrayValue, offsets.count == 2,
      let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= 0
    else { throw schema("data_offsets must be two non-negative integers") }
    guard begin <= end else {
      throw .offsetsOutOfOrder(file: file, tensor: name, begin: Int(begin), end: Int(end))
    }
    // Overflow is checked here so that nothing below multiplies unchecked.
    guard let count = elementCount(shape), dtype.byteCount(elements: count) != nil else {
      throw .shapeOverflow(file: file, tensor: name)
    }
    let (lo, o1) = base.addingReportingOverflow(Int(begin))
    let (hi, o2) = base.addingReportingOverflow(Int(end))
    guard !o1, !o2 else { throw schema("data_offsets overflow") }
    return Entry(name: name, dtype: dtype, shape: shape, range: lo..<hi)
  }
}
