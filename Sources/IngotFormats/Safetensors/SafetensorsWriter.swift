import IngotContainer

/// Writes a safetensors file in one streaming pass: the header is known from
/// dtypes and shapes alone, then payloads follow back to back in the order
/// given. Output is atomic like every file Ingot writes.
public final class SafetensorsWriter {
  public struct Planned: Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var byteCount: Int
    public init(name: String, dtype: DType, shape: [Int], byteCount: Int) {
      self.name = name
      self.dtype = dtype
      self.shape = shape
      self.byteCount = byteCount
    }
  }

  let output: AtomicFile
  let plan: [Planned]
  let dataStart: Int
  var offsets: [Int] = []
  var next = 0

  /// - Parameter metadata: extra `__metadata__` entries; `format` is always "pt"
  ///   because transformers refuses files without it.
  public init(path: String, inputs: [String], force: Bool, tensors: [Planned], metadata: [String: String] = [:]) throws {
    plan = tensors
    var header: [String: JSONValue] = [:]
    var meta = metadata.mapValues { JSONValue.string($0) }
    meta["format"] = "pt"
    header["__metadata__"] = .object(meta)
    var offset = 0
    for t in tensors {
      guard let name = SafetensorsDType.byDType[t.dtype] else {
        throw SafetensorsError.unsupportedDType(file: path, tensor: t.name, dtype: t.dtype.rawValue)
      }
      header[t.name] = [
        "dtype": .string(name), "shape": .ints(t.shape),
        "data_offsets": .ints([offset, offset + t.byteCount]),
      ]
      offsets.append(offset)
      offset += t.byteCount
    }
    var json = CanonicalJSON.encode(.object(header))
    json.append(contentsOf: repeatElement(0x20, count: (8 - json.count % 8) % 8))
    output = try AtomicFile(path: path, inputs: inputs, force: force)
    var head: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { head.append(contentsOf: $0) }
    head += json
    try output.write(head, at: 0)
    dataStart = head.count
  }

  /// Writes the next tensor's payload, in plan order.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(next < plan.count && bytes.count == plan[next].byteCount, "payload out of plan")
    try output.write(bytes, at: dataStart + offsets[next])
    next += 1
  }

  public func finish() throws {
    guard next == plan.count else {
      throw ContainerError.io(file: output.path, operation: "export (\(plan.count - next) tensors missing)", errno: 5)
    }
    try output.commit()
  }
}
