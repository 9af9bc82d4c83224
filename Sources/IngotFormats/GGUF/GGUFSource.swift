import IngotArchitectures
import IngotCore
import IngotQuant

/// `--names`: llama.cpp's names or Hugging Face's for a GGUF input.
public enum GGUFNames: String, Sendable, CaseIterable {
  /// Keep llama.cpp's names (`blk.0.attn_q.weight`).
  case gguf
  /// Hugging Face names (`model.layers.0.self_attn.q_proj.weight`), with the
  /// q/k rows put back in HF's rotate-half order.
  case hf
}

/// A GGUF file as a TensorSource. F32, F16 and BF16 tensors are imported bit
/// for bit, and so are block-quantized matrices, in the `ggml` encoding
/// (or, with `native: false`, dequantized to f32). Metadata keys are kept as
/// `gguf/<key>` (values as canonical JSON; tokenizer arrays included).
/// For every architecture in the registry with a GGUF layout, names are
/// mapped to Hugging Face's by default and the converter's transforms undone
/// (llama's q/k rows un-permuted, Gemma's norms back from w + 1), so the
/// tensors equal the checkpoint llama.cpp's converter started from;
/// `names: .gguf` keeps llama.cpp's names and values.
public final class GGUFSource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  public let gguf: GGUFFile
  /// Index into gguf.tensors, output name, heads to un-permute with, and
  /// whether 1 comes off the values (Gemma norms); sorted by name.
  let plan: [(index: Int, name: String, heads: Int?, minusOne: Bool)]

  /// Block-quantized matrices kept in ggml's own bytes (the `ggml`
  /// encoding, the default); off: dequantized to f32
  /// (`convert --gguf-quant dequantize`).
  public let native: Bool

  public init(path: String, names: GGUFNames? = nil, native: Bool = true) throws {
    let file = try GGUFFile(path: path)
    gguf = file
    self.native = native
    func meta(_ key: String) -> JSONValue? { file.metadata.first { $0.key == key }?.value }
    let architecture = meta("general.architecture")?.stringValue ?? ""
    let spec = Architectures.spec(gguf: architecture)
    // A tensor's Hugging Face name and, for a permuted role, its heads.
    func hf(_ spec: ArchitectureSpec, _ name: String, heads: Int, kvHeads: Int) -> (String, Int?, Bool)? {
      guard let m = spec.ggufRole(name), let base = spec.hfName(m.role, layer: m.layer) else { return nil }
      switch (m.suffix, spec.ggufTransforms[m.role]) {
      case (".weight", .unpermuteRows(let byKV)?): return (base + m.suffix, byKV ? kvHeads : heads, false)
      case (".weight", .normPlusOne?): return (base + m.suffix, nil, true)
      default: return (base + m.suffix, nil, false)
      }
    }
    // Default: Hugging Face names for files of a mapped architecture whose
    // tensors all have one (Llama 3's frequency factors have no HF tensor:
    // HF computes them from rope_scaling; they are kept under llama.cpp's
    // name, never dropped).
    func unmapped(_ spec: ArchitectureSpec, _ name: String) -> Bool {
      hf(spec, name, heads: 1, kvHeads: 1) == nil && spec.ggufRole(name)?.role != .ropeFreqs
    }
    let mappable = spec.map { s in !file.tensors.isEmpty && !file.tensors.contains { unmapped(s, $0.name) } } ?? false
    let mode = names ?? (mappable ? .hf : .gguf)
    var plan: [(Int, String, Int?, Bool)] = []
    if mode == .hf {
      guard let spec else {
        throw GGUFError.unmappedArchitecture(file: path, architecture: architecture, known: Architectures.all.compactMap(\.ggufArchitecture))
      }
      guard case .int(let heads)? = meta(architecture + ".attention.head_count"), heads > 0, heads < 1 << 20 else {
        throw GGUFError.badKey(file: path, key: architecture + ".attention.head_count", reason: "missing or out of range: cannot undo the q/k permutation")
      }
      let kvHeads: Int64
      if case .int(let kv)? = meta(architecture + ".attention.head_count_kv") {
        guard kv > 0, kv < 1 << 20 else { throw GGUFError.badKey(file: path, key: architecture + ".attention.head_count_kv", reason: "must be between 1 and 2^20") }
        guard heads % kv == 0 else {
          throw GGUFError.badKey(file: path, key: architecture + ".attention.head_count_kv", reason: "\(kv) does not divide head_count \(heads)")
        }
        kvHeads = kv
      } else {
        kvHeads = heads
      }
      for (i, t) in file.tensors.enumerated() {
        guard let (name, permute, minusOne) = hf(spec, t.name, heads: Int(heads), kvHeads: Int(kvHeads)) else {
          if spec.ggufRole(t.name)?.role == .ropeFreqs { plan.append((i, t.name, nil, false)); continue }
          throw GGUFError.unmappedTensor(file: path, tensor: t.name)
        }
        plan.append((i, name, permute, minusOne))
      }
    } else {
      plan = file.tensors.indices.map { ($0, file.tensors[$0].name, nil, false) }
    }
    var seen = Set<String>()
    for p in plan where !seen.insert(p.1).inserted { throw GGUFError.nameCollision(file: path, tensor: p.1) }
    self.plan = plan.sorted { Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
  }

  public var format: String { "gguf" }
  public var tensors: [SourceTensor] {
    plan.map { p in
      let t = gguf.tensors[p.index]
      if let layout = nativeLayout(t, minusOne: p.minusOne) {
        return SourceTensor(name: p.name, dtype: .f32, shape: t.shape, encoding: layout.encoding, byteCount: layout.payloadLength)
      }
      let dtype = p.minusOne ? .f32 : t.type.plain ?? .f32
      return SourceTensor(name: p.name, dtype: dtype, shape: t.shape, byteCount: (elementCount(t.shape) ?? 0) * dtype.bits / 8)
    }
  }

  /// The container layout a block-quantized tensor keeps, when `native` is
  /// on: ggml's own bytes (GGMLBlockCodec), for matrices (the container's
  /// quantized encodings need rank 2) that are not offset (Gemma's norms).
  func nativeLayout(_ t: GGUFFile.TensorInfo, minusOne: Bool) -> GGMLBlockCodec? {
    guard native, t.type.isBlock, !minusOne, t.shape.count >= 2, let count = elementCount(t.shape), count > 0, t.shape[0] > 0 else { return nil }
    return GGMLBlockCodec(type: t.type, rows: t.shape[0], cols: count / t.shape[0])
  }

  public var metadata: [String: String] {
    var out: [String: String] = [:]
    for (k, v) in gguf.metadata {
      if case .string(let s) = v { out["gguf/" + k] = s } else { out["gguf/" + k] = CanonicalJSON.string(v) }
    }
    // The wire types, in file order, so that export writes each key back
    // as it was (JSON has one number type; llama.cpp checks u32 vs i32).
    out[Self.typesKey] = CanonicalJSON.string(.array(gguf.types.map { t in
      .array([.string(t.key), .string(GGUFValue.typeNames[t.type] ?? "?")] + (t.element.map { [.string(GGUFValue.typeNames[$0] ?? "?")] } ?? []))
    }))
    return out
  }
  /// The metadata entry that lists every key's GGUF wire type.
  public static let typesKey = "gguf-types"

  public var files: [SourceFile] { [SourceFile(path: gguf.path, recordedPath: baseName(gguf.path), format: "gguf", size: gguf.mapped.size)] }
  public var provenance: [ProvenanceStep] { [] }
  public var inputModelDigest: String? { nil }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let p = plan[index]
    let t = gguf.tensors[p.index]
    guard let raw = gguf.mapped.bytes(t.range) else { throw GGUFError.dataOutOfBounds(file: gguf.path, tensor: t.name, offset: t.range.lowerBound) }
    func deliver(_ values: UnsafeRawBufferPointer) throws -> R {
      guard let heads = p.heads else { return try body(values) }
      let rows = t.shape.first ?? 0
      let out = try allocateBuffer(values.count, file: gguf.path)
      defer { out.deallocate() }
      let view = UnsafeMutableRawBufferPointer(rebasing: out[0..<values.count])
      guard t.shape.count == 2, RowPermutation.unpermute(values, rows: rows, rowBytes: values.count / max(rows, 1), heads: heads, into: view) else {
        throw GGUFError.rowsNotRotaryPairs(file: gguf.path, tensor: t.name, shape: t.shape, heads: heads)
      }
      return try body(UnsafeRawBufferPointer(view))
    }
    // Native blocks and plain floats are the file's bytes (q/k rows moved
    // whole into Hugging Face's order under --names hf).
    if nativeLayout(t, minusOne: p.minusOne) != nil { return try deliver(raw) }
    if t.type.plain != nil && !p.minusOne { return try deliver(raw) }
    let count = elementCount(t.shape) ?? 0
    let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
    defer { out.deallocate() }
    if let plain = t.type.plain {
      FloatConversion.convert(count: count, from: plain, to: .f32, input: raw, output: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[0..<(count * 4)]))
    } else {
      GGMLDequant.dequantize(t.type, raw, count: count, into: out.baseAddress!)  // audited: capacity ≥ 1
    }
    // Gemma: llama.cpp's converter stored w + 1; Hugging Face's weight is w.
    if p.minusOne { for i in 0..<count { out[i] -= 1 } }
    return try deliver(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<(count * 4)]))
  }

  public func release(_ index: Int) { gguf.mapped.release(gguf.tensors[plan[index].index].range) }
}
