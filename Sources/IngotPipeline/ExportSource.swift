import IngotCore

/// A source seen through an export target: some of its tensors (those the
/// target has a place for), followed by tensors the target needs that the
/// container derives rather than stores (llama.cpp's `rope_freqs.weight`).
/// Payloads of the kept tensors are the base's, digests included.
public final class ExportSource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init; the base is a Sendable source.
  let base: any TensorSource
  let kept: [Int]
  let extra: [(tensor: SourceTensor, bytes: [UInt8])]

  public init(_ base: any TensorSource, keep: (SourceTensor) -> Bool, extra: [(tensor: SourceTensor, bytes: [UInt8])] = []) {
    self.base = base
    kept = base.tensors.indices.filter { keep(base.tensors[$0]) }
    self.extra = extra
  }

  public var format: String { base.format }
  public var tensors: [SourceTensor] { kept.map { base.tensors[$0] } + extra.map(\.tensor) }
  public var metadata: [String: String] { base.metadata }
  public var files: [SourceFile] { base.files }
  public var provenance: [ProvenanceStep] { base.provenance }
  public var inputModelDigest: String? { base.inputModelDigest }
  public var signature: JSONValue? { base.signature }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    if index < kept.count { return try base.withPayload(kept[index], body) }
    return try extra[index - kept.count].bytes.withUnsafeBytes { try body($0) }
  }

  public func release(_ index: Int) { if index < kept.count { base.release(kept[index]) } }
  public func expectedDigest(_ index: Int) -> String? { index < kept.count ? base.expectedDigest(kept[index]) : nil }
  public func verifyPayload(_ index: Int) -> Bool { index < kept.count ? base.verifyPayload(kept[index]) : true }
}
