import Dispatch
import IngotContainer
import IngotCore

/// Source → stages → sink, in one streaming pass (DESIGN.md).
///
/// Three things run side by side: one thread hashes every source file whole
/// for provenance; this thread takes one tensor at a time, applies the
/// stages, hashes the result for its digest and copies it into the output
/// buffers; the output thread writes those buffers (StreamingOutput).
/// Resident memory: a tensor a stage changes is held whole (input and
/// output); an unchanged one streams through in 4 MiB slices whose pages are
/// dropped as soon as they are hashed and copied.
public struct Pipeline {
  public struct Options: Sendable {
    public var operation: String
    public var parameters: [String: JSONValue]
    public var force: Bool
    public var note: String?
    public var timestamp: String?
    /// nil: payloads stored as they are.
    public var compression: Compression?
    /// Metrics measured outside the stages (validate), recorded in the step.
    public var extraMetrics: [String: JSONValue] = [:]
    /// Check each payload against the digest its source promises (`--no-verify` turns it off).
    public var verifyInputs = true
    public init(operation: String, parameters: [String: JSONValue] = [:], force: Bool = false, note: String? = nil, timestamp: String? = nil,
                compression: Compression? = nil) {
      self.compression = compression
      self.operation = operation
      self.parameters = parameters
      self.force = force
      self.note = note
      self.timestamp = timestamp
    }
  }

  /// What a run wrote into a `.ingot` file.
  public struct Outcome: Sendable {
    public var header: ContainerHeader
    public var path: String
    public var bytesIn: Int
    public var bytesOut: Int
    /// Tensors a stage changed, by stage name.
    public var changed: [String: [String]]
    /// The provenance step's metrics (each stage's summary, by stage name).
    public var metrics: JSONValue
  }

  /// What a run delivered into any sink.
  public struct Summary: Sendable {
    public var bytesIn: Int
    public var bytesOut: Int
    public var changed: [String: [String]]
    public var metrics: JSONValue
  }

  public let source: any TensorSource
  public let stages: [any TensorStage]
  public let options: Options

  public init(source: any TensorSource, stages: [any TensorStage], options: Options) {
    self.source = source
    self.stages = stages
    self.options = options
  }

  /// Hashing slice: small enough to stay in cache between hash and write.
  static let slice = 4 << 20

  /// Writes a new `.ingot` file at `path`.
  public func run(to path: String, progress: ProgressBar? = nil) throws -> Outcome {
    let writer = try ContainerWriter(path: path, inputs: source.files.map(\.path), force: options.force, compression: options.compression)
    return try outcome(run(into: writer, progress: progress), writer)
  }

  /// Rewrites the `.ingot` file at `path` (usually the source itself) in one
  /// rename: nothing is left behind at any point a process can be killed.
  public func run(replacing path: String, progress: ProgressBar? = nil) throws -> Outcome {
    let writer = try ContainerWriter(replacing: path, compression: options.compression)
    return try outcome(run(into: writer, progress: progress), writer)
  }

  func outcome(_ s: Summary, _ writer: ContainerWriter) -> Outcome {
    Outcome(header: writer.header, path: writer.path, bytesIn: s.bytesIn, bytesOut: writer.storedBytes, changed: s.changed, metrics: s.metrics)
  }

  /// Source → stages → `sink`, one tensor at a time. Every payload whose
  /// source promises a digest is checked against it on the way.
  public func run(into sink: any TensorSink, progress: ProgressBar? = nil) throws -> Summary {
    let inputs = source.tensors
    var planned: [[SourceTensor]] = []  // per tensor: input, then each stage's output
    for t in inputs {
      var chain = [t]
      for stage in stages { chain.append(try stage.plan(chain[chain.count - 1])) }
      planned.append(chain)
    }

    // Hash source files on another thread while tensors stream through this one.
    let files = source.files
    let hashes = Slots<Result<String, Error>>(count: files.count)
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) {
      for (i, f) in files.enumerated() { hashes[i] = Result<String, Error> { try FileHasher.sha256(path: f.path) } }
    }
    defer { group.wait() }

    let placeholder = String(repeating: "0", count: 64)
    var draft = stepTemplate(inputs: files.map {
      ProvenanceStep.Input(path: $0.recordedPath, format: $0.format, size: $0.size, sha256: placeholder, modelDigest: placeholder)
    })
    draft.modelDigest = placeholder
    try sink.plan(SinkPlan(
      tensors: planned.map { $0[$0.count - 1] }, inputs: inputs, metadata: source.metadata, history: source.provenance,
      draftStep: draft, signature: source.signature, inputModelDigest: source.inputModelDigest))

    var changed: [String: [String]] = [:]
    var measured: [[JSONValue?]] = Array(repeating: Array(repeating: nil, count: planned.count), count: stages.count)
    var bytesIn = 0, bytesOut = 0
    let total = inputs.reduce(0) { $0 + $1.byteCount }
    for (index, chain) in planned.enumerated() {
      let expected = options.verifyInputs ? source.expectedDigest(index) : nil
      let digest: String
      if stages.indices.allSatisfy({ stages[$0].keepsPayload(chain[$0], chain[$0 + 1]) }) {
        // Unchanged: stream the source slice by slice, straight to the sink.
        var hasher = StreamingDigest()
        try source.forEachSlice(index, size: Self.slice) { part, _ in try Self.hashAndWrite(part, into: &hasher, to: sink) }
        digest = hasher.finalizeHex()
        try check(index, expected: expected, actual: digest)
      } else {
        let (d, m) = try source.withPayload(index) { payload in
          if let expected { try check(index, expected: expected, actual: Digest.sha256Hex(payload)) }
          return try transformAndWrite(chain: chain, payload: payload, sink: sink, changed: &changed)
        }
        digest = d
        for (k, value) in m.enumerated() { measured[k][index] = value }
        source.release(index)
      }
      try sink.end(index, digest: digest)
      bytesIn += chain[0].byteCount
      bytesOut += chain[chain.count - 1].byteCount
      progress?.update(done: bytesIn, total: total)
    }
    progress?.finish()
    group.wait()

