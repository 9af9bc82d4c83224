import IngotCore
/// One tensor as the header describes it.
public struct TensorEntry: Equatable, Sendable {
  public var name: String
  public var dtype: DType
  public var shape: [Int]
  public var encoding: Encoding
  public var storage: Storage
  /// SHA-256 (lowercase hex) of the encoded, uncompressed payload.
  public var digest: String

  public init(
    name: String, dtype: DType, shape: [Int], encoding: Encoding = .raw, storage: Storage,
    digest: String
  ) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.encoding = encoding
    self.storage = storage
    self.digest = digest
  }

  public var elementCount: Int { IngotCore.elementCount(shape) ?? 0 }

  /// The part of the entry the model digest covers (everything but storage).
  public var logicalJSON: JSONValue {
    [
      "name": .string(name), "dtype": .string(dtype.rawValue), "shape": .ints(shape),
      "encoding": encoding.json, "digest": .string(digest),
    ]
  }

  public var json: JSONValue {
    guard case .object(var object) = logicalJSON else { return logicalJSON }
    object["data"] = storage.json
    return .object(object)
  }
}
