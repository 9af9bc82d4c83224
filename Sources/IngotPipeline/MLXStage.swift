import IngotCore
import IngotFormats
import IngotQuant

/// Export to MLX: each quantized tensor into MLX's affine layout without
/// requantizing (MLXTranscode), or refused by name when it has no exact
/// form. Raw tensors pass through; they stay float in the MLX folder.
public struct MLXStage: TensorStage {
  public var name: String { "mlx" }
  public init() {}

  func target(_ t: SourceTensor) throws -> (source: any QuantCodec, target: MLXAffineCodec)? {
    let codec: (any QuantCodec)?
    do { codec = try QuantCodecs.layout(t.encoding, dtype: t.dtype, shape: t.shape) } catch {
      throw MLXError.noMLXForm(tensor: t.name, reason: error.description)
    }
    guard let codec else { return nil }
    switch MLXTranscode.layout(for: codec, lastDim: t.shape.last ?? 0) {
    case .success(let target): return (codec, target)
    case .failure(let f): throw MLXError.noMLXForm(tensor: t.name, reason: f.description)
    }
  }

  public func plan(_ t: SourceTensor) throws -> SourceTensor {
    guard let (_, target) = try target(t) else { return t }
    if t.encoding == target.encoding { return t }
    return SourceTensor(name: t.name, dtype: t.dtype, shape: t.shape, encoding: target.encoding, byteCount: target.payloadLength)
  }

  public func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue? {
    guard let (source, target) = try target(from) else { return nil }
    do {
      // audited: both payloads are non-empty (a quantized tensor has rows and columns).
      try MLXTranscode.transcode(source, input.baseAddress!, to: target, into: output.baseAddress!)
    } catch {
      throw MLXError.noMLXForm(tensor: from.name, reason: error.description)
    }
    return nil
  }
}
