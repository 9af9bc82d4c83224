import IngotCore
import IngotFormats
import IngotQuant

/// Export to MLX: each quantized tensor into MLX's affine layout without
/// requantizing (MLXTranscode), or, when it has no exact form, refused by
/// name; with `requantize`, quantized again from its dequantized values into
/// MLX's layout, each such tensor measured against those values. Raw tensors
/// pass through; they stay float in the MLX folder.
public struct MLXStage: TensorStage {
  public var name: String { "mlx" }
  /// Quantize again what has no exact MLX form, instead of refusing it.
  public let requantize: Bool
  public init(requantize: Bool = false) { self.requantize = requantize }

  enum Route {
    case exact(source: any QuantCodec, target: MLXAffineCodec)
    case requantize(source: any QuantCodec, target: MLXAffineCodec, why: String)
  }

  func route(_ t: SourceTensor) throws -> Route? {
    let codec: (any QuantCodec)?
    do { codec = try QuantCodecs.layout(t.encoding, dtype: t.dtype, shape: t.shape) } catch {
      throw MLXError.noMLXForm(tensor: t.name, reason: error.description)
    }
    guard let codec else { return nil }
    let last = t.shape.last ?? 0
    switch MLXTranscode.layout(for: codec, lastDim: last) {
    case .success(let target) where !(requantize && Self.inexact(codec)): return .exact(source: codec, target: target)
    case .success: return try requantized(t, codec, why: "int8 per-channel f32 scales do not survive MLX's arithmetic exactly")
    case .failure(let f):
      guard requantize else { throw MLXError.noMLXForm(tensor: t.name, reason: f.description + "; --requantize quantizes it again") }
      return try requantized(t, codec, why: f.description)
    }
  }

  /// Encodings whose transcode is checked and may fail on the values: with
  /// --requantize they are requantized up front instead.
  static func inexact(_ codec: any QuantCodec) -> Bool { codec is Int8ChannelCodec }

  /// The MLX layout a requantized tensor gets: the source's code width
  /// (8 for int8, else 4), groups of 64 (MLX's default) or the largest that
  /// fits, scales in f32 (the values MLX computes stay f32).
  func requantized(_ t: SourceTensor, _ codec: any QuantCodec, why: String) throws -> Route {
    let bits = codec.bitsPerWeight >= 8 ? 8 : 4
    let last = t.shape.last ?? 0
    guard let g = [64, 128, 32].first(where: { last % $0 == 0 && codec.cols % $0 == 0 }) else {
      throw MLXError.noMLXForm(tensor: t.name, reason: "last dimension \(last) is not a multiple of 32, MLX's smallest group")
    }
    return .requantize(source: codec, target: MLXAffineCodec(rows: codec.rows, cols: codec.cols, bits: bits, groupSize: g, scaleDType: .f32), why: why)
  }

  /// The tensors this stage will quantize again, by name.
  public func requantizedNames(_ tensors: [SourceTensor]) throws -> [String] {
    try tensors.compactMap { t in
      if case .requantize? = try route(t) { return t.name }
      return nil
    }
  }

  public func plan(_ t: SourceTensor) throws -> SourceTensor {
    let target: MLXAffineCodec
    switch try route(t) {
    case nil: return t
    case .exact(_, let c)?, .requantize(_, let c, _)?: target = c
    }
    if t.encoding == target.encoding { return t }
    return SourceTensor(name: t.name, dtype: t.dtype, shape: t.shape, encoding: target.encoding, byteCount: target.payloadLength)
  }

  public func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue? {
    // audited: both payloads are non-empty (a quantized tensor has rows and columns).
    switch try route(from) {
    case nil: return nil
    case .exact(let source, let target)?:
      do { try MLXTranscode.transcode(source, input.baseAddress!, to: target, into: output.baseAddress!) } catch {
        throw MLXError.noMLXForm(tensor: from.name, reason: error.description + "; --requantize quantizes it again")
      }
      return nil
    case .requantize(let source, let target, let why)?:
      let n = source.rows * source.cols
      let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
      defer { values.deallocate() }
      Dequantizer.dequantize(input, codec: source, into: values.baseAddress!)
      let m = try Quantizer.quantize(UnsafeBufferPointer(values), codec: target, search: true, logical: .f32, name: from.name, into: output)
      return [
        "name": .string(from.name), "from": .string(source.kind), "bits": .int(Int64(target.bits)), "group_size": .int(Int64(target.groupSize)),
        "reason": .string(why), "sqnr_db": .number(m.sqnrDB), "cosine": .number(m.cosine), "max_abs": .number(m.maxAbs),
      ]
    }
  }

  /// The tensors quantized again, each with its error against the values it
  /// had in the container.
  public func summary(_ tensors: [(input: SourceTensor, output: SourceTensor, measured: JSONValue?)]) -> JSONValue? {
    let rows = tensors.compactMap(\.measured)
    return rows.isEmpty ? nil : ["requantized": .array(rows)]
  }
}
