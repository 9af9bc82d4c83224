import Dispatch
import IngotCodec
import IngotContainer
import IngotCore
import IngotPipeline

/// The codec alone on tensors in memory (tools/bench_codec.py): compress and
/// decompress speed in payload bytes per second, and the ratio.
enum CodecBench {
  /// Benchmark hook (tools/bench): the codec alone on tensors in memory.
  /// Returns compress and decompress speed in payload bytes per second and the ratio.
  static func run(sources: [String], compression: Compression, dtype: DType?) throws -> (compress: Double, decompress: Double, ratio: Double) {
    let source = try Inputs.open(sources)
    var payloads: [(bytes: [UInt8], width: Int, rotate: Int)] = []
    for (i, t) in source.tensors.enumerated() where t.encoding.isRaw {
      var target = t
      var bytes = try source.withPayload(i) { [UInt8]($0) }
      if let dtype, t.dtype.isCastableFloat, t.dtype != dtype {
        let cast = try CastStage(target: dtype)
        target = try cast.plan(t)
        var out = [UInt8](repeating: 0, count: target.byteCount)
        try bytes.withUnsafeBytes { input in try out.withUnsafeMutableBytes { _ = try cast.apply(from: t, to: target, input: input, output: $0) } }
        bytes = out
      }
      let width = Compression.planeWidth(target.dtype, target.encoding) ?? 0
      payloads.append((bytes, width, width > 0 ? Compression.planeRotation(target.dtype) : 0))
    }
    let total = payloads.reduce(0) { $0 + $1.bytes.count }
    var best = (Double.infinity, Double.infinity)
    var stored = 0
    for _ in 0..<3 {
      var chunks: [[(bytes: [UInt8], raw: Bool, range: Range<Int>, width: Int, rotate: Int)]] = []
      let t0 = DispatchTime.now().uptimeNanoseconds
      for p in payloads {
        let size = p.width > 0 ? compression.chunkSize / p.width * p.width : compression.chunkSize
        let ranges = stride(from: 0, to: p.bytes.count, by: size).map { $0..<min(p.bytes.count, $0 + size) }
        let slots = Slots<(bytes: [UInt8], raw: Bool)>(count: ranges.count)
        p.bytes.withUnsafeBytes { buf in
          nonisolated(unsafe) let b = buf
          let work: @Sendable (Int) -> Void = { i in
            slots[i] = (try? ChunkCodec.compress(UnsafeRawBufferPointer(rebasing: b[ranges[i]]), width: p.width, rotate: p.rotate, level: compression.level))
          }
          if compression.threads == 1 { for i in ranges.indices { work(i) } } else { DispatchQueue.concurrentPerform(iterations: ranges.count, execute: work) }
        }
        chunks.append(ranges.indices.compactMap { i in slots[i].map { ($0.bytes, $0.raw, ranges[i], p.width, p.rotate) } })
      }
      let t1 = DispatchTime.now().uptimeNanoseconds
      stored = chunks.joined().reduce(0) { $0 + $1.bytes.count }
      var out = [UInt8](repeating: 0, count: payloads.map(\.bytes.count).max() ?? 0)
      let t2 = DispatchTime.now().uptimeNanoseconds
      for list in chunks {
        out.withUnsafeMutableBytes { o in
          nonisolated(unsafe) let ob = o
          let work: @Sendable (Int) -> Void = { i in
            let c = list[i]
            c.bytes.withUnsafeBytes { s in _ = try? ChunkCodec.decompress(s, raw: c.raw, width: c.width, rotate: c.rotate, into: UnsafeMutableRawBufferPointer(rebasing: ob[c.range])) }
          }
          if compression.threads == 1 { for i in list.indices { work(i) } } else { DispatchQueue.concurrentPerform(iterations: list.count, execute: work) }
        }
      }
      let t3 = DispatchTime.now().uptimeNanoseconds
      best = (min(best.0, Double(t1 - t0) / 1e9), min(best.1, Double(t3 - t2) / 1e9))
    }
    return (Double(total) / best.0, Double(total) / best.1, Double(stored) / Double(max(total, 1)))
  }
}
