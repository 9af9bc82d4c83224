/// Where a tensor's payload sits in the data section, and how it is stored.
public struct Storage: Equatable, Sendable {
  /// Byte offset from the start of the data section; a multiple of the alignment.
  public var offset: Int
  /// Stored bytes (equal to the encoded length when uncompressed).
  public var length: Int
  /// "none" in v1; "zstd" is reserved (formats/ingot-v1.md §6).
  public var compression: String
  /// Extra fields of a compressed storage (transform, chunk table).
  public var extra: [String: JSONValue]

  public init(offset: Int, length: Int, compression: String = "none", extra: [String: JSONValue] = [:]) {
    self.offset = offset
    self.length = length
    self.compression = compression
    self.extra = extra
  }

  public var json: JSONValue {
    var object = extra
    object["offset"] = .int(Int64(offset))
    object["length"] = .int(Int64(length))
    object["compression"] = .string(compression)
    return .object(object)
  }
}
