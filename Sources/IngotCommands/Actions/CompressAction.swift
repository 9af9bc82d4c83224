import Dispatch
import IngotCodec
import IngotContainer
import IngotFormats
import IngotPipeline

/// `ingot compress` / `ingot decompress`: rewrite a container's storage.
/// Payloads, tensor digests and the model digest do not change.
public struct CompressAction: Sendable {
  public var sources: [String]
  public var output: String
  /// nil: decompress.
  public var compression: Compression?
  public var force = false

  public init(sources: [String], output: String, compression: Compression?, force: Bool = false) {
    self.sources = sources
    self.output = output
    self.compression = compression
    self.force = force
  }

  public func run(progress: ProgressBar? = nil) throws -> Pipeline.Outcome {
    let source = try FormatDetector.open(sources)
    let options = Pipeline.Options(
      operation: compression == nil ? "decompress" : "compress", parameters: compression?.parameters ?? [:], force: force,
      compression: compression)
    return try Pipeline(source: source, stages: [], options: options).run(to: output, progress: progress)
  }

  /// Per-tensor and total ratios (stored / payload bytes).
  public static func report(_ outcome: Pipeline.Outcome) -> JSONValue {
    var rows: [JSONValue] = []
    var payload = 0, stored = 0
    for t in outcome.header.tensors {
      let encoded = t.storage.chunks?.encodedLength ?? t.storage.length
      payload += encoded
      stored += t.storage.length
      rows.append([
        "name": .string(t.name), "dtype": .string(t.dtype.rawValue), "bytes": .int(Int64(encoded)),
        "stored": .int(Int64(t.storage.length)), "ratio": .double(encoded == 0 ? 1 : Double(t.storage.length) / Double(encoded)),
        "chunks": .int(Int64(t.storage.chunks?.chunks.count ?? 0)),
        "raw_chunks": .int(Int64(t.storage.chunks?.chunks.filter(\.raw).count ?? 0)),
      ])
    }
    return [
      "output": .string(outcome.path), "model_digest": .string(outcome.header.modelDigest), "tensors": .array(rows),
      "bytes": .int(Int64(payload)), "stored": .int(Int64(stored)),
      "ratio": .double(payload == 0 ? 1 : Double(stored) / Double(payload)),
    ]
  }

  public static func table(_ report: JSONValue) -> String {
    var rows: [[String]] = [["tensor", "dtype", "bytes", "stored", "ratio", "raw chunks"]]
    for t in report["tensors"]?.arrayValue ?? [] {
      rows.append([
        t["name"]?.stringValue ?? "", t["dtype"]?.stringValue ?? "", String(t["bytes"]?.intValue ?? 0), String(t["stored"]?.intValue ?? 0),
        formatFixed(t["ratio"]?.doubleValue ?? 1, 3), "\(t["raw_chunks"]?.intValue ?? 0)/\(t["chunks"]?.intValue ?? 0)",
      ])
    }
    var lines = QuantizeAction.align(rows, right: [false, false, true, true, true, true])
    lines.append(
      "total: \(formatBytes(Int(report["bytes"]?.intValue ?? 0))) → \(formatBytes(Int(report["stored"]?.intValue ?? 0))) "
        + "(ratio \(formatFixed(report["ratio"]?.doubleValue ?? 1, 3)))")
    return lines.joined(separator: "\n")
  }

  /// Benchmark hook (tools/bench): the codec alone on tensors in memory.
  /// Returns compress and decompress speed in payload bytes per second and the ratio.
  public static func benchmark(sources: [String], compression: Compression, dtype: DType?) throws -> (compress: Double, decompress: Double, ratio: Double) {
    let source = try FormatDetector.open(sources)
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
      let width = target.encoding.isRaw && [.f16, .bf16, .f32, .f64].contains(target.dtype) ? target.dtype.bits / 8 : 0
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
        let slots = BenchSlots<(bytes: [UInt8], raw: Bool)>(count: ranges.count)
        p.bytes.withUnsafeBytes { buf in
          nonisolated(unsafe) let b = buf
          let work: @Sendable (Int) -> Void = { i in
            slots.set(i, try? ChunkCodec.compress(UnsafeRawBufferPointer(rebasing: b[ranges[i]]), width: p.width, rotate: p.rotate, level: compression.level))
          }
          if compression.threads == 1 { for i in ranges.indices { work(i) } } else { DispatchQueue.concurrentPerform(iterations: ranges.count, execute: work) }
        }
        chunks.append(ranges.indices.compactMap { i in slots.get(i).map { ($0.bytes, $0.raw, ranges[i], p.width, p.rotate) } })
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

final class BenchSlots<T>: @unchecked Sendable {
  private var slots: [T?]
  private let lock = PThreadMutex()
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ v: T?) { lock.locked { slots[i] = v } }
  func get(_ i: Int) -> T? { lock.locked { slots[i] } }
}
