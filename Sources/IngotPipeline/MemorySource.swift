import IngotCore

/// Tensors computed in memory (calibration statistics) as a source, with
/// the files they were computed from recorded as its inputs, so a
/// pipeline writes them into a container whose provenance names them.
/// Payloads too large to hold all at once (Gram matrices, one layer at a
/// time) are spilled to a file as they are computed and served from its
/// mapping, each range released once written.
public final class MemorySource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  public enum Payload: Sendable {
    case bytes([UInt8])
    /// A range of the spill file.
    case spilled(Range<Int>)
  }

  let entries: [(tensor: SourceTensor, payload: Payload)]
  let spill: MappedFile?
  public let metadata: [String: String]
  public let files: [SourceFile]
  public let format: String

  public convenience init(format: String, tensors: [(tensor: SourceTensor, bytes: [UInt8])], metadata: [String: String], files: [SourceFile]) {
    self.init(format: format, payloads: tensors.map { ($0.tensor, .bytes($0.bytes)) }, spill: nil, metadata: metadata, files: files)
  }

  public init(format: String, payloads: [(tensor: SourceTensor, payload: Payload)], spill: MappedFile?, metadata: [String: String], files: [SourceFile]) {
    self.format = format
    entries = payloads
    self.spill = spill
    self.metadata = metadata
    self.files = files
  }

  public var tensors: [SourceTensor] { entries.map(\.tensor) }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    switch entries[index].payload {
    case .bytes(let b): return try b.withUnsafeBytes { try body($0) }
    case .spilled(let range):
      guard let spill, let p = spill.bytes(range) else { throw FileError.payloadMismatch(file: "calibration spill", expected: range.upperBound, actual: spill?.size ?? 0) }
      return try body(p)
    }
  }

  public func release(_ index: Int) {
    if case .spilled(let range) = entries[index].payload { spill?.release(range) }
  }
}
