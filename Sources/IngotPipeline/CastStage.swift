import IngotContainer

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
    Self.convert(count: n, from: from.dtype, to: to.dtype, input: input, output: output)
    return nil
  }

  /// Converts in parallel slices; each slice writes a disjoint output range.
  public static func convert(count n: Int, from: DType, to: DType, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) {
    let slice = 1 << 20
    let slices = (n + slice - 1) / slice
    // nonisolated(unsafe): each iteration touches only elements [lo, hi).
    guard let srcBase = input.baseAddress, let dstBase = output.baseAddress else { return }
    nonisolated(unsafe) let src = srcBase
    nonisolated(unsafe) let dst = dstBase
    DispatchQueue.concurrentPerform(iterations: slices) { s in
      let lo = s * slice
      let hi = min(n, lo + slice)
      for i in lo..<hi {
        let x = load(src, i, from)
        store(dst, i, to, x)
      }
    }
  }

  @inline(__always)
  static func load(_ p: UnsafeRawPointer, _ i: Int, _ t: DType) -> Float {
    switch t {
    case .f32: return p.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
    case .f16: return Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
    default:
      let bits = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
      return Float(bitPattern: UInt32(bits) << 16)
    }
  }

  @inline(__always)
  static func store(_ p: UnsafeMutableRawPointer, _ i: Int, _ t: DType, _ x: Float) {
    switch t {
    case .f32: p.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
    case .f16: p.storeBytes(of: Float16(x).bitPattern.littleEndian, toByteOffset: i * 2, as: UInt16.self)
    default: p.storeBytes(of: bfloat16Bits(x).littleEndian, toByteOffset: i * 2, as: UInt16.self)
    }
  }

  /// f32 → bf16 with round-to-nearest-even; NaN is kept (quiet, same sign).
  @inline(__always)
  public static func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }
}

import Dispatch
