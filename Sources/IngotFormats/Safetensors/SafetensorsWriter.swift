import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// The safetensors sink: the header is known from dtypes and shapes alone
/// (written at `plan`), then payloads follow back to back in plan order.
/// Output is atomic like every file Ingot writes.
public final class SafetensorsWriter: TensorSink {
  /// One header entry: a tensor's payload may be laid out as several
  /// consecutive entries (MLX stores a quantized layer as three).
  public struct Entry {
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
  let extraMetadata: [String: String]
  let layout: (SourceTensor) throws -> [Entry]
  var stream: StreamingOutput?
  var end = 0

  /// - Parameter metadata: `__metadata__` entries besides `format`, which is
  ///   "pt" unless given, because transformers refuses files without it.
  /// - Parameter layout: a planned tensor's entries, front to back; by default
  ///   one entry for a raw tensor, and a refusal for an encoded one.
  public init(path: String, inputs: [String], force: Bool, metadata: [String: String] = [:],
              layout: ((SourceTensor) throws -> [Entry])? = nil) throws {
    output = try AtomicFile(path: path, inputs: inputs, force: force)
    extraMetadata = metadata
    let file = path
    self.layout = layout ?? { t in
      guard t.encoding.isRaw else { throw SafetensorsError.unsupportedDType(file: file, tensor: t.name, dtype: t.encoding.kind) }
      return [Entry(name: t.name, dtype: t.dtype, shape: t.shape, byteCount: t.byteCount)]
    }
  }

  public var path: String { output.path }

  public func plan(_ plan: SinkPlan) throws {
    var header: [String: JSONValue] = [:]
    var meta = extraMetadata.mapValues { JSONValue.string($0) }
    if meta["format"] == nil { meta["format"] = "pt" }
    header["__metadata__"] = .object(meta)
    var offset = 0
    for t in plan.tensors {
      let entries = try layout(t)
      guard entries.reduce(0, { $0 + $1.byteCount }) == t.byteCount else {
        throw FileError.payloadMismatch(file: path, expected: t.byteCount, actual: entries.reduce(0) { $0 + $1.byteCount })
      }
      for e in entries {
        guard let name = SafetensorsDType.byDType[e.dtype] else {
          throw SafetensorsError.unsupportedDType(file: path, tensor: e.name, dtype: e.dtype.rawValue)
        }
        guard header[e.name] == nil, e.name != "__metadata__" else { throw SafetensorsError.duplicateTensor(file: path, tensor: e.name) }
        header[e.name] = ["dtype": .string(name), "shape": .ints(e.shape), "data_offsets": .ints([offset, offset + e.byteCount])]
        offset += e.byteCount
      }
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
