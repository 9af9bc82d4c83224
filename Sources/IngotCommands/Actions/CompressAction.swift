import IngotCore
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
  /// Check payloads from an `.ingot` input against their digests.
  public var verify = true

  public init(sources: [String], output: String, compression: Compression?, force: Bool = false) {
    self.sources = sources
    self.output = output
    self.compression = compression
    self.force = force
  }

  public func run(progress: ProgressBar? = nil) throws -> Pipeline.Outcome {
    let source = try Inputs.open(sources)
    var options = Pipeline.Options(
      operation: compression == nil ? "decompress" : "compress", parameters: compression?.parameters ?? [:], force: force,
      compression: compression)
    options.verifyInputs = verify
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
    return lines.map { terminalSafe($0) }.joined(separator: "\n")
  }
}
