import IngotCore
import CZstd

#if canImport(Glibc)
  import Glibc
#endif

/// One chunk of a compressed tensor: zstd frames with their own checksum,
/// or the bytes as they are when compression would not shrink them.
public enum ChunkCodec {
  public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
  }

  /// Compresses `input` (one chunk of payload). `width` > 1 applies the
  /// byte-plane transform first, rotating by `rotate` (the chunk holds
  /// whole elements). Returns the stored bytes and whether they are the raw chunk.
  public static func compress(_ input: UnsafeRawBufferPointer, width: Int, rotate: Int, level: Int32) throws(Failure) -> (bytes: [UInt8], raw: Bool) {
    guard input.count > 0, let base = input.baseAddress else { return ([], true) }
    // A compression context and its two scratch buffers are reused across
    // chunks: fresh 1 MiB buffers are fresh pages to fault in every time.
    let worker = Worker.take(capacity: input.count)
    defer { Worker.give(worker) }
    let ctx = worker.cctx
    ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters)
    var source = input
    if width > 1 {
      BytePlanes.split(base, worker.planes, count: input.count / width, width: width, rotate: rotate)
      source = UnsafeRawBufferPointer(start: worker.planes, count: input.count)
    }
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1)
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1)
    if width > 1 {
      // Byte planes of floats are nearly i.i.d. symbols: LZ matches found
      // there cost more than they save. A tiny match-finder table (2^6)
      // leaves almost everything to the Huffman literal coder: on MiniLM's
      // exponent plane 2.65 bits a byte instead of 2.91, and faster. (Tried:
      // hash logs 5, 8, 10, min-match 5 and 7, strategy dfast: none better.)
      ZSTD_CCtx_setParameter(ctx, ZSTD_c_hashLog, 6)
    }
    // One frame; each byte plane is flushed on its own so that no zstd block
    // mixes the compressible exponent plane with the near-random mantissa
    // planes (a mixed block loses most of the exponent's gain).
    ZSTD_CCtx_setPledgedSrcSize(ctx, UInt64(input.count))
    let planeCount = width > 1 ? width : 1
    let planeSize = input.count / planeCount
    var output = ZSTD_outBuffer(dst: worker.out, size: worker.outCapacity, pos: 0)
    for p in 0..<planeCount {
      let start = p * planeSize
      let end = p == planeCount - 1 ? input.count : start + planeSize
      var inBuffer = ZSTD_inBuffer(src: source.baseAddress! + start, size: end - start, pos: 0)  // audited: count > 0
      let mode = p == planeCount - 1 ? ZSTD_e_end : ZSTD_e_flush
      while true {
        let left = ZSTD_compressStream2(ctx, &output, &inBuffer, mode)
        guard ZSTD_isError(left) == 0 else { throw Failure("zstd: " + String(cString: ZSTD_getErrorName(left))) }
        if left == 0 && inBuffer.pos == inBuffer.size { break }
        guard output.pos < output.size else { throw Failure("zstd: output bound exceeded") }
      }
    }
    // Stored raw when compression does not pay: then reading it costs nothing.
    if output.pos >= input.count { return (Array(input), true) }
    var stored = [UInt8](UnsafeRawBufferPointer(start: worker.out, count: output.pos))
    // Readers refuse a chunk that decodes to more than maxDecompressionRatio
    // times its stored bytes (the bound on what a small file can make a
    // reader allocate). A chunk that compresses better (zeros) is padded
    // with a zstd skippable frame, which every zstd decoder passes over.
    let minimum = (input.count + Limits.maxDecompressionRatio - 1) / Limits.maxDecompressionRatio
    if stored.count < minimum {
      let padding = max(minimum - stored.count - 8, 0)
      stored += [0x50, 0x2A, 0x4D, 0x18] + withUnsafeBytes(of: UInt32(padding).littleEndian) { Array($0) } + [UInt8](repeating: 0, count: padding)
    }
    return (stored, false)
  }

  /// A zstd context with scratch buffers, kept in a small pool.
  final class Worker: @unchecked Sendable {
    // @unchecked: a worker is used by one thread at a time (taken from the pool).
    let cctx: OpaquePointer
    var planes: UnsafeMutableRawPointer
    var out: UnsafeMutableRawPointer
    var capacity: Int
    var outCapacity: Int

    init(capacity: Int) {
      cctx = ZSTD_createCCtx()!  // audited: fails only when out of memory, which aborts anyway
      self.capacity = capacity
      outCapacity = ZSTD_compressBound(capacity) + 64
      planes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
      out = UnsafeMutableRawPointer.allocate(byteCount: outCapacity, alignment: 64)
    }

    deinit {
      ZSTD_freeCCtx(cctx)
      planes.deallocate()
      out.deallocate()
    }

    func ensure(_ n: Int) {
      guard n > capacity else { return }
      planes.deallocate()
      out.deallocate()
      capacity = n
      outCapacity = ZSTD_compressBound(n) + 64
      planes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
      out = UnsafeMutableRawPointer.allocate(byteCount: outCapacity, alignment: 64)
    }

    nonisolated(unsafe) static var pool: [Worker] = []
    static let lock = Lock()

    static func take(capacity: Int) -> Worker {
      let w = lock.locked { pool.popLast() } ?? Worker(capacity: capacity)
      w.ensure(capacity)
      return w
    }

    static func give(_ w: Worker) { lock.locked { if pool.count < 16 { pool.append(w) } } }
  }

  /// Decompresses one stored chunk into `output`, which is exactly the
  /// chunk's decoded size; checks the frame's declared size first, so a
  /// lying frame is refused before any work, and the frame checksum after.
  public static func decompress(_ stored: UnsafeRawBufferPointer, raw: Bool, width: Int, rotate: Int, into output: UnsafeMutableRawBufferPointer) throws(Failure) {
    if raw {
      guard stored.count == output.count else { throw Failure("raw chunk holds \(stored.count) bytes, expected \(output.count)") }
      if let o = output.baseAddress, let s = stored.baseAddress { o.copyMemory(from: s, byteCount: stored.count) }
      return
    }
    guard let src = stored.baseAddress, let dst = output.baseAddress else { throw Failure("empty compressed chunk") }
    let declared = ZSTD_getFrameContentSize(src, stored.count)
    guard declared == UInt64(output.count) else {
      throw Failure(declared >= UInt64.max - 1 ? "chunk is not a zstd frame with a declared size (corrupted or truncated)"
        : "chunk declares \(declared) decompressed bytes, expected \(output.count)")
    }
    // A decompression context and the plane buffer are reused across
    // chunks, like the compressor's: fresh ones cost page faults every chunk.
    let worker = Decoder.take(capacity: width > 1 ? output.count : 0)
    defer { Decoder.give(worker) }
    let target = width > 1 ? worker.planes : dst
    let n = ZSTD_decompressDCtx(worker.dctx, target, output.count, src, stored.count)
    guard ZSTD_isError(n) == 0 else { throw Failure("zstd: " + String(cString: ZSTD_getErrorName(n))) }
    guard n == output.count else { throw Failure("chunk decompressed to \(n) bytes, expected \(output.count)") }
    if width > 1 { BytePlanes.join(target, dst, count: output.count / width, width: width, rotate: rotate) }
  }
}

/// A zstd decompression context with a plane buffer, kept in a small pool.
final class Decoder: @unchecked Sendable {
  // @unchecked: a decoder is used by one thread at a time (taken from the pool).
  let dctx: OpaquePointer
  var planes: UnsafeMutableRawPointer
  var capacity: Int

  init(capacity: Int) {
    dctx = ZSTD_createDCtx()!  // audited: fails only when out of memory, which aborts anyway
    self.capacity = max(capacity, 64)
    planes = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 64)
  }

  deinit {
    ZSTD_freeDCtx(dctx)
    planes.deallocate()
  }

  nonisolated(unsafe) static var pool: [Decoder] = []
  static let lock = Lock()

  static func take(capacity: Int) -> Decoder {
    let d = lock.locked { pool.popLast() } ?? Decoder(capacity: capacity)
    if capacity > d.capacity {
      d.planes.deallocate()
      d.capacity = capacity
      d.planes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }
    return d
  }

  static func give(_ d: Decoder) { lock.locked { if pool.count < 16 { pool.append(d) } } }
}

