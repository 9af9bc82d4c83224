import Dispatch
import IngotCodec
import IngotCore

/// `--compress zstd[:LEVEL]`: how payloads are stored (formats/ingot-v1.md
/// §6.1). Compression changes storage only; tensor digests stay the same.
public struct Compression: Equatable, Sendable {
  public var level: Int32
  public var chunkSize: Int
  /// nil: all cores.
  public var threads: Int?

  public init(level: Int32 = 1, chunkSize: Int = 1 << 20, threads: Int? = nil) {
    self.level = level
    self.chunkSize = chunkSize
    self.threads = threads
  }

  public var parameters: [String: JSONValue] {
    ["compression": "zstd", "level": .int(Int64(level)), "chunk_size": .int(Int64(chunkSize))]
  }

  /// Byte-plane width for a payload (spec §6.1): the element width of a raw
  /// f16, bf16, f32 or f64 tensor; nil for anything else.
  public static func planeWidth(_ dtype: DType, _ encoding: Encoding) -> Int? {
    encoding.isRaw && [.f16, .bf16, .f32, .f64].contains(dtype) ? dtype.bits / 8 : nil
  }

  static func planeWidth(_ t: SourceTensor) -> Int { planeWidth(t.dtype, t.encoding) ?? 0 }

  /// The byte-plane rotation for a float dtype (BytePlanes.rotation).
  public static func planeRotation(_ dtype: DType) -> Int { BytePlanes.rotation(width: dtype.bits / 8) }
}

/// One tensor's payload on its way into zstd chunks: bytes arrive in slices
/// of any size; every whole chunk is compressed as soon as it is complete
/// (the chunks of one slice in parallel) and handed out in order, so memory
/// stays at one slice plus one partial chunk.
final class ChunkedPayload {
  let compression: Compression
  let width: Int
  let rotate: Int
  let size: Int
  let name: String
  private var pending: [UInt8] = []
  private(set) var chunks: [ChunkTable.Chunk] = []
  private(set) var length = 0

  init(_ tensor: SourceTensor, _ compression: Compression) {
    self.compression = compression
    width = Compression.planeWidth(tensor)
    rotate = width > 0 ? Compression.planeRotation(tensor.dtype) : 0
    size = width > 0 ? compression.chunkSize / width * width : compression.chunkSize
    name = tensor.name
    pending.reserveCapacity(size)
  }

  /// Adds payload bytes; `emit` receives each stored chunk in order.
  func add(_ bytes: UnsafeRawBufferPointer, emit: ([UInt8]) throws -> Void) throws {
    length += bytes.count
    var rest = bytes
    if !pending.isEmpty {
      let n = min(size - pending.count, rest.count)
      pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
      rest = UnsafeRawBufferPointer(rebasing: rest[n...])
      if pending.count == size {
        try pending.withUnsafeBytes { try compress($0, emit: emit) }
        pending.removeAll(keepingCapacity: true)
      }
    }
    let whole = rest.count / size * size
    if whole > 0 { try compress(UnsafeRawBufferPointer(rebasing: rest[0..<whole]), emit: emit) }
    pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[whole...]))
  }

  /// Compresses the last partial chunk.
  func flush(emit: ([UInt8]) throws -> Void) throws {
    guard !pending.isEmpty else { return }
    try pending.withUnsafeBytes { try compress($0, emit: emit) }
    pending.removeAll()
  }

  /// Compresses whole chunks of `bytes` (the last may be short) in parallel.
  private func compress(_ bytes: UnsafeRawBufferPointer, emit: ([UInt8]) throws -> Void) throws {
    let count = (bytes.count + size - 1) / size
    let results = Slots<Result<(bytes: [UInt8], raw: Bool), ChunkCodec.Failure>>(count: count)
    nonisolated(unsafe) let source = bytes
    let (size, width, rotate, level) = (self.size, self.width, self.rotate, compression.level)
    let work: @Sendable (Int) -> Void = { i in
      let part = UnsafeRawBufferPointer(rebasing: source[(i * size)..<min(source.count, (i + 1) * size)])
      results[i] = Result { () throws(ChunkCodec.Failure) in try ChunkCodec.compress(part, width: width, rotate: rotate, level: level) }
    }
    if compression.threads == 1 || count == 1 {
      for i in 0..<count { work(i) }
    } else {
      DispatchQueue.concurrentPerform(iterations: count, execute: work)
    }
    for i in 0..<count {
      switch results[i] {
      case .success(let c):
        chunks.append(ChunkTable.Chunk(stored: c.bytes.count, raw: c.raw))
        try emit(c.bytes)
      case .failure(let e):
        throw ContainerError.compression(tensor: name, chunk: chunks.count, reason: e.reason)
      case nil:
        throw ContainerError.compression(tensor: name, chunk: chunks.count, reason: "not compressed")
      }
    }
  }

  /// The chunk table, or nil for an empty payload (stored as is).
  var table: ChunkTable? {
    guard length > 0 else { return nil }
    return ChunkTable(encodedLength: length, transform: width > 0 ? .byteplane : .none, chunkSize: size, chunks: chunks, rotate: rotate)
  }
}
