import IngotCore
import Dispatch
import IngotContainer
import IngotPipeline
import IngotQuant

/// The quantization kernel alone (quantize plus error
/// metrics), on tensors already in memory as f32: no file I/O, no hashing.
struct QuantBench: Sendable {
  public var sources: [String]
  public var scheme: QuantScheme
  public var parallel: Bool
  public var repeats: Int

  public init(sources: [String], scheme: QuantScheme, parallel: Bool, repeats: Int = 3) {
    self.sources = sources
    self.scheme = scheme
    self.parallel = parallel
    self.repeats = repeats
  }

  /// Bytes of f32 input per second (best of `repeats`), and the tensor count.
  public func run() throws -> (bytesPerSecond: Double, bytes: Int, tensors: Int) {
    let source = try Inputs.open(sources)
    let stage = QuantizeStage(scheme: scheme)
    var inputs: [(values: [Float], codec: any QuantCodec, name: String)] = []
    for (i, t) in source.tensors.enumerated() where stage.keepReason(t) == nil && t.encoding.isRaw {
      guard case .success(let layout) = scheme.layout(dtype: t.dtype, shape: t.shape) else { continue }
      let n = layout.rows * layout.cols
      var values = [Float](repeating: 0, count: n)
      try source.withPayload(i) { p in
        values.withUnsafeMutableBytes { FloatConversion.convert(count: n, from: t.dtype, to: .f32, input: p, output: $0) }
      }
      inputs.append((values, layout, t.name))
    }
    let bytes = inputs.reduce(0) { $0 + $1.values.count * 4 }
    var best = Double.infinity
    for _ in 0..<max(1, repeats) {
      let start = DispatchTime.now().uptimeNanoseconds
      for input in inputs {
        var payload = [UInt8](repeating: 0, count: input.codec.payloadLength)
        _ = try input.values.withUnsafeBufferPointer { v in
          try payload.withUnsafeMutableBytes {
            try Quantizer.quantize(v, codec: input.codec, search: scheme.search, logical: .f32, name: input.name, into: $0, parallel: parallel)
          }
        }
      }
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return (Double(bytes) / best, bytes, inputs.count)
  }
}
