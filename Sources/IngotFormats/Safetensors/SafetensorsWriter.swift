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
  let stream: StreamingOutput
  let plan: [Planned]
  let end: Int

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
      offset += t.byteCount
    }
    var json = CanonicalJSON.encode(.object(header))
    json.append(contentsOf: repeatElement(0x20, count: (8 - json.count % 8) % 8))
    output = try AtomicFile(path: path, inputs: inputs, force: force)
    let stream = StreamingOutput(fd: output.fd, path: path, start: 0)
    var head: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { head.append(contentsOf: $0) }
    head += json
    try head.withUnsafeBytes { try stream.write($0, at: 0) }
    self.stream = stream
    end = head.count + offset
  }

  /// Appends the next bytes of the payloads, in plan order; a payload may
  /// come in any number of parts.
  public func append(_ bytes: UnsafeRawBufferPointer) throws {
    guard stream.position + bytes.count <= end else {
      throw ContainerError.io(file: output.path, operation: "export (more payload bytes than planned)", errno: EINVAL)
    }
    try stream.write(bytes, at: stream.position)
  }

  public func finish() throws {
    try stream.finish()
    guard stream.position == end else {
      throw ContainerError.io(file: output.path, operation: "export (\(end - stream.position) payload bytes missing)", errno: EIO)
    }
    try output.truncate(to: end)  // drop the block padding of the last direct write
    try output.commit()
  }
}

#if canImport(Glibc)
  import Glibc
#endif
