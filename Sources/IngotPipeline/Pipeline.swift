import Dispatch
import IngotContainer

/// Source → stages → ContainerWriter, in one streaming pass (DESIGN.md).
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

  public func run(to path: String, progress: ProgressBar? = nil) throws -> Outcome {
    let inputs = source.tensors
    var planned: [[SourceTensor]] = []  // per tensor: input, then each stage's output
    for t in inputs {
      var chain = [t]
      for stage in stages { chain.append(try stage.plan(chain[chain.count - 1])) }
      planned.append(chain)
    }

    // Hash source files on another thread while tensors stream through this one.
    let files = source.files
    let hashes = HashResults(count: files.count)
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) {
      for (i, f) in files.enumerated() { hashes.set(i, Result<String, Error> { try FileHasher.sha256(path: f.path) }) }
    }
    defer { group.wait() }

    let draft = draftHeader(planned.map { $0[$0.count - 1] })
    let writer = try ContainerWriter(
      path: path, inputs: files.map(\.path), force: options.force,
      reservedHeaderBytes: draft.encoded().count + 512 * inputs.count + 4096 + chunkTableEstimate(inputs))

    var entries: [TensorEntry] = []
    var changed: [String: [String]] = [:]
    var measured: [[JSONValue?]] = Array(repeating: Array(repeating: nil, count: planned.count), count: stages.count)
    var bytesIn = 0
    let total = inputs.reduce(0) { $0 + $1.byteCount }
    let delay = Self.testDelayMicroseconds()
    for (index, chain) in planned.enumerated() {
      if delay > 0 { usleep(delay) }
      let out = chain[chain.count - 1]
      let (storage, digest): (Storage, String)
      if chain.allSatisfy({ $0 == chain[0] }) && options.compression == nil {
        // Unchanged: stream the source slice by slice, straight to the output.
        let offset = writer.reserve(chain[0].byteCount)
        var hasher = StreamingDigest()
        try source.forEachSlice(index, size: Self.slice) { part, at in
          try Self.hashAndWrite(part, into: &hasher, to: writer, at: offset + at)
        }
        (storage, digest) = (Storage(offset: offset, length: chain[0].byteCount), hasher.finalizeHex())
      } else {
        let (s, d, m) = try source.withPayload(index) { payload in
          try transformAndWrite(chain: chain, payload: payload, writer: writer, changed: &changed)
        }
        (storage, digest) = (s, d)
        for (k, value) in m.enumerated() { measured[k][index] = value }
        source.release(index)
      }
      bytesIn += chain[0].byteCount
      progress?.update(done: bytesIn, total: total)
      entries.append(TensorEntry(name: out.name, dtype: out.dtype, shape: out.shape, encoding: out.encoding, storage: storage, digest: digest))
    }
    progress?.finish()
    group.wait()

    var header = ContainerHeader()
    header.metadata = source.metadata
    header.tensors = entries
    header.requiredFeatures = Self.features(entries.map(\.encoding), compressed: entries.contains { $0.storage.chunks != nil })
    header.modelDigest = header.computedModelDigest()
    var recorded: [ProvenanceStep.Input] = []
    for (i, f) in files.enumerated() {
      recorded.append(ProvenanceStep.Input(
        path: f.recordedPath, format: f.format, size: f.size, sha256: try hashes.get(i),
        modelDigest: f.format == "ingot" ? source.inputModelDigest : nil))
    }
    var step = stepTemplate(inputs: recorded)
    step.modelDigest = header.modelDigest
    var metrics: [String: JSONValue] = [:]
    for (k, stage) in stages.enumerated() {
      let rows = planned.indices.map { (input: planned[$0][k], output: planned[$0][k + 1], measured: measured[k][$0]) }
      if let summary = stage.summary(rows) { metrics[stage.name] = summary }
    }
    step.metrics = .object(metrics.merging(options.extraMetrics) { a, _ in a })
    header.provenance = source.provenance + [step]
    header.signature = source.signature
    try writer.finish(header: header)
    return Outcome(
      header: header, path: path, bytesIn: bytesIn, bytesOut: entries.reduce(0) { $0 + $1.storage.length }, changed: changed,
      metrics: step.metrics)
  }

  /// `INGOT_TEST_TENSOR_DELAY_MS` slows the loop so the interruption test
  /// can kill a conversion reliably partway; unset in normal use.
  static func testDelayMicroseconds() -> UInt32 {
    guard let raw = getenv("INGOT_TEST_TENSOR_DELAY_MS"), let ms = UInt32(String(cString: raw)) else { return 0 }
    return min(ms, 10_000) * 1000
  }

  /// Room for chunk tables (about 16 bytes an entry): a pure function of the plan.
  func chunkTableEstimate(_ tensors: [SourceTensor]) -> Int {
    guard let c = options.compression else { return 0 }
    return tensors.reduce(0) { $0 + 16 * ($1.byteCount / max(c.chunkSize / 8 * 8, 1) + 1) + 128 }
  }

  /// Every non-raw encoding is a feature a reader must implement (spec §10).
  static func features(_ encodings: [Encoding], compressed: Bool) -> [String] {
    Set(encodings.filter { !$0.isRaw }.map(\.kind)).union(compressed ? ["zstd"] : []).sorted()
  }

  func stepTemplate(inputs: [ProvenanceStep.Input]) -> ProvenanceStep {
    var parameters = options.parameters
    parameters["source_format"] = .string(source.format)
    return ProvenanceStep(
      operation: options.operation, parameters: parameters, inputs: inputs,
      inputModelDigest: source.inputModelDigest, note: options.note, timestamp: options.timestamp)
  }

  /// A header with the final shape but placeholder numbers, to size the
  /// reserved header space. Pure function of the plan: output stays canonical.
  func draftHeader(_ outputs: [SourceTensor]) -> ContainerHeader {
    var h = ContainerHeader()
    h.metadata = source.metadata
    let placeholder = String(repeating: "0", count: 64)
    h.requiredFeatures = Self.features(outputs.map(\.encoding), compressed: options.compression != nil)
    h.tensors = outputs.map {
      TensorEntry(name: $0.name, dtype: $0.dtype, shape: $0.shape, encoding: $0.encoding,
                  storage: Storage(offset: 1 << 50, length: 1 << 50), digest: placeholder)
    }
    h.modelDigest = placeholder
    let inputs = source.files.map {
      ProvenanceStep.Input(path: $0.recordedPath, format: $0.format, size: $0.size, sha256: placeholder, modelDigest: placeholder)
    }
    var step = stepTemplate(inputs: inputs)
    step.modelDigest = placeholder
    h.provenance = source.provenance + [step]
    return h
  }

  func transformAndWrite(chain: [SourceTensor], payload: UnsafeRawBufferPointer, writer: ContainerWriter,
                         changed: inout [String: [String]]) throws -> (Storage, String, [JSONValue?]) {
    var current = payload
    var owned: [UnsafeMutableRawBufferPointer] = []
    defer { owned.forEach { $0.deallocate() } }
    var measured = [JSONValue?](repeating: nil, count: stages.count)
    for (k, stage) in stages.enumerated() where chain[k + 1] != chain[k] {
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chain[k + 1].byteCount, 1), alignment: 64)
      owned.append(buffer)
      let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chain[k + 1].byteCount])
      measured[k] = try stage.apply(from: chain[k], to: chain[k + 1], input: current, output: output)
      current = UnsafeRawBufferPointer(output)
      changed[stage.name, default: []].append(chain[0].name)
      // An intermediate buffer can go as soon as the next stage has read it.
      if owned.count > 1 { owned.removeFirst().deallocate() }
    }
    if let compression = options.compression {
      let (storage, digest) = try compression.compressAndWrite(current, tensor: chain[chain.count - 1], to: writer)
      return (storage, digest, measured)
    }
    let offset = writer.reserve(current.count)
    let digest = try Self.hashAndWrite(current, to: writer, at: offset)
    return (Storage(offset: offset, length: current.count), digest, measured)
  }

  /// Hashes and writes a payload slice by slice, so each slice is still in
  /// cache when it is copied to the output buffers. The file hash runs on
  /// another thread, and the output thread does the I/O.
  static func hashAndWrite(_ payload: UnsafeRawBufferPointer, to writer: ContainerWriter, at offset: Int) throws -> String {
    var digest = StreamingDigest()
    var at = 0
    while at < payload.count {
      let part = UnsafeRawBufferPointer(rebasing: payload[at..<min(payload.count, at + slice)])
      try hashAndWrite(part, into: &digest, to: writer, at: offset + at)
      at += part.count
    }
    return digest.finalizeHex()
  }

  /// Hashes one slice and copies it into the output buffers at the same
  /// time, on two threads: the copy then costs no time on the hashing
  /// thread, which with the file hash sets the pace.
  static func hashAndWrite(_ part: UnsafeRawBufferPointer, into digest: inout StreamingDigest, to writer: ContainerWriter, at offset: Int) throws {
    guard part.count >= 1 << 20 else {
      digest.update(part)
      try writer.write(part, at: offset)
      return
    }
    // nonisolated(unsafe): iteration 0 is the digest's only user, iteration 1
    // the writer's; both only read `part`; concurrentPerform joins them.
    nonisolated(unsafe) var hasher = digest
    nonisolated(unsafe) let shared = (writer: writer, part: part)
    nonisolated(unsafe) var failure: Error? = nil
    DispatchQueue.concurrentPerform(iterations: 2) { i in
      if i == 0 {
        hasher.update(shared.part)
      } else {
        do { try shared.writer.write(shared.part, at: offset) } catch { failure = error }
      }
    }
    digest = hasher
    if let failure { throw failure }
  }
}

/// Results of the file-hashing thread. A lock guards the slots; each is set once.
final class HashResults: @unchecked Sendable {
  private var slots: [Result<String, Error>?]
  private let lock = PThreadMutex()
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ r: Result<String, Error>) { lock.locked { slots[i] = r } }
  func get(_ i: Int) throws -> String {
    guard let r = lock.locked({ slots[i] }) else { throw PipelineError.failed("file hash \(i) missing") }
    return try r.get()
  }
}

#if canImport(Glibc)
  import Glibc
#endif
