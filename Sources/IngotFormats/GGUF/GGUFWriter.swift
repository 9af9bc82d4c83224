import IngotCore
import IngotQuant

/// The GGUF sink (formats/gguf.md): a v3 file with the given key/values,
/// then one tensor info per planned tensor under its name as it arrives
/// (llama.cpp's), dims innermost first, and the data of each tensor at the
/// next multiple of the alignment. Tensors arrive as raw f32/f16/bf16 or in
/// the `ggml` encoding, whose payload is already GGUF's block bytes.
public final class GGUFWriter: TensorSink {
  let output: AtomicFile
  let keyValues: [(key: String, value: GGUFValue)]
  let alignment: Int
  var stream: StreamingOutput?
  var sizes: [Int] = []
  var dataStart = 0
  var end = 0
  var next = 0
  public private(set) var types: [GGMLType] = []

  public init(path: String, inputs: [String], force: Bool, metadata: [(key: String, value: GGUFValue)]) throws {
    var seen = Set<String>()
    for kv in metadata where !seen.insert(kv.key).inserted { throw GGUFError.duplicateKey(file: path, key: kv.key, offset: 0) }
    var alignment = 32
    if let a = metadata.first(where: { $0.key == "general.alignment" })?.value {
      guard case .u32(let v) = a, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
        throw GGUFError.badKey(file: path, key: "general.alignment", reason: "must be a u32 power of two up to 2^20")
      }
      alignment = Int(v)
    }
    self.alignment = alignment
    keyValues = metadata
    output = try AtomicFile(path: path, inputs: inputs, force: force)
  }

  public var path: String { output.path }

  /// A planned tensor's GGML type, or why it has no GGUF form.
  public static func type(of t: SourceTensor) throws(GGUFError) -> GGMLType {
    if t.encoding.isRaw {
      guard let type = GGMLType(plain: t.dtype) else { throw .noGGUFForm(tensor: t.name, reason: "dtype \(t.dtype.rawValue): GGUF stores f32, f16, bf16 and ggml blocks") }
      return type
    }
    guard t.encoding.kind == GGMLBlockCodec.kind, let name = t.encoding.parameters["type"]?.stringValue, let type = GGMLType(name: name), type.isBlock else {
      throw .noGGUFForm(tensor: t.name, reason: "encoding \(t.encoding.kind) reached the GGUF writer")
    }
    return type
  }

  func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

  public func plan(_ plan: SinkPlan) throws {
    var head: [UInt8] = Array("GGUF".utf8)
    func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { head.append(contentsOf: $0) } }
    le(UInt32(3))
    le(UInt64(plan.tensors.count))
    le(UInt64(keyValues.count))
    for (key, value) in keyValues {
      GGUFValue.string(key).encode(into: &head)
      le(value.typeCode)
      value.encode(into: &head)
    }
    var offset = 0
    var names = Set<String>()
    for t in plan.tensors {
      guard names.insert(t.name).inserted else { throw GGUFError.duplicateTensor(file: path, tensor: t.name) }
      guard !t.name.isEmpty, t.name.utf8.count < 64 else { throw GGUFError.badTensorName(file: path, offset: head.count) }
      guard (1...4).contains(t.shape.count) else { throw GGUFError.badRank(file: path, tensor: t.name, rank: UInt32(t.shape.count)) }
      let type = try Self.type(of: t)
      // Whole blocks per row, and the byte count the type implies.
      guard let count = elementCount(t.shape), let bytes = type.byteCount(elements: count, rowLength: t.shape.last ?? 1), bytes == t.byteCount else {
        throw GGUFError.partialBlocks(file: path, tensor: t.name, shape: t.shape, type: "\(type)")
      }
      types.append(type)
      GGUFValue.string(t.name).encode(into: &head)
      le(UInt32(t.shape.count))
      for d in t.shape.reversed() { le(UInt64(d)) }
      le(type.rawValue)
      le(UInt64(offset))
      sizes.append(bytes)
      offset = padded(offset + bytes)
    }
    dataStart = padded(head.count)
    head.append(contentsOf: repeatElement(0, count: dataStart - head.count))
    let stream = StreamingOutput(fd: output.fd, path: path, start: 0)
    try head.withUnsafeBytes { try stream.write($0, at: 0) }
    self.stream = stream
    end = dataStart + offset
    next = dataStart
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard let stream, stream.position + bytes.count <= end else {
      throw FileError.payloadMismatch(file: path, expected: end, actual: (stream?.position ?? 0) + bytes.count)
    }
    try stream.write(bytes, at: stream.position)
  }

  public func end(_ index: Int, digest: String) throws {
    guard let stream, index < sizes.count, stream.position == next + sizes[index] else {
      throw FileError.payloadMismatch(file: path, expected: next + (index < sizes.count ? sizes[index] : 0), actual: stream?.position ?? 0)
    }
    next = padded(next + sizes[index])
    let pad = next - stream.position
    if pad > 0 {
      let zeros = [UInt8](repeating: 0, count: pad)
      try zeros.withUnsafeBytes { try stream.write($0, at: stream.position) }
    }
  }

  public func finish(_ step: ProvenanceStep) throws {
    guard let stream else { throw FileError.payloadMismatch(file: path, expected: end, actual: 0) }
    try stream.finish()
    guard stream.position == end else { throw FileError.payloadMismatch(file: path, expected: end, actual: stream.position) }
    try output.truncate(to: end)
    try output.commit()
  }
}
