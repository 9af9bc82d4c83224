import IngotContainer

/// A GGUF file as a TensorSource. F32, F16 and BF16 tensors are imported bit
/// for bit; quantized ones are dequantized to f32. Metadata keys are kept as
/// `gguf/<key>` (values as canonical JSON; tokenizer arrays included).
/// For llama models, names are mapped to Hugging Face's by default and the
/// q/k rows un-permuted, so the tensors equal the checkpoint llama.cpp's
/// converter started from; `names: .gguf` keeps llama.cpp's names and rows.
public final class GGUFSource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  public let gguf: GGUFFile
  /// Index into gguf.tensors, output name, heads to un-permute with; sorted by name.
  let plan: [(index: Int, name: String, heads: Int?)]

  /// Q8_0, Q4_0 and Q4_1 tensors of rank ≥ 2 kept as the container's
  /// int8_block and symmetric / asymmetric int4_group (g32, f16) encodings,
  /// which dequantize to the same f32 values bit for bit
  /// (`convert --gguf-quant native`).
  public let native: Bool

  public init(path: String, names: GGUFNames? = nil, native: Bool = false) throws {
    let file = try GGUFFile(path: path)
    gguf = file
    self.native = native
    func meta(_ key: String) -> JSONValue? { file.metadata.first { $0.key == key }?.value }
    let architecture = meta("general.architecture")?.stringValue ?? ""
    // Default: Hugging Face names for llama files whose tensors all have one.
    let looksLlama = architecture == "llama" && !file.tensors.isEmpty
      && file.tensors.allSatisfy { LlamaNames.hf($0.name, heads: 1, kvHeads: 1) != nil || $0.name == "rope_freqs.weight" }
    let mode = names ?? (looksLlama ? .hf : .gguf)
    var plan: [(Int, String, Int?)] = []
    if mode == .hf {
      guard architecture == "llama" else {
        throw GGUFError.invalid(file: path, offset: 0, reason: "--names hf knows the llama architecture only (this file is '\(architecture)'); use --names gguf")
      }
      guard case .int(let heads)? = meta("llama.attention.head_count"), heads > 0 else {
        throw GGUFError.invalid(file: path, offset: 0, reason: "llama.attention.head_count is missing: cannot undo the q/k permutation")
      }
      let kvHeads: Int64
      if case .int(let kv)? = meta("llama.attention.head_count_kv"), kv > 0 { kvHeads = kv } else { kvHeads = heads }
      for (i, t) in file.tensors.enumerated() {
        guard let (name, permute) = LlamaNames.hf(t.name, heads: Int(heads), kvHeads: Int(kvHeads)) else {
          // Llama 3's frequency factors have no HF tensor (HF computes them
          // from rope_scaling); kept under llama.cpp's name, never dropped.
          if t.name == "rope_freqs.weight" { plan.append((i, t.name, nil)); continue }
          throw GGUFError.invalid(file: path, offset: 0, reason: "\(t.name): no Hugging Face name for this tensor; use --names gguf")
        }
        plan.append((i, name, permute))
      }
    } else {
      plan = file.tensors.indices.map { ($0, file.tensors[$0].name, nil) }
    }
    var seen = Set<String>()
    for p in plan where !seen.insert(p.1).inserted { throw GGUFError.invalid(file: path, offset: 0, reason: "\(p.1): two tensors map to this name") }
    self.plan = plan.sorted { Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
  }

  public var format: String { "gguf" }
  public var tensors: [SourceTensor] {
    plan.map { p in
      let t = gguf.tensors[p.index]
      if let layout = nativeLayout(t) {
        return SourceTensor(name: p.name, dtype: .f32, shape: t.shape, encoding: layout.encoding, byteCount: layout.payloadLength)
      }
      let dtype = t.type.plain ?? .f32
      return SourceTensor(name: p.name, dtype: dtype, shape: t.shape, byteCount: (elementCount(t.shape) ?? 0) * dtype.bits / 8)
    }
  }

  /// The container layout a Q8_0, Q4_0 or Q4_1 tensor is re-expressed in, when
  /// `native` is on and the tensor is a matrix (the encodings need rank 2).
  func nativeLayout(_ t: GGUFFile.TensorInfo) -> QuantLayout? {
    guard native, t.shape.count >= 2, let count = elementCount(t.shape), count > 0, t.shape[0] > 0 else { return nil }
    let rows = t.shape[0], cols = count / rows
    switch t.type {
    case .q8_0: return QuantLayout(kind: .int8Block, rows: rows, cols: cols, groupSize: 32, symmetric: true, scales: .plain, superBlock: 0)
    case .q4_0: return QuantLayout(kind: .int4Group, rows: rows, cols: cols, groupSize: 32, symmetric: true, scales: .plain, superBlock: 0)
    case .q4_1: return QuantLayout(kind: .int4Group, rows: rows, cols: cols, groupSize: 32, symmetric: false, scales: .plain, superBlock: 0)
    default: return nil
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
    let p = plan[index]
    let t = gguf.tensors[p.index]
    guard let raw = gguf.mapped.bytes(t.range) else { throw GGUFError.invalid(file: gguf.path, offset: t.range.lowerBound, reason: "\(t.name): out of bounds") }
    func deliver(_ values: UnsafeRawBufferPointer) throws -> R {
      guard let heads = p.heads else { return try body(values) }
      let rows = t.shape.first ?? 0
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(values.count, 1), alignment: 64)
      defer { out.deallocate() }
      let view = UnsafeMutableRawBufferPointer(rebasing: out[0..<values.count])
      guard t.shape.count == 2, LlamaNames.unpermute(values, rows: rows, rowBytes: values.count / max(rows, 1), heads: heads, into: view) else {
        throw GGUFError.invalid(file: gguf.path, offset: t.range.lowerBound, reason: "\(t.name): \(t.shape) rows do not split into \(heads) heads of rotary pairs")
      }
      return try body(UnsafeRawBufferPointer(view))
    }
    if let layout = nativeLayout(t) {
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: layout.payloadLength, alignment: 64)
      defer { out.deallocate() }
      // Output row r comes from GGUF row source(r): the identity, or the
      // inverse of llama.cpp's q/k permutation (whole rows move, so the
      // blocks of a row, codes and scales, move with it).
      var source = Array(0..<layout.rows)
      if let heads = p.heads {
        guard LlamaNames.unpermutedRows(rows: layout.rows, heads: heads, into: &source) else {
          throw GGUFError.invalid(file: gguf.path, offset: t.range.lowerBound, reason: "\(t.name): \(t.shape) rows do not split into \(heads) heads of rotary pairs")
        }
      }
      GGMLNative.reexpress(t.type, raw, layout: layout, sourceRows: source, into: out)
      return try body(UnsafeRawBufferPointer(out))
    }
    if t.type.plain != nil { return try deliver(raw) }
    let count = elementCount(t.shape) ?? 0
    let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
    defer { out.deallocate() }
    GGMLDequant.dequantize(t.type, raw, count: count, into: out.baseAddress!)  // audited: capacity ≥ 1
    return try deliver(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<(count * 4)]))
  }

  public func release(_ index: Int) { gguf.mapped.release(gguf.tensors[plan[index].index].range) }
}
