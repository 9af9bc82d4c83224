import IngotCore

/// Tensors computed in memory (calibration statistics) as a source, with
/// the files they were computed from recorded as its inputs, so a
/// pipeline writes them into a container whose provenance names them.
public final class MemorySource: TensorSource, @unchecked Sendable {
  // @unchecked: immutable after init.
  let entries: [(tensor: SourceTensor, bytes: [UInt8])]
  public let metadata: [String: String]
  public let files: [SourceFile]
  public let format: String

  public init(format: String, tensors: [(tensor: SourceTensor, bytes: [UInt8])], metadata: [String: String], files: [SourceFile]) {
    self.format = format
    entries = tensors
    self.metadata = metadata
    self.files = files
  }

  public var tensors: [SourceTensor] { entries.map(\.tensor) }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    try entries[index].bytes.withUnsafeBytes { try body($0) }
  }

  public func release(_ index: Int) {}
}
