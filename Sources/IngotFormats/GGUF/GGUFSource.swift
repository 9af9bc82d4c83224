import IngotContainer

/// A GGUF file as a TensorSource. F32, F16 and BF16 tensors are imported bit
/// for bit; quantized ones are dequantized to f32. Metadata keys are kept as
/// `gguf/<key>` (values as canonical JSON; tokenizer arrays included).
/// Tensor names stay llama.cpp's (`blk.0.attn_q.weight`): mapping to Hugging
/// Face names is not done yet.
public final class GGUFSource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  public let gguf: GGUFFile
  let order: [Int]

  public init(path: String) throws {
    let file = try GGUFFile(path: path)
    gguf = file
    order = file.tensors.indices.sorted { Array(file.tensors[$0].name.utf8).lexicographicallyPrecedes(Array(file.tensors[$1].name.utf8)) }
  }

  public var format: String { "gguf" }
  public var tensors: [SourceTensor] {
    order.map { i in
      let t = gguf.tensors[i]
      let dtype = t.type.plain ?? .f32
      return SourceTensor(name: t.name, dtype: dtype, shape: t.shape, byteCount: (elementCount(t.shape) ?? 0) * dtype.bits / 8)
    }
  }
  public var metadata: [String: String] {
    var out: [String: String] = [:]
    for (k, v) in gguf.metadata {
      if case .string(let s) = v { out["gguf/" + k] = s } else { out["gguf/" + k] = CanonicalJSON.string(v) }
    }
    return out
  }
  public var files: [SourceFile] { [SourceFile(path: gguf.path, recordedPath: baseName(gguf.path), format: "gguf", size: gguf.mapped.size)] }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let t = gguf.tensors[order[index]]
    guard let raw = gguf.mapped.bytes(t.range) else { throw GGUFError.invalid(file: gguf.path, offset: t.range.lowerBound, reason: "\(t.name): out of bounds") }
    if t.type.plain != nil { return try body(raw) }
    let count = elementCount(t.shape) ?? 0
    let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
    defer { out.deallocate() }
    GGMLDequant.dequantize(t.type, raw, count: count, into: out.baseAddress!)  // audited: capacity ≥ 1
    return try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<(count * 4)]))
  }

  public func release(_ index: Int) { gguf.mapped.release(gguf.tensors[order[index]].range) }
}
