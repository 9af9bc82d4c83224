import IngotCore
import IngotQuant

/// Quantized tensors back to raw values of their logical dtype (f32, or f16
/// / bf16 rounded to nearest even); raw tensors pass through.
public struct DequantizeStage: TensorStage {
  public var name: String { "dequantize" }
  public init() {}

  public func plan(_ t: SourceTensor) throws -> SourceTensor {
    guard !t.encoding.isRaw else { return t }
    guard let count = elementCount(t.shape), let bytes = t.dtype.byteCount(elements: count) else {
      throw PipelineError.failed("\(t.name): cannot size the dequantized tensor")
    }
    return SourceTensor(name: t.name, dtype: t.dtype, shape: t.shape, encoding: .raw, byteCount: bytes)
  }

  public func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue? {
    guard let codec = try QuantCodecs.layout(from.encoding, dtype: from.dtype, shape: from.shape) else { return nil }
    let n = codec.rows * codec.cols
    if to.dtype == .f32 {
      Dequantizer.dequantize(input, codec: codec, into: output.baseAddress!.assumingMemoryBound(to: Float.self))  // audited: n > 0
    } else {
      let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
      defer { values.deallocate() }
      Dequantizer.dequantize(input, codec: codec, into: values.baseAddress!)  // audited: n > 0
      FloatConversion.convert(count: n, from: .f32, to: to.dtype, input: UnsafeRawBufferPointer(values), output: output)
    }
    return nil
  }
}
