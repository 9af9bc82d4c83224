import IngotCore

/// Our quantized encodings in MLX's affine form, without requantizing: the
/// codes are kept and each group's (scale, bias) is written so that MLX's
/// arithmetic, round(round(scale·q) + bias), gives our values bit for bit.
///
/// Scales and biases are f32: in f16, MLX rounds scale·q, which our
/// encodings do not. The result is checked row by row against the source
/// codec's own dequantization; a tensor whose values would move is refused.
/// The one difference allowed is the sign of a zero (symmetric int4 with a
/// negative scale), which no arithmetic downstream can tell apart.
public enum MLXTranscode {
  public enum Failure: Error, Equatable, CustomStringConvertible {
    case noForm(String)
    case inexact(row: Int, column: Int)

    public var description: String {
      switch self {
      case .noForm(let reason): reason
      case .inexact(let r, let c): "MLX's arithmetic would change the value at row \(r), column \(c)"
      }
    }
  }

  /// The MLX layout `codec`'s tensor takes, or why it has none. `lastDim` is
  /// the tensor's last dimension, along which MLX groups.
  public static func layout(for codec: any QuantCodec, lastDim: Int) -> Result<MLXAffineCodec, Failure> {
    let g: Int
    let bits: Int
    switch codec {
    case let c as MLXAffineCodec: return .success(c)
    case let c as Int4GroupCodec:
      bits = 4
      g = c.scales == .q6 ? 32 : c.groupSize
    case is Int8BlockCodec:
      bits = 8
      g = 32
    case let c as Int8ChannelCodec:
      bits = 8
      guard let fit = [128, 64, 32].first(where: { c.cols % $0 == 0 && lastDim % $0 == 0 }) else {
        return .failure(.noForm("row length \(c.cols) is not a multiple of 32"))
      }
      g = fit
    default:
      return .failure(.noForm("encoding \(codec.kind) has no exact MLX form (export with --requantize to quantize it again)"))
    }
    guard lastDim % g == 0 else { return .failure(.noForm("last dimension \(lastDim) is not a multiple of the group size \(g)")) }
    return .success(MLXAffineCodec(rows: codec.rows, cols: codec.cols, bits: bits, groupSize: g, scaleDType: .f32))
  }

  /// Writes `source`'s payload in `target`'s layout, then checks that every
  /// value dequantizes to the same bits.
  public static func transcode(_ source: any QuantCodec, _ input: UnsafeRawPointer, to target: MLXAffineCodec, into out: UnsafeMutableRawPointer) throws(Failure) {
    if let same = source as? MLXAffineCodec, same.parameters == target.parameters {
      out.copyMemory(from: input, byteCount: target.payloadLength)
      return
    }
    let rows = target.rows, cols = target.cols, gpr = target.groupsPerRow
    func put(_ r: Int, _ j: Int, scale: Float, bias: Float) {
      let gi = r * gpr + j
      target.store(scale, out + target.scaleSection.lowerBound + 4 * gi)
      target.store(bias, out + target.biasSection.lowerBound + 4 * gi)
    }
    switch source {
    case let c as Int4GroupCodec:
      // The codes: element 2i in the low nibble of byte i, as in MLX's words.
      out.copyMemory(from: input, byteCount: c.codeBytes)
      for r in 0..<rows {
        for j in 0..<gpr {
          let gi = r * gpr + j
          switch (c.scales, c.symmetric) {
          case (.plain, false):
            put(r, j, scale: Kernels.f16At(input, c.scaleSection.lowerBound + 2 * gi), bias: Kernels.f16At(input, c.minSection.lowerBound + 2 * gi))
          case (.plain, true):
            // (q − 8)·s = s·q − 8s, both exact for an f16 s and q < 16.
            let s = Kernels.f16At(input, c.scaleSection.lowerBound + 2 * gi)
            put(r, j, scale: s, bias: -8 * s)
          case (.q6, _):
            let (s, m) = c.q6Group(gi, payload: input)
            put(r, j, scale: s, bias: -m)
          }
        }
      }
    case let c as Int8BlockCodec:
      flipSigns(input, rows * cols, out)
      for r in 0..<rows {
        for j in 0..<gpr {
          let s = Kernels.f16At(input, c.scaleStart + 2 * (r * gpr + j))
          put(r, j, scale: s, bias: -128 * s)
        }
      }
    case let c as Int8ChannelCodec:
      flipSigns(input, rows * cols, out)
      for r in 0..<rows {
        let s = Float(bitPattern: UInt32(littleEndian: input.loadUnaligned(fromByteOffset: c.scaleStart + 4 * r, as: UInt32.self)))
        for j in 0..<gpr { put(r, j, scale: s, bias: -128 * s) }
      }
    default:
      throw .noForm("encoding \(source.kind) has no exact MLX form")
    }
    let a = UnsafeMutablePointer<Float>.allocate(capacity: cols)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: cols)
    defer { a.deallocate(); b.deallocate() }
    for r in 0..<rows {
      source.dequantizeRow(r, payload: input, into: a)
      target.dequantizeRow(r, payload: UnsafeRawPointer(out), into: b)
      // Bit for bit, except the zero code of a symmetric group with a
      // negative scale: (q − 8)·s is −0 there, MLX's s·q + (−8s) is +0.
      for i in 0..<cols where a[i].bitPattern != b[i].bitPattern && !(a[i] == 0 && b[i] == 0) { throw .inexact(row: r, column: i) }
    }
  }

  /// Signed codes −128…127 as MLX's unsigned 0…255 (q + 128).
  static func flipSigns(_ input: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutableRawPointer) {
    let i8 = input.assumingMemoryBound(to: UInt8.self), o = out.assumingMemoryBound(to: UInt8.self)
    for k in 0..<n { o[k] = i8[k] ^ 0x80 }
  }
}
