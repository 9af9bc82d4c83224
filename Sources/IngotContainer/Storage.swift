import IngotCore
/// Where a tensor's payload sits in the data section, and how it is stored.
public struct Storage: Equatable, Sendable {
  /// Byte offset from the start of the data section; a multiple of the alignment.
  public var offset: Int
  /// Stored bytes (equal to the encoded length when uncompressed).
  public var length: Int
  /// nil: stored as is ("none"); otherwise zstd chunks (formats/ingot-v1.md §6.1).
  public var chunks: ChunkTable?

  public init(offset: Int, length: Int, chunks: ChunkTable? = nil) {
    self.offset = offset
    self.length = length
    self.chunks = chunks
  }

  public var compression: String { chunks == nil ? "none" : "zstd" }

  public var json: JSONValue {
    var object: [String: JSONValue] = [
      "offset": .int(Int64(offset)), "length": .int(Int64(length)), "compression": .string(compression),
    ]
    if let t = chunks {
      object["encoded_length"] = .int(Int64(t.encodedLength))
      object["transform"] = .string(t.transform.rawValue)
      if t.transform == .byteplane { object["rotate"] = .int(Int64(t.rotate)) }
      object["chunk_size"] = .int(Int64(t.chunkSize))
      object["chunks"] = .array(t.chunks.map { .array([.int(Int64($0.stored)), .int($0.raw ? 1 : 0)]) })
    }
    return .object(object)
  }
}

/// The chunk table of a zstd-compressed payload. Chunk i decodes to payload
/// bytes [i·chunkSize, min((i+1)·chunkSize, encodedLength)); stored chunks
/// follow one another from the tensor's offset.
public struct ChunkTable: Equatable, Sendable {
  public enum Transform: String, Sendable {
    case none
    /// Byte planes of bit-rotated floats (§6.1); the element width comes
    /// from the dtype, the rotation from `rotate`.
    case byteplane
  }

  public struct Chunk: Equatable, Sendable {
    public var stored: Int
    /// Stored as the payload bytes themselves (compression did not pay).
    public var raw: Bool
    public init(stored: Int, raw: Bool) {
      self.stored = stored
      self.raw = raw
    }
  }

  public static let minChunkSize = 4096
  public static let maxChunkSize = 64 << 20

  public var encodedLength: Int
  public var transform: Transform
  public var chunkSize: Int
  public var chunks: [Chunk]
  /// Left rotation of each element before the byte-plane split.
  public var rotate: Int

  public init(encodedLength: Int, transform: Transform, chunkSize: Int, chunks: [Chunk], rotate: Int = 0) {
    self.encodedLength = encodedLength
    self.transform = transform
    self.chunkSize = chunkSize
    self.chunks = chunks
    self.rotate = transform == .byteplane ? rotate : 0
  }

  public func decodedRange(_ i: Int) -> Range<Int> { (i * chunkSize)..<min(encodedLength, (i + 1) * chunkSize) }

  /// Offsets of each stored chunk relative to the tensor's offset.
  public var storedOffsets: [Int] {
    var at = 0
    return chunks.map { c in
      defer { at += c.stored }
      return at
    }
  }

  /// Parses and checks a table against the payload length the encoding
  /// implies, before anything is allocated from it.
  static func parse(_ data: [String: JSONValue], storedLength: Int, payloadLength: Int, elementWidth: Int?, bad: (_ field: String, _ reason: String) -> ContainerError) throws(ContainerError) -> ChunkTable {
    guard let encoded = data["encoded_length"]?.intValue, Int(encoded) == payloadLength else {
      throw bad("encoded_length", "must equal the payload length \(payloadLength)")
    }
    guard let t = data["transform"]?.stringValue, let transform = Transform(rawValue: t) else { throw bad("transform", "unknown transform") }
    guard let size = data["chunk_size"]?.intValue, size >= minChunkSize, size <= maxChunkSize else {
      throw bad("chunk_size", "must be between \(minChunkSize) and \(maxChunkSize)")
    }
    var rotate = 0
    if transform == .byteplane {
      guard let w = elementWidth else { throw bad("transform", "byteplane applies to raw f16, bf16, f32 and f64 only") }
      guard Int(size) % w == 0 else { throw bad("chunk_size", "is not a whole number of elements") }
      // Absent in files written before the field existed, which rotated by one.
      let r = data["rotate"].map { $0.intValue ?? -1 } ?? 1
      guard r >= 0, r < Int64(8 * w) else { throw bad("rotate", "must be between 0 and \(8 * w - 1) for \(8 * w)-bit elements") }
      rotate = Int(r)
    } else if data["rotate"] != nil {
      throw bad("rotate", "applies to the byteplane transform only")
    }
    guard let list = data["chunks"]?.arrayValue else { throw bad("chunks", "missing chunk table") }
    let expected = payloadLength / Int(size) + (payloadLength % Int(size) == 0 ? 0 : 1)  // no overflow near Int.max
    guard list.count == expected else {
      throw bad("chunks", "the table lists \(list.count) chunks; encoded_length \(payloadLength) in chunks of \(size) needs \(expected)")
    }
    var chunks: [Chunk] = []
    chunks.reserveCapacity(list.count)
    var total = 0
    for (i, item) in list.enumerated() {
      guard let pair = item.arrayValue, pair.count == 2, let n = pair[0].intValue, n > 0, let flags = pair[1].intValue,
        flags == 0 || flags == 1
      else { throw bad("chunks", "chunk \(i): entry must be [stored_length > 0, flags 0 or 1]") }
      let decoded = min(payloadLength, (i + 1) * Int(size)) - i * Int(size)
      if flags == 1 && Int(n) != decoded { throw bad("chunks", "chunk \(i): raw chunk of \(n) bytes, expected \(decoded)") }
      // The bound on what a small file can make a reader allocate.
      let ratio = Int64(Limits.maxDecompressionRatio)
      if flags == 0 && (Int64(decoded) + ratio - 1) / ratio > n {
        throw bad("chunks", "chunk \(i): \(n) stored bytes cannot decode to \(decoded) (over \(Limits.maxDecompressionRatio):1, maxDecompressionRatio)")
      }
      let (sum, overflow) = total.addingReportingOverflow(Int(n))
      guard !overflow else { throw bad("chunks", "chunk lengths overflow") }
      total = sum
      chunks.append(Chunk(stored: Int(n), raw: flags == 1))
    }
    guard total == storedLength else { throw bad("chunks", "chunk lengths sum to \(total), stored length is \(storedLength)") }
    return ChunkTable(encodedLength: payloadLength, transform: transform, chunkSize: Int(size), chunks: chunks, rotate: rotate)
  }
}
