import Crypto
import IngotCore

/// Streams tensors into a new `.ingot` file (formats/ingot-v1.md §2): the
/// `.ingot` sink.
///
/// The header goes first in the file but is only known at the end (digests,
/// metrics), so the writer reserves room for it up front from a size estimate
/// and writes payloads after that. If the final header is larger than the
/// reservation, the data section is moved once; the layout stays canonical
/// either way because the reservation is a pure function of the plan.
public final class ContainerWriter: TensorSink {
  let output: AtomicFile
  public let alignment: Int
  public let compression: Compression?
  var file: DataSection?
  var planned: SinkPlan?
  var entries: [TensorEntry] = []
  var current: (offset: Int, chunks: ChunkedPayload?)?
  /// The header written by `finish`.
  public private(set) var header = ContainerHeader()

  /// A new file at `path` (refusing to overwrite an input, and an existing
  /// file unless `force`).
  public init(path: String, inputs: [String], force: Bool, compression: Compression? = nil, alignment: Int = 64) throws(FileError) {
    output = try AtomicFile(path: path, inputs: inputs, force: force)
    self.compression = compression
    self.alignment = alignment
  }

  /// A file that replaces `path`, which may be the input being read: the
  /// old file stays whole until the new one is renamed over it.
  public init(replacing path: String, compression: Compression? = nil, alignment: Int = 64) throws(FileError) {
    output = try AtomicFile(replacing: path)
    self.compression = compression
    self.alignment = alignment
  }

  public var path: String { output.path }

  /// Stored bytes of every tensor written so far.
  public var storedBytes: Int { entries.reduce(0) { $0 + $1.storage.length } }

  // MARK: TensorSink

  public func plan(_ plan: SinkPlan) throws {
    // What a reader refuses is never written: the checks run on the plan,
    // before the first payload byte.
    var names = Set<String>()
    for t in plan.tensors {
      if let problem = ContainerHeader.problem(name: t.name, rank: t.shape.count) {
        throw ContainerError.invalidTensor(file: path, tensor: t.name, reason: problem)
      }
      guard names.insert(t.name).inserted else { throw ContainerError.invalidTensor(file: path, tensor: t.name, reason: "duplicate tensor name") }
    }
    planned = plan
    let placeholder = String(repeating: "0", count: 64)
    var draft = ContainerHeader()
    draft.metadata = plan.metadata
    draft.requiredFeatures = ContainerHeader.features(plan.tensors.map(\.encoding), compressed: compression != nil)
    draft.tensors = plan.tensors.map {
      TensorEntry(name: $0.name, dtype: $0.dtype, shape: $0.shape, encoding: $0.encoding, storage: Storage(offset: 1 << 50, length: 1 << 50), digest: placeholder)
    }
    draft.modelDigest = placeholder
    draft.provenance = plan.history + [plan.draftStep]
    // Room for the real numbers (512 bytes a tensor) and for chunk tables
    // (about 16 bytes an entry): a pure function of the plan.
    var reserve = draft.encoded().count + 512 * plan.inputs.count + 4096
    if let c = compression {
      let perChunk = max(c.chunkSize / 8 * 8, 1)
      for t in plan.inputs { reserve += 16 * (t.byteCount / perChunk + 1) + 128 }
    }
    guard reserve <= Limits.maxIngotHeaderBytes else {
      throw ContainerError.invalidHeader(file: path, reason: "the header would need \(reserve) bytes, over the \(Limits.maxIngotHeaderBytes)-byte limit (maxIngotHeaderBytes); metadata and companion files make most of it")
    }
    file = DataSection(output, reservedHeaderBytes: reserve, alignment: alignment)
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard let file else { throw FileError.io(file: path, operation: "write before plan", errno: 22) }
    if current == nil {
      let t = planned?.tensors[entries.count]
      current = (file.reserve(0), compression.flatMap { c in t.map { ChunkedPayload($0, c) } })
    }
    guard let chunks = current?.chunks else {
      try file.append(bytes)
      return
    }
    try chunks.add(bytes) { stored in try stored.withUnsafeBytes { try file.append($0) } }
  }

  public func end(_ index: Int, digest: String) throws {
    guard let file, let t = planned?.tensors[index] else { throw FileError.io(file: path, operation: "end before plan", errno: 22) }
    let start = current?.offset ?? file.reserve(0)
    if let chunks = current?.chunks {
      try chunks.flush { stored in try stored.withUnsafeBytes { try file.append($0) } }
    }
    let storage = Storage(offset: start, length: file.cursor - start, chunks: current?.chunks?.table)
    entries.append(TensorEntry(name: t.name, dtype: t.dtype, shape: t.shape, encoding: t.encoding, storage: storage, digest: digest))
    current = nil
  }