    var recorded: [ProvenanceStep.Input] = []
    for (i, f) in files.enumerated() {
      guard let hash = hashes[i] else { throw PipelineError.failed("\(f.path): file hash missing") }
      recorded.append(ProvenanceStep.Input(
        path: f.recordedPath, format: f.format, size: f.size, sha256: try hash.get(),
        modelDigest: f.format == "ingot" ? source.inputModelDigest : nil))
    }
    var step = stepTemplate(inputs: recorded)
    var metrics: [String: JSONValue] = [:]
    for (k, stage) in stages.enumerated() {
      let rows = planned.indices.map { (input: planned[$0][k], output: planned[$0][k + 1], measured: measured[k][$0]) }
      if let summary = stage.summary(rows) { metrics[stage.name] = summary }
    }
    step.metrics = .object(metrics.merging(options.extraMetrics) { a, _ in a })
    try sink.finish(step)
    return Summary(bytesIn: bytesIn, bytesOut: bytesOut, changed: changed, metrics: step.metrics)
  }

  /// A stage that only renames leaves the payload as it is.
  static func samePayload(_ a: SourceTensor, _ b: SourceTensor) -> Bool {
    a.dtype == b.dtype && a.shape == b.shape && a.encoding == b.encoding && a.byteCount == b.byteCount
  }

  /// A damaged input is never passed on under a new digest.
  func check(_ index: Int, expected: String?, actual: String) throws {
    guard let expected, expected != actual else { return }
    throw PipelineError.digestMismatch(file: source.files.first?.path ?? "", tensor: source.tensors[index].name, expected: expected, actual: actual)
  }

  func stepTemplate(inputs: [ProvenanceStep.Input]) -> ProvenanceStep {
    var parameters = options.parameters
    parameters["source_format"] = .string(source.format)
    return ProvenanceStep(
      operation: options.operation, parameters: parameters, inputs: inputs,
      inputModelDigest: source.inputModelDigest, note: options.note, timestamp: options.timestamp)
  }

  func transformAndWrite(chain: [SourceTensor], payload: UnsafeRawBufferPointer, sink: any TensorSink,
                         changed: inout [String: [String]]) throws -> (String, [JSONValue?]) {
    var current = payload
    var owned: [UnsafeMutableRawBufferPointer] = []
    defer { owned.forEach { $0.deallocate() } }
    var measured = [JSONValue?](repeating: nil, count: stages.count)
    // A stage may rewrite a tensor's values in place (keepsPayload false with the same layout: AWQ's norms).
    for (k, stage) in stages.enumerated() where chain[k + 1] != chain[k] || !stage.keepsPayload(chain[k], chain[k + 1]) {
      changed[stage.name, default: []].append(chain[0].name)
      guard !stage.keepsPayload(chain[k], chain[k + 1]) else { continue }
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chain[k + 1].byteCount, 1), alignment: 64)
      owned.append(buffer)
      let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chain[k + 1].byteCount])
      measured[k] = try stage.apply(from: chain[k], to: chain[k + 1], input: current, output: output)
      current = UnsafeRawBufferPointer(output)
      // An intermediate buffer can go as soon as the next stage has read it.
      if owned.count > 1 { owned.removeFirst().deallocate() }
    }
    var digest = StreamingDigest()
    var at = 0
    repeat {
      let part = UnsafeRawBufferPointer(rebasing: current[at..<min(current.count, at + Self.slice)])
      try Self.hashAndWrite(part, into: &digest, to: sink)
      at += part.count
    } while at < current.count
    return (digest.finalizeHex(), measured)
  }

  /// Hashes one slice and hands it to the sink at the same time, on two
  /// threads: the copy (or compression) then costs no time on the hashing
  /// thread, which with the file hash sets the pace.
  static func hashAndWrite(_ part: UnsafeRawBufferPointer, into digest: inout StreamingDigest, to sink: any TensorSink) throws {
    guard part.count >= 1 << 20 else {
      digest.update(part)
      if part.count > 0 { try sink.write(part) }
      return
    }
    // nonisolated(unsafe): iteration 0 is the digest's only user, iteration 1
    // the sink's; both only read `part`; concurrentPerform joins them.
    nonisolated(unsafe) var hasher = digest
    nonisolated(unsafe) let shared = (sink: sink, part: part)
    nonisolated(unsafe) var failure: Error? = nil
    DispatchQueue.concurrentPerform(iterations: 2) { i in
      if i == 0 {
        hasher.update(shared.part)
      } else {
        do { try shared.sink.write(shared.part) } catch { failure = error }
      }
    }
    digest = hasher
    if let failure { throw failure }
  }
}

