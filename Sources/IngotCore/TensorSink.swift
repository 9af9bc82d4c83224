/// Where a pipeline's tensors go (DESIGN.md "Sinks"): the .ingot writer,
/// safetensors, and next to them any other export target.
///
/// A pipeline calls `plan` once with everything it will deliver, then for
/// each planned tensor in order `write` (its encoded payload front to back,
/// in one or more slices) and `end`, and finally `finish`. `write` may run on
/// another thread than the other calls, but never concurrently with them.
public protocol TensorSink: AnyObject {
  func plan(_ plan: SinkPlan) throws
  func write(_ bytes: UnsafeRawBufferPointer) throws
  /// Tensor `index` is complete; `digest` is the SHA-256 of its payload.
  func end(_ index: Int, digest: String) throws
  /// `step` is this run's provenance step (without the model digest it
  /// produces, which only a sink that computes one fills in).
  func finish(_ step: ProvenanceStep) throws
}

/// What a sink is told before the first payload.
public struct SinkPlan: Sendable {
  /// Every tensor as it will arrive, in order.
  public var tensors: [SourceTensor]
  /// The same tensors as the source listed them, before any stage.
  public var inputs: [SourceTensor]
  public var metadata: [String: String]
  /// History carried over from the input (an `.ingot` source's steps).
  public var history: [ProvenanceStep]
  /// This run's step with placeholder digests: enough to size a header.
  public var draftStep: ProvenanceStep
  public var signature: JSONValue?
  /// The model digest of the input, when it had one.
  public var inputModelDigest: String?

  public init(tensors: [SourceTensor], inputs: [SourceTensor]? = nil, metadata: [String: String] = [:], history: [ProvenanceStep] = [],
              draftStep: ProvenanceStep = ProvenanceStep(operation: "", parameters: [:], inputs: [], inputModelDigest: nil),
              signature: JSONValue? = nil, inputModelDigest: String? = nil) {
    self.tensors = tensors
    self.inputs = inputs ?? tensors
    self.metadata = metadata
    self.history = history
    self.draftStep = draftStep
    self.signature = signature
    self.inputModelDigest = inputModelDigest
  }
}
