import Dispatch
import IngotCodec
import IngotCore

/// Reads a `.ingot` file through a memory map. Opening validates the preamble,
/// header checksum, schema, every storage range and the model digest; tensor
/// payloads are only touched when asked for (or by `verifyTensor`).
public final class ContainerReader: TensorSource, @unchecked Sendable {
  // @unchecked: all stored properties are immutable after init.
  public let path: String
  public let file: MappedFile
  public let preamble: Preamble
  public let header: ContainerHeader
  /// The header bytes as stored.
  public let headerBytes: [UInt8]
  let dataOffset: Int

  public init(path: String) throws {
    self.path = path
    file = try MappedFile(path: path)
    let all = file.all
    preamble = try Preamble(all, fileSize: file.size, file: path)
    let headerLength = Int(preamble.headerLength)
    dataOffset = Int(preamble.dataOffset)
    // audited: Preamble checked 72 + headerLength <= dataOffset <= size.
    guard let raw = file.bytes(offset: Preamble.size, count: headerLength) else {
      throw ContainerError.tooShort(file: path, size: file.size)
    }
    guard Digest.sha256Hex(raw) == Digest.hex(preamble.headerSHA256) else {
      throw ContainerError.headerChecksumMismatch(file: path)
    }
    headerBytes = Array(raw)
    if let pad = file.bytes((Preamble.size + headerLength)..<dataOffset),
      !pad.allSatisfy({ $0 == 0x20 })
    {
      throw ContainerError.badPreamble(file: path, reason: "padding between header and data is not all spaces")
    }
    let json: JSONValue
    do {
      json = try JSONParser.parse(raw)
    } catch {
      throw ContainerError.invalidHeader(file: path, reason: error.description)
    }
    header = try ContainerHeader(json: json, file: path)
    try Self.checkLayout(header, dataLength: Int(preamble.dataLength), file: path)
    let computed = header.computedModelDigest()
    guard computed == header.modelDigest else {
      throw ContainerError.modelDigestMismatch(file: path, expected: header.modelDigest, actual: computed)
    }
    try Self.checkChain(header, file: path)
  }

  static func checkLayout(_ header: ContainerHeader, dataLength: Int, file: String) throws(ContainerError) {
    var ranges: [(Range<Int>, String)] = []
    for t in header.tensors {
      let s = t.storage
      guard s.offset % header.alignment == 0 else {
        throw .invalidTensor(file: file, tensor: t.name, reason: "offset \(s.offset) is not \(header.alignment)-byte aligned")
      }
      let (end, overflow) = s.offset.addingReportingOverflow(s.length)
      guard !overflow, end <= dataLength else {
        throw .invalidTensor(file: file, tensor: t.name, reason: "data [\(s.offset), +\(s.length)) runs past the data section (\(dataLength) bytes)")
      }
      if s.length > 0 { ranges.append((s.offset..<end, t.name)) }
    }
    if let (a, b) = firstOverlap(ranges.map { (range: $0.0, tag: $0.1) }) { throw .overlappingTensors(file: file, a: a, b: b) }
  }

  /// Each step must consume what the previous one produced, and the last must
  /// have produced this file's model digest.
  static func checkChain(_ header: ContainerHeader, file: String) throws(ContainerError) {
    guard let last = header.provenance.last else {
      throw .provenance(file: file, reason: "no provenance steps (every container records how it was made)")
    }
    for i in header.provenance.indices.dropFirst() {
      let expected = header.provenance[i - 1].modelDigest
      guard header.provenance[i].inputModelDigest == expected else {
        throw .provenance(file: file, reason: "step \(i) (\(header.provenance[i].operation)) does not chain to step \(i - 1)'s model digest")
      }
    }
    guard last.modelDigest == header.modelDigest else {
      throw .provenance(file: file, reason: "last step's model digest differs from the file's")
    }
  }

  // MARK: TensorSource

  public var format: String { "ingot" }