  public func finish(_ step: ProvenanceStep) throws {
    guard let file, let plan = planned else { throw FileError.io(file: path, operation: "finish before plan", errno: 22) }
    var h = ContainerHeader()
    h.metadata = plan.metadata
    h.tensors = entries
    h.requiredFeatures = ContainerHeader.features(entries.map(\.encoding), compressed: entries.contains { $0.storage.chunks != nil })
    h.modelDigest = h.computedModelDigest()
    var step = step
    step.modelDigest = h.modelDigest
    h.provenance = plan.history + [step]
    h.signature = plan.signature
    try file.finish(header: h)
    header = h
  }

  /// Writes `reader`'s stored tensors again, byte for byte (compressed or
  /// not), under a new header, replacing the file in one rename: what
  /// `sign` and other header-only changes use.
  public static func rewrite(_ reader: ContainerReader, header: ContainerHeader) throws {
    var h = header
    let output = try AtomicFile(replacing: reader.path)
    let file = DataSection(output, reservedHeaderBytes: h.encoded().count + 4096, alignment: reader.header.alignment)
    for (i, t) in reader.header.tensors.enumerated() {
      h.tensors[i].storage.offset = file.reserve(0)
      try reader.file.forEachSlice(reader.range(of: t), size: 8 << 20) { part, _ in try file.append(part) }
    }
    try file.finish(header: h)
  }
}

extension ContainerHeader {
  /// Every non-raw encoding is a feature a reader must implement (spec §10).
  static func features(_ encodings: [Encoding], compressed: Bool) -> [String] {
    Set(encodings.filter { !$0.isRaw }.map(\.kind)).union(compressed ? ["zstd"] : []).sorted()
  }
}

/// The file under a ContainerWriter: the reserved header room, then the
/// data section, written front to back through StreamingOutput.
final class DataSection {
  let output: AtomicFile
  let alignment: Int
  let dataOffset: Int
  let stream: StreamingOutput
  /// Next free byte in the data section.
  private(set) var cursor = 0

  init(_ output: AtomicFile, reservedHeaderBytes: Int, alignment: Int) {
    self.output = output
    self.alignment = alignment
    dataOffset = Self.dataOffset(forHeaderLength: reservedHeaderBytes)
    stream = StreamingOutput(fd: output.fd, path: output.path, start: dataOffset)
  }

  /// Data starts on a 4 KiB boundary so mapped payloads are page-aligned.
  static func dataOffset(forHeaderLength n: Int) -> Int { (Preamble.size + n + 4095) / 4096 * 4096 }

  /// Moves the cursor to the next aligned offset (plus `length`) and returns it.
  func reserve(_ length: Int) -> Int {
    let offset = (cursor + alignment - 1) / alignment * alignment
    cursor = offset + length
    return offset
  }

  /// Appends bytes at the cursor.
  func append(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
    try stream.write(bytes, at: dataOffset + cursor)
    cursor += bytes.count
  }

  /// Writes preamble and header, then makes the file visible.
  func finish(header: ContainerHeader) throws(FileError) {
    try stream.finish()
    let json = header.encoded()
    let dataLength = (cursor + alignment - 1) / alignment * alignment
    var start = dataOffset
    if Preamble.size + json.count > dataOffset {
      start = Self.dataOffset(forHeaderLength: json.count)
      try moveData(from: dataOffset, to: start, length: cursor)
    }
    try output.truncate(to: start + dataLength)  // zero-fills the tail padding
    let preamble = Preamble(
      headerLength: json.count, dataOffset: start, dataLength: dataLength,
      headerSHA256: json.withUnsafeBytes { Array(Crypto.SHA256.hash(data: $0)) })
    var head = preamble.encoded() + json
    head.append(contentsOf: repeatElement(0x20, count: start - head.count))
    try output.write(head, at: 0)
    try output.commit()
  }

  /// Moves `length` bytes forward, from the end backwards so nothing is
  /// overwritten before it is copied; the gap left behind is then padding.
  func moveData(from: Int, to: Int, length: Int) throws(FileError) {
    let chunk = 8 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
    defer { buffer.deallocate() }
    var end = length
    while end > 0 {
      let n = min(chunk, end)
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
      try output.read(into: part, at: from + end - n)
      try output.write(UnsafeRawBufferPointer(part), at: to + end - n)
      end -= n
    }
  }
}
