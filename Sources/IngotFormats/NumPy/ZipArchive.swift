import CZlib
import IngotCore

/// A read-only zip archive over a memory map: the central directory, and
/// each entry's bytes (stored entries without a copy; deflated ones inflated
/// up to the size they declare, after that size is checked).
public struct ZipArchive: Sendable {
  public struct Entry: Equatable, Sendable {
    public var name: String
    public var method: UInt16
    public var crc32: UInt32
    public var compressedSize: Int
    public var size: Int
    /// Byte range of the entry's (compressed) data in the archive.
    public var data: Range<Int>
  }

  /// Deflate cannot expand data by more than about 1032:1.
  static let maxDeflateRatio = Limits.maxDeflateRatio
  /// And no single entry may claim more than this.
  public static let maxEntrySize = Limits.maxZipEntryBytes

  public let path: String
  public let file: MappedFile
  public let entries: [Entry]

  public init(file: MappedFile) throws(NumpyError) {
    let path = file.path
    self.path = path
    self.file = file
    let all = file.all
    func short(_ e: ByteCursor.Short) -> NumpyError { .zip(file: path, entry: nil, offset: e.offset, reason: "record truncated") }
    // End of central directory: the last "PK\5\6" within 64 KiB + 22 of the end.
    guard all.count >= 22 else { throw .zip(file: path, entry: nil, offset: 0, reason: "too short for a zip archive") }
    var eocd = -1
    var at = all.count - 22
    while at >= max(0, all.count - 22 - 65535) {
      if all.readLE(at, as: UInt32.self) == 0x0605_4B50 { eocd = at; break }
      at -= 1
    }
    guard eocd >= 0 else { throw .zip(file: path, entry: nil, offset: all.count, reason: "no end-of-central-directory record") }
    var count = 0, cdSize = 0, cdOffset = 0
    do {
      var r = ByteCursor(all, range: (eocd + 10)..<all.count)
      count = Int(try r.takeInteger(as: UInt16.self))
      cdSize = Int(try r.takeInteger(as: UInt32.self))
      cdOffset = Int(try r.takeInteger(as: UInt32.self))
      if count == 0xFFFF || cdOffset == 0xFFFF_FFFF {
        // zip64: the locator sits just before the record.
        guard eocd >= 20, all.readLE(eocd - 20, as: UInt32.self) == 0x0706_4B50,
          let z = all.readLE(eocd - 12, as: UInt64.self), z <= UInt64(all.count - 56), all.readLE(Int(z), as: UInt32.self) == 0x0606_4B50
        else { throw NumpyError.zip(file: path, entry: nil, offset: eocd, reason: "bad zip64 end record") }
        var z64 = ByteCursor(all, range: (Int(z) + 32)..<all.count)
        count = Int(clamping: try z64.takeInteger(as: UInt64.self))
        cdSize = Int(clamping: try z64.takeInteger(as: UInt64.self))
        cdOffset = Int(clamping: try z64.takeInteger(as: UInt64.self))
      }
    } catch let e as ByteCursor.Short { throw short(e) } catch let e as NumpyError { throw e } catch { throw .zip(file: path, entry: nil, offset: eocd, reason: "\(error)") }
    guard cdOffset >= 0, cdSize >= 0, cdOffset <= all.count, cdSize <= all.count - cdOffset, count <= cdSize / 46 + 1 else {
      throw .zip(file: path, entry: nil, offset: eocd, reason: "central directory out of bounds")
    }
    var entries: [Entry] = []
    var cd = ByteCursor(all, range: cdOffset..<(cdOffset + cdSize))
    var locals = Set<Int>()
    for _ in 0..<count {
      let p = cd.readerIndex
      do {
        guard try cd.takeInteger(as: UInt32.self) == 0x0201_4B50 else {
          throw NumpyError.zip(file: path, entry: nil, offset: p, reason: "bad central directory entry")
        }
        _ = try cd.takeSlice(length: 4)  // versions
        let flags = try cd.takeInteger(as: UInt16.self)
        let method = try cd.takeInteger(as: UInt16.self)
        _ = try cd.takeSlice(length: 4)  // time, date
        let crc = try cd.takeInteger(as: UInt32.self)
        var csize = UInt64(try cd.takeInteger(as: UInt32.self))
        var usize = UInt64(try cd.takeInteger(as: UInt32.self))
        let nlen = Int(try cd.takeInteger(as: UInt16.self))
        let elen = Int(try cd.takeInteger(as: UInt16.self))
        let clen = Int(try cd.takeInteger(as: UInt16.self))
        _ = try cd.takeSlice(length: 8)  // disk, attributes
        var local = UInt64(try cd.takeInteger(as: UInt32.self))
        let nameBytes = try cd.takeSlice(length: nlen)
        guard let name = String(validating: nameBytes, as: UTF8.self) else { throw NumpyError.zip(file: path, entry: nil, offset: p, reason: "entry name is not UTF-8") }
        guard flags & 1 == 0 else { throw NumpyError.zip(file: path, entry: name, offset: p, reason: "encrypted entries are not supported") }
        // zip64 extra field: sizes and offset that did not fit in 32 bits.
        var extra = ByteCursor(try cd.takeSlice(length: elen))
        while extra.readableBytes >= 4 {
          let id = try extra.takeInteger(as: UInt16.self), size = Int(try extra.takeInteger(as: UInt16.self))
          var field = ByteCursor(try extra.takeSlice(length: min(size, extra.readableBytes)))
          guard id == 1 else { continue }
          if usize == 0xFFFF_FFFF { usize = try field.takeInteger(as: UInt64.self) }
          if csize == 0xFFFF_FFFF { csize = try field.takeInteger(as: UInt64.self) }
          if local == 0xFFFF_FFFF { local = try field.takeInteger(as: UInt64.self) }
        }
        _ = try cd.takeSlice(length: clen)
        guard usize <= UInt64(Self.maxEntrySize), csize <= UInt64(all.count), all.count >= 30, local <= UInt64(all.count - 30),
          all.readLE(Int(local), as: UInt32.self) == 0x0403_4B50
        else { throw NumpyError.zip(file: path, entry: name, offset: p, reason: "bad local header") }
        // Two entries over one stream would make its work count twice.
        guard locals.insert(Int(local)).inserted else { throw NumpyError.zip(file: path, entry: name, offset: p, reason: "shares its data with another entry") }
        var lh = ByteCursor(all, range: (Int(local) + 26)..<all.count)
        let start = Int(local) + 30 + Int(try lh.takeInteger(as: UInt16.self)) + Int(try lh.takeInteger(as: UInt16.self))
        let (c, u) = (Int(csize), Int(usize))
        guard start <= all.count, c <= all.count - start else { throw NumpyError.zip(file: path, entry: name, offset: p, reason: "data runs past the end of the archive") }
        switch method {
        case 0:
          guard u == c else { throw NumpyError.zip(file: path, entry: name, offset: p, reason: "stored entry with different sizes") }
        case 8:
          // Checked before anything is allocated: a bomb declares far more
          // than deflate can produce from its compressed bytes.
          guard u <= c &* Self.maxDeflateRatio + 1024 else { throw NumpyError.bomb(file: path, entry: name, declared: u, compressed: c) }
        default:
          throw NumpyError.zip(file: path, entry: name, offset: p, reason: "compression method \(method) is not supported (stored and deflate are)")
        }
        entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: c, size: u, data: start..<(start + c)))
      } catch let e as ByteCursor.Short { throw short(e) } catch let e as NumpyError { throw e } catch { throw .zip(file: path, entry: nil, offset: eocd, reason: "\(error)") }
    }
    // Entries whose data overlap (distinct local headers over one deflate
    // stream) would make its work count once per entry.
    if let (a, b) = firstOverlap(entries.map { (range: $0.data, tag: $0) }) {
      throw NumpyError.zip(file: path, entry: b.name, offset: b.data.lowerBound, reason: "shares its data with entry \(a.name)")
    }
    self.entries = entries
  }

  /// Calls `body` with an entry's uncompressed bytes.
  public func withEntry<R>(_ entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    func bad(_ reason: String) -> NumpyError { .zip(file: path, entry: entry.name, offset: entry.data.lowerBound, reason: reason) }
    guard let raw = file.bytes(entry.data) else { throw bad("data out of bounds") }
    if entry.method == 0 {
      guard crc(raw) == entry.crc32 else { throw bad("CRC-32 mismatch (corrupted entry)") }
      return try body(raw)
    }
    let out = try allocateBuffer(entry.size, file: path)
    defer { out.deallocate() }
    let (produced, ended) = try inflate(raw, into: out, entry: entry)
    guard ended, produced == entry.size else {
      throw bad(produced == entry.size ? "inflates to more than the \(entry.size) bytes it declares" : "corrupted deflate data")
    }
    let bytes = UnsafeRawBufferPointer(out)
    guard crc(bytes) == entry.crc32 else { throw bad("CRC-32 mismatch (corrupted entry)") }
    return try body(bytes)
  }

  /// Calls `body` with at most the first `limit` uncompressed bytes of an
  /// entry, inflating no further (inspect reads headers of members that
  /// inflate to gigabytes). The CRC is checked when the whole entry is read.
  public func withPrefix<R>(_ entry: Entry, _ limit: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    guard let raw = file.bytes(entry.data) else {
      throw NumpyError.zip(file: path, entry: entry.name, offset: entry.data.lowerBound, reason: "data out of bounds")
    }
    let want = min(limit, entry.size)
    if entry.method == 0 { return try body(UnsafeRawBufferPointer(rebasing: raw[0..<min(want, raw.count)])) }
    let out = try allocateBuffer(want, file: path)
    defer { out.deallocate() }
    let (produced, _) = try inflate(raw, into: out, entry: entry)
    return try body(UnsafeRawBufferPointer(rebasing: out[0..<produced]))
  }

  /// Raw deflate of `raw` into `out`, never past its end: how many bytes
  /// came out, and whether the stream ended there. zlib counts in 32 bits,
  /// so input and output go in pieces of at most 1 GiB.
  func inflate(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, entry: Entry) throws(NumpyError) -> (Int, Bool) {
    func bad(_ reason: String) -> NumpyError { .zip(file: path, entry: entry.name, offset: entry.data.lowerBound, reason: reason) }
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw bad("zlib init failed") }
    defer { inflateEnd(&stream) }
    let piece = 1 << 30
    var fed = 0
    while true {
      if stream.avail_in == 0 && fed < raw.count {
        let n = min(piece, raw.count - fed)
        stream.next_in = UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: Bytef.self) + fed)  // audited: fed < count
        stream.avail_in = uInt(n)
        fed += n
      }
      let (produced, consumed) = (Int(stream.total_out), Int(stream.total_in))
      // A full buffer still gets one call with no room: it tells whether
      // the stream ends exactly there or has more to give.
      stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced  // audited: allocateBuffer gives ≥ 1 byte
      stream.avail_out = uInt(min(piece, out.count - produced))
      let status = CZlib.inflate(&stream, fed == raw.count ? Z_FINISH : Z_NO_FLUSH)
      if status == Z_STREAM_END { return (Int(stream.total_out), true) }
      guard status == Z_OK || status == Z_BUF_ERROR else { throw bad("corrupted deflate data") }
      let progress = Int(stream.total_out) > produced || Int(stream.total_in) > consumed || (stream.avail_in == 0 && fed < raw.count)
      if produced == out.count || !progress { return (Int(stream.total_out), false) }
    }
  }

  func crc(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var c: uLong = crc32(0, nil, 0)
    var at = 0
    while at < bytes.count {
      let n = min(bytes.count - at, 1 << 30)
      c = crc32(c, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + at, uInt(n))  // audited: count > 0 here
      at += n
    }
    return UInt32(truncatingIfNeeded: c)
  }
}
