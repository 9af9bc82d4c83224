import IngotCore

/// `--dtype`: casts f32, f16 and bf16 tensors to one of those types with
/// IEEE round-to-nearest-even. Integer, f64 and 8-bit float tensors pass
/// through unchanged (and are listed by `skipped`).
///
/// Special values: ±Inf stays ±Inf; NaN stays NaN with its sign, made quiet
/// (bf16 keeps the top 7 payload bits, f16 gets the canonical quiet NaN);
/// finite f32 values beyond the f16 range round to ±Inf, as IEEE requires;
/// values below the target's smallest subnormal round to ±0.
public struct CastStage: TensorStage {
  public let target: DType
  public var name: String { "cast" }

  public init(target: DType) throws {
    guard target.isCastableFloat else { throw PipelineError.usage("--dtype must be f32, f16 or bf16, not \(target.rawValue)") }
    self.target = target
  }

  public func casts(_ t: SourceTensor) -> Bool {
    t.encoding.isRaw && t.dtype.isCastableFloat && t.dtype != target
  }

  public func plan(_ t: SourceTensor) throws -> SourceTensor {
    guard casts(t) else { return t }
    var out = t
    out.dtype = target
    out.byteCount = elementCount(t.shape).flatMap { target.byteCount(elements: $0) } ?? 0
    return out
  }

  public func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue? {
    let n = elementCount(from.shape) ?? 0
    FloatConversion.convert(count: n, from: from.dtype, to: to.dtype, input: input, output: output)
    return nil
  }
}