  public var tensors: [SourceTensor] {
    header.tensors.map {
      SourceTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, encoding: $0.encoding, byteCount: $0.storage.chunks?.encodedLength ?? $0.storage.length)
    }
  }

  public var metadata: [String: String] { header.metadata }

  public var files: [SourceFile] {
    [SourceFile(path: path, recordedPath: baseName(path), format: "ingot", size: file.size)]
  }

  public var provenance: [ProvenanceStep] { header.provenance }

  public var inputModelDigest: String? { header.modelDigest }

  public var signature: JSONValue? { header.signature }

  public func expectedDigest(_ index: Int) -> String? { header.tensors[index].digest }

  func range(of entry: TensorEntry) -> Range<Int> {
    (dataOffset + entry.storage.offset)..<(dataOffset + entry.storage.offset + entry.storage.length)
  }

  public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let entry = header.tensors[index]
    // audited: checkLayout proved the range lies inside the file.
    guard let bytes = file.bytes(range(of: entry)) else {
      throw ContainerError.invalidTensor(file: path, tensor: entry.name, reason: "data out of bounds")
    }
    guard let table = entry.storage.chunks else { return try body(bytes) }
    // Compressed: decode every chunk (in parallel) into one buffer of the
    // payload length, which the header check already tied to the encoding.
    let buffer = try allocateBuffer(table.encodedLength, file: path)
    defer { buffer.deallocate() }
    let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<table.encodedLength])
    try decodeChunks(entry, table, stored: bytes, into: out)
    return try body(UnsafeRawBufferPointer(out))
  }

  /// Element width for the byte-plane transform, 0 when there is none.
  func planeWidth(_ entry: TensorEntry, _ table: ChunkTable) -> Int {
    table.transform == .byteplane ? entry.dtype.bits / 8 : 0
  }

  func decodeChunks(_ entry: TensorEntry, _ table: ChunkTable, stored: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
    let offsets = table.storedOffsets
    let width = planeWidth(entry, table)
    let failures = Slots<ContainerError>(count: table.chunks.count)
    nonisolated(unsafe) let (src, dst) = (stored, out)
    let (name, file) = (entry.name, path)
    DispatchQueue.concurrentPerform(iterations: table.chunks.count) { i in
      let c = table.chunks[i]
      let part = UnsafeRawBufferPointer(rebasing: src[offsets[i]..<(offsets[i] + c.stored)])
      let range = table.decodedRange(i)
      do throws(ChunkCodec.Failure) {
        try ChunkCodec.decompress(part, raw: c.raw, width: width, rotate: table.rotate, into: UnsafeMutableRawBufferPointer(rebasing: dst[range]))
      } catch {
        failures[i] = .invalidTensor(file: file, tensor: name, reason: "chunk \(i): \(error.reason)")
      }
    }
    if let (_, first) = failures.first { throw first }
  }

  public func release(_ index: Int) { file.release(range(of: header.tensors[index])) }

  public func forEachSlice(_ index: Int, size: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
    let entry = header.tensors[index]
    guard let table = entry.storage.chunks else {
      try file.forEachSlice(range(of: entry), size: size, body)
      return
    }
    // Compressed: one chunk at a time, so memory stays at one chunk.
    guard let stored = file.bytes(range(of: entry)) else {
      throw ContainerError.invalidTensor(file: path, tensor: entry.name, reason: "data out of bounds")
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: table.chunkSize, alignment: 64)
    defer { buffer.deallocate() }
    let offsets = table.storedOffsets
    for (i, c) in table.chunks.enumerated() {
      let range = table.decodedRange(i)
      let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<range.count])
      do throws(ChunkCodec.Failure) {
        try ChunkCodec.decompress(UnsafeRawBufferPointer(rebasing: stored[offsets[i]..<(offsets[i] + c.stored)]), raw: c.raw, width: planeWidth(entry, table), rotate: table.rotate, into: out)
      } catch {
        throw ContainerError.invalidTensor(file: path, tensor: entry.name, reason: "chunk \(i): \(error.reason)")
      }
      try body(UnsafeRawBufferPointer(out), range.lowerBound)
    }
    release(index)
  }

  /// Recomputes tensor `index`'s digest; nil when it matches.
  public func verifyTensor(_ index: Int) -> ContainerError? {
    let entry = header.tensors[index]
    var digest = StreamingDigest()
    do {
      try forEachSlice(index, size: 8 << 20) { part, _ in digest.update(part) }
    } catch let error as ContainerError {
      return error
    } catch let error as FileError {
      return .invalidTensor(file: path, tensor: entry.name, reason: error.description)
    } catch {
      return .invalidTensor(file: path, tensor: entry.name, reason: "\(error)")
    }
    let actual = digest.finalizeHex()
    return actual == entry.digest
      ? nil : .digestMismatch(file: path, tensor: entry.name, expected: entry.digest, actual: actual)
  }

  public func verifyPayload(_ index: Int) -> Bool { verifyTensor(index) == nil }

  /// Checks that the alignment gaps between payloads hold only zero bytes, so
  /// nothing can hide in them.
  public func verifyPadding() -> ContainerError? {
    var cursor = 0
    for t in header.tensors.sorted(by: { $0.storage.offset < $1.storage.offset }) {
      if t.storage.offset > cursor,
        let gap = file.bytes((dataOffset + cursor)..<(dataOffset + t.storage.offset)),
        !gap.allSatisfy({ $0 == 0 })
      {
        return .invalidTensor(file: path, tensor: t.name, reason: "non-zero bytes in the padding before this tensor")
      }
      cursor = max(cursor, t.storage.offset + t.storage.length)
    }
    if let tail = file.bytes((dataOffset + cursor)..<file.size), !tail.allSatisfy({ $0 == 0 }) {
      return .badPreamble(file: path, reason: "non-zero bytes after the last tensor")
    }
    return nil
  }
}
