import Dispatch
import IngotCodec
import IngotContainer

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

  /// Byte-plane width for a payload: float elements of raw tensors; 0 otherwise.
  static func planeWidth(_ t: SourceTensor) -> Int {
    t.encoding.isRaw && [.f16, .bf16, .f32, .f64].contains(t.dtype) ? t.dtype.bits / 8 : 0
  }

  /// The byte-plane rotation for a float dtype (BytePlanes.rotation).
  public static func planeRotation(_ dtype: DType) -> Int { BytePlanes.rotation(width: dtype.bits / 8) }

  /// Hashes the payload and compresses its chunks in parallel, then writes
  /// the stored chunks in order. Returns the storage (with its chunk table)
  /// and the payload's digest.
  func compressAndWrite(_ payload: UnsafeRawBufferPointer, tensor: SourceTensor, to writer: ContainerWriter) throws -> (Storage, String) {
    guard payload.count > 0 else {
      return (Storage(offset: writer.reserve(0), length: 0), Digest.sha256Hex(payload))
    }
    let width = Self.planeWidth(tensor)
    let rotate = width > 0 ? Self.planeRotation(tensor.dtype) : 0
    let size = width > 0 ? chunkSize / width * width : chunkSize
    let count = (payload.count + size - 1) / size
    let results = CompressedChunks(count: count)
    nonisolated(unsafe) let source = payload
    let level = self.level
    let work: @Sendable (Int) -> Void = { i in
      if i == count {
        results.digest = Digest.sha256Hex(source)
        return
      }
      let part = UnsafeRawBufferPointer(rebasing: source[(i * size)..<min(source.count, (i + 1) * size)])
      results.set(i, Result { () throws(ChunkCodec.Failure) in try ChunkCodec.compress(part, width: width, rotate: rotate, level: level) })
    }
    if threads == 1 {
      for i in 0...count { work(i) }
    } else {
      DispatchQueue.concurrentPerform(iterations: count + 1, execute: work)
    }
    var chunks: [ChunkTable.Chunk] = []
    var stored: [[UInt8]] = []
    for i in 0..<count {
      switch results.get(i) {
      case .success(let c):
        chunks.append(ChunkTable.Chunk(stored: c.bytes.count, raw: c.raw))
        stored.append(c.bytes)
      case .failure(let e):
        throw PipelineError.failed("\(tensor.name): chunk \(i): \(e.reason)")
      case nil:
        throw PipelineError.failed("\(tensor.name): chunk \(i) missing")
      }
    }
    let total = chunks.reduce(0) { $0 + $1.stored }
    let offset = writer.reserve(total)
    var at = offset
    for bytes in stored {
      try bytes.withUnsafeBytes { try writer.write($0, at: at) }
      at += bytes.count
    }
    let table = ChunkTable(encodedLength: payload.count, transform: width > 0 ? .byteplane : .none, chunkSize: size, chunks: chunks, rotate: rotate)
    return (Storage(offset: offset, length: total, chunks: table), results.digest)
  }
}

final class CompressedChunks: @unchecked Sendable {
  private var slots: [Result<(bytes: [UInt8], raw: Bool), ChunkCodec.Failure>?]
  private let lock = PThreadMutex()
  private var _digest = ""
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ r: Result<(bytes: [UInt8], raw: Bool), ChunkCodec.Failure>) { lock.locked { slots[i] = r } }
  func get(_ i: Int) -> Result<(bytes: [UInt8], raw: Bool), ChunkCodec.Failure>? { lock.locked { slots[i] } }
  var digest: String {
    get { lock.locked { _digest } }
    set { lock.locked { _digest = newValue } }
  }
}
