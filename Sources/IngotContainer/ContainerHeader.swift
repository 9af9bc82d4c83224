import IngotCore
import IngotQuant

/// The JSON header of a `.ingot` file (formats/ingot-v1.md §4).
public struct ContainerHeader: Equatable, Sendable {
  public static let formatMajor = 1
  public static let formatMinor = 0
  /// Required features this reader implements. Anything else listed in a
  /// file's `required_features` is refused by name.
  public static let knownFeatures: Set<String> = Set(QuantCodecs.kinds).union(["zstd"])

  public var alignment: Int = 64
  public var requiredFeatures: [String] = []
  public var metadata: [String: String] = [:]
  public var tensors: [TensorEntry] = []
  public var modelDigest: String = ""
  public var provenance: [ProvenanceStep] = []
  /// Reserved for signatures (§9); not covered by any digest so that signing
  /// never changes the model digest.
  public var signature: JSONValue? = nil

  public init() {}

  /// SHA-256 over the canonical (metadata, tensors) document (§7).
  public static func modelDigest(metadata: [String: String], tensors: [TensorEntry]) -> String {
    let doc: JSONValue = [
      "format": "ingot-model-digest-v1",
      "metadata": .object(metadata.mapValues { .string($0) }),
      "tensors": .array(tensors.map(\.logicalJSON)),
    ]
    return Digest.sha256Hex(CanonicalJSON.encode(doc))
  }

  public func computedModelDigest() -> String {
    Self.modelDigest(metadata: metadata, tensors: tensors)
  }

  /// SHA-256 of the canonical provenance list: what a signature will cover
  /// together with the model digest.
  public var provenanceHead: String {
    Digest.sha256Hex(CanonicalJSON.encode(.array(provenance.map(\.json))))
  }

  public var json: JSONValue {
    var o: [String: JSONValue] = [
      "format": "ingot",
      "format_version": .ints([Self.formatMajor, Self.formatMinor]),
      "alignment": .int(Int64(alignment)),
      "required_features": .array(requiredFeatures.map { .string($0) }),
      "metadata": .object(metadata.mapValues { .string($0) }),
      "tensors": .array(tensors.map(\.json)),
      "model_digest": .string(modelDigest),
      "provenance": .array(provenance.map(\.json)),
      "provenance_head": .string(provenanceHead),
    ]
    if let signature { o["signature"] = signature }
    return .object(o)
  }

  public func encoded() -> [UInt8] { CanonicalJSON.encode(json) }

  /// Parses and validates the header's schema; storage bounds are checked by
  /// the reader, which knows the data length.
  public init(json: JSONValue, file: String) throws(ContainerError) {
    func bad(_ reason: String) -> ContainerError { .invalidHeader(file: file, reason: reason) }
    guard let o = json.objectValue else { throw bad("header is not a JSON object") }
    guard o["format"]?.stringValue == "ingot" else { throw bad("\"format\" is not \"ingot\"") }
    guard let features = o["required_features"]?.arrayValue else {
      throw bad("missing \"required_features\"")
    }
    for feature in features {
      guard let name = feature.stringValue else { throw bad("required_features holds a non-string") }
      guard Self.knownFeatures.contains(name) else {
        throw .unknownRequiredFeature(file: file, feature: name)
      }
      requiredFeatures.append(name)
    }
    guard let align = o["alignment"]?.intValue, align >= 64, align <= 1 << 20,
      align & (align - 1) == 0
    else { throw bad("\"alignment\" must be a power of two from 64 to 1 MiB") }
    alignment = Int(align)
    guard let meta = o["metadata"]?.objectValue else { throw bad("missing \"metadata\" object") }
    for (key, value) in meta {
      guard let s = value.stringValue else { throw bad("metadata \"\(key)\" is not a string") }
      metadata[key] = s
    }
    guard let list = o["tensors"]?.arrayValue else { throw bad("missing \"tensors\" array") }
    var seen = Set<String>()
    for (index, item) in list.enumerated() {
      let entry = try Self.parseTensor(item, index: index, file: file)
      guard seen.insert(entry.name).inserted else {
        throw .invalidTensor(file: file, tensor: entry.name, reason: "duplicate tensor name")
      }
      tensors.append(entry)
      if !entry.encoding.isRaw && !requiredFeatures.contains(entry.encoding.kind) {
        throw .invalidTensor(file: file, tensor: entry.name, reason: "encoding '\(entry.encoding.kind)' is not listed in required_features")
      }
      if entry.storage.chunks != nil && !requiredFeatures.contains("zstd") {
        throw .invalidTensor(file: file, tensor: entry.name, reason: "zstd storage is not listed in required_features")
      }
    }
    guard let digest = o["model_digest"]?.stringValue, Digest.isHexDigest(digest) else {
      throw bad("\"model_digest\" is not a 64-digit lowercase hex SHA-256")
    }
    modelDigest = digest
    guard let steps = o["provenance"]?.arrayValue else { throw bad("missing \"provenance\" array") }
    for (i, step) in steps.enumerated() {
      guard let parsed = ProvenanceStep(json: step) else {
        throw .provenance(file: file, reason: "step \(i) does not match the schema")
      }
      // A step must be exactly what this reader understood: a field it
      // does not know, or a note that is not a string, would be dropped by
      // re-encoding, and a signature over the re-encoding would vouch for
      // a step it never saw.
      guard parsed.json == step else {
        throw .provenance(file: file, reason: "step \(i) has fields outside the schema, or of the wrong type")
      }
      provenance.append(parsed)
    }
    // Canonical re-encoding must reproduce the stored step, or fields this
    // reader does not know would silently drop out of the chain hash.
    if let head = o["provenance_head"]?.stringValue {
      let stored = Digest.sha256Hex(CanonicalJSON.encode(.array(steps)))
      guard stored == head else {
        throw .provenance(file: file, reason: "provenance_head does not match the provenance list")
      }
    } else {
      throw bad("missing \"provenance_head\"")
    }
    signature = o["signature"]
  }

