import IngotCore

/// An mlx-lm quantized model folder as a TensorSource: safetensors plus a
/// config.json `quantization` block. Each quantized layer's three tensors
/// (`weight` as uint32 words, `scales`, `biases`) become one tensor under
/// the layer's weight name, encoded `mlx_affine`, whose payload is MLX's own
/// bytes: the words, then the scales, then the biases. Everything else
/// passes through as the safetensors source lists it.
public final class MLXSource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init; the base source is read-only.
  let base: SafetensorsSource
  public let tensors: [SourceTensor]
  public let quantization: MLXQuantization
  /// For each tensor, its parts in the base source, in payload order.
  let parts: [[Int]]

  public var format: String { "mlx" }
  public var metadata: [String: String] { base.metadata }
  public var files: [SourceFile] { base.files }

  /// The folder's config.json `quantization` block, when it has one.
  public static func quantizationBlock(folder: String) -> JSONValue? {
    let path = folder + "/config.json"
    guard let mapped = try? MappedFile(path: path), mapped.size <= Limits.maxMetadataStringBytes,
      let json = try? JSONParser.parse(mapped.all)
    else { return nil }
    return json["quantization"]
  }

  public init(folder: String) throws {
    base = try SafetensorsSource(paths: [folder])
    let config = folder + "/config.json"
    guard let block = Self.quantizationBlock(folder: folder) else {
      throw MLXError.badQuantization(file: config, key: "", reason: "no quantization block")
    }
    quantization = try MLXQuantization(json: block, file: config)
    let index = Dictionary(uniqueKeysWithValues: base.tensors.enumerated().map { ($0.element.name, $0.offset) })
    var used = Set<Int>()
    var out: [(SourceTensor, [Int])] = []
    for (i, t) in base.tensors.enumerated() where t.name.hasSuffix(".scales") {
      let layer = String(t.name.dropLast(".scales".count))
      guard let w = index[layer + ".weight"] else { throw MLXError.badLayer(file: folder, tensor: t.name, reason: "scales without \(layer).weight") }
      guard let b = index[layer + ".biases"] else {
        throw MLXError.badLayer(file: folder, tensor: t.name, reason: "no \(layer).biases (affine mode stores a bias per group)")
      }
      let tensor = try Self.layer(layer, weight: base.tensors[w], scales: t, biases: base.tensors[b], quantization: quantization, folder: folder)
      used.formUnion([w, i, b])
      out.append((tensor, [w, i, b]))
    }
    for (i, t) in base.tensors.enumerated() where !used.contains(i) {
      if t.dtype == .u32 && t.name.hasSuffix(".weight") {
        throw MLXError.badLayer(file: folder, tensor: t.name, reason: "uint32 weight without scales: a quantized layer with parts missing")
      }
      out.append((t, [i]))
    }
    out.sort { Array($0.0.name.utf8).lexicographicallyPrecedes(Array($1.0.name.utf8)) }
    tensors = out.map { $0.0 }
    parts = out.map { $0.1 }
  }

  /// The merged tensor for one layer, after checking its parts against the
  /// config's bits and group size for it.
  static func layer(_ layer: String, weight: SourceTensor, scales: SourceTensor, biases: SourceTensor, quantization: MLXQuantization, folder: String) throws -> SourceTensor {
    func bad(_ reason: String) -> MLXError { .badLayer(file: folder, tensor: weight.name, reason: reason) }
    let q: MLXLayerQuant
    switch quantization.entry(layer) {
    case .some(nil): throw bad("config says \(layer) is not quantized, but it has scales")
    case .some(.some(let p)): q = p
    case .none: q = quantization.defaults
    }
    guard weight.dtype == .u32 else { throw bad("dtype \(weight.dtype.rawValue); a quantized weight is uint32 words") }
    guard [.f16, .bf16, .f32].contains(scales.dtype) else { throw bad("scales dtype \(scales.dtype.rawValue) is not f16, bf16 or f32") }
    guard biases.dtype == scales.dtype, biases.shape == scales.shape else { throw bad("biases (\(biases.dtype.rawValue) \(biases.shape)) differ from scales (\(scales.dtype.rawValue) \(scales.shape))") }
    guard weight.shape.count >= 2, scales.shape.count == weight.shape.count, Array(weight.shape.dropLast()) == Array(scales.shape.dropLast()) else {
      throw bad("weight \(weight.shape) and scales \(scales.shape) do not share their leading dimensions")
    }
    let words = weight.shape.last!, groups = scales.shape.last!  // audited: rank ≥ 2
    let (cols, overflow) = words.multipliedReportingOverflow(by: 32)
    guard !overflow, cols % q.bits == 0, cols / q.bits == groups * q.groupSize, groups > 0 else {
      throw bad("\(words) words of \(q.bits)-bit codes do not make \(groups) groups of \(q.groupSize) (config bits \(q.bits), group_size \(q.groupSize))")
    }
    let shape = Array(weight.shape.dropLast()) + [cols / q.bits]
    let encoding = Encoding(kind: "mlx_affine", parameters: ["bits": .int(Int64(q.bits)), "group_size": .int(Int64(q.groupSize)), "scale_dtype": .string(scales.dtype.rawValue)])
    return SourceTensor(name: weight.name, dtype: scales.dtype, shape: shape, encoding: encoding, byteCount: weight.byteCount + scales.byteCount + biases.byteCount)
  }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let p = parts[index]
    if p.count == 1 { return try base.withPayload(p[0], body) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: tensors[index].byteCount, alignment: 64)
    defer { buffer.deallocate() }
    var at = 0
    for part in p {
      try base.withPayload(part) { bytes in
        UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + bytes.count)]).copyMemory(from: bytes)
        at += bytes.count
      }
    }
    return try body(UnsafeRawBufferPointer(buffer))
  }

  public func forEachSlice(_ index: Int, size: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
    var start = 0
    for part in parts[index] {
      try base.forEachSlice(part, size: size) { slice, offset in try body(slice, start + offset) }
      start += base.tensors[part].byteCount
    }
  }

  public func release(_ index: Int) {
    for part in parts[index] { base.release(part) }
  }
}
