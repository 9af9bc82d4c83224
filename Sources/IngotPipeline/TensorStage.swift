import IngotCore

/// One step between a source and the writer (DESIGN.md "The data path").
/// A stage is a pure function of the tensor and its options, which is what
/// makes output reproducible.
public protocol TensorStage: Sendable {
  /// Name recorded in provenance parameters.
  var name: String { get }
  /// What the tensor becomes; return it unchanged to pass it through untouched
  /// (then `apply` is not called and the payload is never copied).
  func plan(_ tensor: SourceTensor) throws -> SourceTensor
  /// Transforms `input` (laid out as `from`) into `output` (sized by `plan`),
  /// and returns what it measured on this tensor, if anything.
  func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue?
  /// The step's metrics for provenance, from every tensor's plan and
  /// measurements (in container order); nil when the stage records none.
  func summary(_ tensors: [(input: SourceTensor, output: SourceTensor, measured: JSONValue?)]) -> JSONValue?
  /// Whether `to`'s payload is `from`'s bytes (so `apply` is skipped): by
  /// default when only the name changed; a stage whose renames move rows
  /// (GGUF's q/k permutation) says otherwise.
  func keepsPayload(_ from: SourceTensor, _ to: SourceTensor) -> Bool
}

extension TensorStage {
  public func keepsPayload(_ from: SourceTensor, _ to: SourceTensor) -> Bool { Pipeline.samePayload(from, to) }
  public func summary(_ tensors: [(input: SourceTensor, output: SourceTensor, measured: JSONValue?)]) -> JSONValue? { nil }
}
