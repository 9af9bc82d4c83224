import IngotArchitectures
import IngotCore
import IngotFormats
import IngotQuant

/// Export to GGUF: each tensor under llama.cpp's name with the converter's
/// transforms (llama's q/k rows permuted, Gemma's norms as w + 1), and in a
/// form GGUF holds exactly: f32/f16/bf16 and `ggml` blocks as they are,
/// int8_block and int4_group g32 (f16 scales) as Q8_0, Q4_0 and Q4_1 (the
/// same values, GGMLTranscode). Anything else is refused by name unless
/// `dequantizeTo` names a float dtype to write it in.
public struct GGUFStage: TensorStage {
  public var name: String { "gguf" }
  /// The architecture's names and transforms; nil: the container's names
  /// are llama.cpp's already (a GGUF-born container).
  let spec: ArchitectureSpec?
  let heads: Int
  let kvHeads: Int
  public let dequantizeTo: DType?
  /// Tensors already under llama.cpp's name (ones export derives).
  let passThrough: Set<String>
  /// Keep a name the architecture does not map (a GGUF-born container's
  /// own names) instead of refusing it.
  let keepUnmapped: Bool

  public init(spec: ArchitectureSpec?, heads: Int, kvHeads: Int, dequantizeTo: DType? = nil, passThrough: [String] = [], keepUnmapped: Bool = false) {
    self.passThrough = Set(passThrough)
    self.keepUnmapped = keepUnmapped
    self.spec = spec
    self.heads = heads
    self.kvHeads = kvHeads
    self.dequantizeTo = dequantizeTo
  }

  /// A tensor's GGUF name and row transform.
  enum Transform: Equatable { case none, permute(heads: Int), plusOne }

  func target(_ name: String) throws -> (String, Transform) {
    guard let spec, !passThrough.contains(name) else { return (name, .none) }
    guard let m = spec.hfRole(name), let base = spec.ggufName(m.role, layer: m.layer) else {
      if keepUnmapped { return (name, .none) }
      throw GGUFError.noGGUFForm(tensor: name, reason: "no llama.cpp name for it in the \(spec.name) architecture")
    }
    let transform: Transform
    switch (m.suffix, spec.ggufTransforms[m.role]) {
    case (".weight", .unpermuteRows(let byKV)?): transform = .permute(heads: byKV ? kvHeads : heads)
    case (".weight", .normPlusOne?): transform = .plusOne
    default: transform = .none
    }
    return (base + m.suffix, transform)
  }

  enum Form {
    case same
    case transcode(any QuantCodec, GGMLType)
    case dequantize(any QuantCodec, DType)
  }

  func form(_ t: SourceTensor) throws -> Form {
    guard let codec = try QuantCodecs.layout(t.encoding, dtype: t.dtype, shape: t.shape) else {
      guard GGMLType(plain: t.dtype) != nil else {
        throw GGUFError.noGGUFForm(tensor: t.name, reason: "dtype \(t.dtype.rawValue); GGUF holds f32, f16, bf16 and ggml blocks")
      }
      return .same
    }
    if codec is GGMLBlockCodec { return .same }
    if let type = GGMLTranscode.type(of: codec) { return .transcode(codec, type) }
    guard let d = dequantizeTo else { throw GGUFError.noGGUFForm(tensor: t.name, reason: GGMLTranscode.reason(codec)) }
    return .dequantize(codec, d)
  }

  public func plan(_ t: SourceTensor) throws -> SourceTensor {
    let (name, transform) = try target(t.name)
    var out = t
    out.name = name
    switch try form(t) {
    case .same: break
    case .transcode(let codec, let type):
      let g = GGMLBlockCodec(type: type, rows: codec.rows, cols: codec.cols)
      out.encoding = g.encoding
      out.byteCount = g.payloadLength
    case .dequantize(let codec, let dtype):
      out.encoding = .raw
      out.dtype = dtype
      out.byteCount = codec.rows * codec.cols * dtype.bits / 8
    }
    if transform == .plusOne {
      guard out.encoding.isRaw, let n = elementCount(t.shape) else { throw GGUFError.noGGUFForm(tensor: t.name, reason: "a Gemma norm must be a float tensor to store as w + 1") }
      out.dtype = .f32
      out.byteCount = n * 4
    }
    if case .permute(let h) = transform, t.shape.count != 2 || t.shape[0] % (2 * h) != 0 {
      throw GGUFError.rowsNotRotaryPairs(file: "export", tensor: t.name, shape: t.shape, heads: h)
    }
    return out
  }

  public func keepsPayload(_ from: SourceTensor, _ to: SourceTensor) -> Bool {
    guard Pipeline.samePayload(from, to), let (_, transform) = try? target(from.name) else { return false }
    return transform == .none
  }

  public func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue? {
    let (_, transform) = try target(from.name)
    // Into the target form: straight into `output`, or into a scratch
    // buffer when rows move or values change after it.
    let scratch: UnsafeMutableRawBufferPointer? = transform == .none ? nil : .allocate(byteCount: max(to.byteCount, 1), alignment: 16)
    defer { scratch?.deallocate() }
    let formed = scratch ?? output
    switch try form(from) {
    case .same:
      formed.copyMemory(from: input)
    case .transcode(let codec, _):
      guard GGMLTranscode.toGGML(codec, input, into: formed) else { throw GGUFError.noGGUFForm(tensor: from.name, reason: "payload does not match its encoding") }
    case .dequantize(let codec, let dtype):
      let n = codec.rows * codec.cols
      let f = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(n, 1))
      defer { f.deallocate() }
      Dequantizer.dequantize(input, codec: codec, into: f.baseAddress!)  // audited: capacity ≥ 1
      FloatConversion.convert(count: n, from: .f32, to: dtype, input: UnsafeRawBufferPointer(f), output: formed)
    }
    switch transform {
    case .none: break
    case .permute(let h):
      let rows = from.shape[0]
      guard RowPermutation.permute(UnsafeRawBufferPointer(formed), rows: rows, rowBytes: to.byteCount / rows, heads: h, into: output) else {
        throw GGUFError.rowsNotRotaryPairs(file: "export", tensor: from.name, shape: from.shape, heads: h)
      }
    case .plusOne:
      let n = to.byteCount / 4
      // The values `formed` holds: the source's float dtype, or the one dequantized to.
      let dtype = from.encoding.isRaw ? from.dtype : (dequantizeTo ?? .f32)
      let values = output.bindMemory(to: Float.self)
      FloatConversion.convert(count: n, from: dtype, to: .f32, input: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(formed)[0..<(n * dtype.bits / 8)]), output: output)
      for i in 0..<n { values[i] += 1 }
    }
    return nil
  }
}