  /// The rules a tensor's name and rank follow, shared by the reader and
  /// the writer (which must never write what the reader refuses); nil
  /// when they hold.
  public static func problem(name: String, rank: Int) -> String? {
    if name.isEmpty || name.utf8.count > Limits.maxTensorNameBytes {
      return "a tensor name must be 1 to \(Limits.maxTensorNameBytes) bytes (maxTensorNameBytes)"
    }
    if rank > Limits.maxDimensions { return "\(rank) dimensions, over \(Limits.maxDimensions) (maxDimensions)" }
    return nil
  }

  static func parseTensor(_ item: JSONValue, index: Int, file: String) throws(ContainerError) -> TensorEntry {
    guard let name = item["name"]?.stringValue, problem(name: name, rank: 0) == nil else {
      throw .invalidHeader(file: file, reason: "tensor #\(index) has no name, or one over \(Limits.maxTensorNameBytes) bytes (maxTensorNameBytes)")
    }
    func bad(_ reason: String) -> ContainerError { .invalidTensor(file: file, tensor: name, reason: reason) }
    guard let dtypeName = item["dtype"]?.stringValue else { throw bad("missing dtype") }
    guard let dtype = DType(rawValue: dtypeName) else { throw bad("unknown dtype '\(dtypeName)'") }
    guard let dims = item["shape"]?.arrayValue, dims.count <= Limits.maxDimensions else {
      throw bad("shape must be an array of at most 16 dimensions")
    }
    var shape: [Int] = []
    for d in dims {
      guard let v = d.intValue, v >= 0 else { throw bad("shape has a negative or non-integer dimension") }
      shape.append(Int(v))
    }
    guard let count = elementCount(shape) else { throw bad("element count overflows") }
    guard let encJSON = item["encoding"], let encoding = Encoding(json: encJSON) else {
      throw bad("missing or malformed encoding")
    }
    let layout: (any QuantCodec)?
    do { layout = try QuantCodecs.layout(encoding, dtype: dtype, shape: shape) } catch { throw bad(error.description) }
    guard let digest = item["digest"]?.stringValue, Digest.isHexDigest(digest) else {
      throw bad("digest is not a 64-digit lowercase hex SHA-256")
    }
    guard let data = item["data"]?.objectValue, let offset = data["offset"]?.intValue, offset >= 0,
      let length = data["length"]?.intValue, length >= 0,
      let compression = data["compression"]?.stringValue
    else { throw bad("missing or malformed data location") }
    guard let expected = layout?.payloadLength ?? dtype.byteCount(elements: count) else {
      throw bad("\(count) elements of \(dtype.rawValue) is not a whole number of bytes")
    }
    var chunks: ChunkTable? = nil
    switch compression {
    case "none":
      guard Int(length) == expected else {
        throw bad("stored length \(length) != \(expected) bytes for shape \(shape) \(dtype.rawValue) \(encoding.kind)")
      }
    case "zstd":
      let width = Compression.planeWidth(dtype, encoding)
      chunks = try ChunkTable.parse(data, storedLength: Int(length), payloadLength: expected, elementWidth: width) { field, reason in
        .invalidStorage(file: file, tensor: name, field: field, reason: reason)
      }
    default:
      throw bad("unknown compression '\(compression)'")
    }
    return TensorEntry(
      name: name, dtype: dtype, shape: shape, encoding: encoding,
      storage: Storage(offset: Int(offset), length: Int(length), chunks: chunks), digest: digest)
  }
}
