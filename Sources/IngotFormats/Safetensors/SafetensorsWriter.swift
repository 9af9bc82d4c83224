import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// The safetensors sink: the header is known from dtypes and shapes alone
/// (written at `plan`), then payloads follow back to back in plan order.
/// Output is atomic like every file Ingot writes.
public final class SafetensorsWriter: TensorSink {
  let output: AtomicFile
  let extraMetadata: [String: String]
  var stream: StreamingOutput?
  var end = 0

  /// - Parameter metadata: `__metadata__` entries besides `format`, which is
  ///   always "pt" because transformers refuses files without it.
  public init(path: String, inputs: [String], force: Bool, metadata: [String: String] = [:]) throws {
    output = try AtomicFile(path: path, inputs: inputs, force: force)
    extraMetadata = metadata
  }

  public var path: String { output.path }

  public func plan(_ plan: SinkPlan) throws {
    var header: [String: JSONValue] = [:]
    var meta = extraMetadata.mapValues { JSONValue.string($0) }
    meta["format"] = "pt"
    header["__metadata__"] = .object(meta)
    var offset = 0
    for t in plan.tensors {
      guard t.encoding.isRaw else { throw SafetensorsError.unsupportedDType(file: path, tensor: t.name, dtype: t.encoding.kind) }
      guard let name = SafetensorsDType.byDType[t.dtype] else {
        throw SafetensorsError.unsupportedDType(file: path, tensor: t.name, dtype: t.dtype.rawValue)
      }
      header[t.name] = ["dtype": .string(name), "shape": .ints(t.shape), "data_offsets": .ints([offset, offset + t.byteCount])]
      offset += t.byteCount
    }
    var json = CanonicalJSON.encode(.object(header))
    json.append(contentsOf: repeatElement(0x20, count: (8 - json.count % 8) % 8))
    let stream = StreamingOutput(fd: output.fd, path: path, start: 0)
    var head: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { head.append(contentsOf: $0) }
    head += json
    try head.withUnsafeBytes { try stream.write($0, at: 0) }
    self.stream = stream
    end = head.count + offset
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard let stream, stream.position + bytes.count <= end else {
      throw FileError.payloadMismatch(file: path, expected: end, actual: (stream?.position ?? 0) + bytes.count)
    }
    try stream.write(bytes, at: stream.position)
  }

  public func end(_ index: Int, digest: String) throws {}

  public func finish(_ step: ProvenanceStep) throws {
    guard let stream else { throw FileError.payloadMismatch(file: path, expected: end, actual: 0) }
    try stream.finish()
    guard stream.position == end else { throw FileError.payloadMismatch(file: path, expected: end, actual: stream.position) }
    try output.truncate(to: end)  // drop the block padding of the last direct write
    try output.commit()
  }
}
