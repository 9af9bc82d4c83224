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
  static let maxDeflateRatio = 1032
  /// And no single entry may claim more than this.
  public static let maxEntrySize = 64 << 30

  public let path: String
  public let file: MappedFile
  public let entries: [Entry]

  public init(file: MappedFile) throws(NumpyError) {
    let path = file.path
    self.path = path
    self.file = file
    func bad(_ reason: String) -> NumpyError { .invalid(file: path, array: nil, reason: "zip: " + reason) }
    let all = file.all
    // End of central directory: the last "PK\5\6" within 64 KiB + 22 of the end.
    guard all.count >= 22 else { throw bad("too short for a zip archive") }
    var eocd = -1
    var at = all.count - 22
    while at >= max(0, all.count - 22 - 65535) {
      if all.readLE(at, as: UInt32.self) == 0x0605_4B50 { eocd = at; break }
      at -= 1
    }
    guard eocd >= 0 else { throw bad("no end-of-central-directory record") }
    var count = Int(all.readLE(eocd + 10, as: UInt16.self) ?? 0)
    var cdSize = Int(all.readLE(eocd + 12, as: UInt32.self) ?? 0)
    var cdOffset = Int(all.readLE(eocd + 16, as: UInt32.self) ?? 0)
    if count == 0xFFFF || cdOffset == 0xFFFF_FFFF {
      // zip64: the locator sits just before the record.
      guard eocd >= 20, all.readLE(eocd - 20, as: UInt32.self) == 0x0706_4B50,
        let z = all.readLE(eocd - 12, as: UInt64.self).map(Int.init), z >= 0, z <= all.count - 56,
        all.readLE(z, as: UInt32.self) == 0x0606_4B50
      else { throw bad("bad zip64 end record") }
      count = Int(truncatingIfNeeded: all.readLE(z + 32, as: UInt64.self) ?? 0)
      cdSize = Int(truncatingIfNeeded: all.readLE(z + 40, as: UInt64.self) ?? 0)
      cdOffset = Int(truncatingIfNeeded: all.readLE(z + 48, as: UInt64.self) ?? 0)
    }
    guard cdOffset >= 0, cdSize >= 0, cdOffset <= all.count, cdSize <= all.count - cdOffset, count <= cdSize / 46 + 1 else {
      throw bad("central directory out of bounds")
    }
    var entries: [Entry] = []
    var p = cdOffset
    for _ in 0..<count {
      guard p <= cdOffset + cdSize - 46, all.readLE(p, as: UInt32.self) == 0x0201_4B50 else { throw bad("bad central directory entry") }
      let flags = all.readLE(p + 8, as: UInt16.self) ?? 0
      let method = all.readLE(p + 10, as: UInt16.self) ?? 0
      let crc = all.readLE(p + 16, as: UInt32.self) ?? 0
      var csize = Int(all.readLE(p + 20, as: UInt32.self) ?? 0)
      var usize = Int(all.readLE(p + 24, as: UInt32.self) ?? 0)
      let nlen = Int(all.readLE(p + 28, as: UInt16.self) ?? 0)
      let elen = Int(all.readLE(p + 30, as: UInt16.self) ?? 0)
      let clen = Int(all.readLE(p + 32, as: UInt16.self) ?? 0)
      var local = Int(all.readLE(p + 42, as: UInt32.self) ?? 0)
      guard p + 46 + nlen + elen + clen <= cdOffset + cdSize else { throw bad("central directory entry runs past its end") }
      guard let name = String(validating: all[(p + 46)..<(p + 46 + nlen)], as: UTF8.self) else { throw bad("entry name is not UTF-8") }
      guard flags & 1 == 0 else { throw bad("\(name): encrypted entries are not supported") }
      // zip64 extra field: sizes and offset that did not fit in 32 bits.
      var e = p + 46 + nlen
      while e + 4 <= p + 46 + nlen + elen {
        let id = all.readLE(e, as: UInt16.self) ?? 0, size = Int(all.readLE(e + 2, as: UInt16.self) ?? 0)
        if id == 1 {
          var q = e + 4
          func next() -> Int { defer { q += 8 }; return Int(truncatingIfNeeded: all.readLE(q, as: UInt64.self) ?? UInt64.max) }
          if usize == 0xFFFF_FFFF { usize = next() }
          if csize == 0xFFFF_FFFF { csize = next() }
          if local == 0xFFFF_FFFF { local = next() }
        }
        e += 4 + size
      }
      p += 46 + nlen + elen + clen
      guard usize >= 0, csize >= 0, local >= 0, local <= all.count - 30, all.readLE(local, as: UInt32.self) == 0x0403_4B50 else {
        throw bad("\(name): bad local header")
      }
      let start = local + 30 + Int(all.readLE(local + 26, as: UInt16.self) ?? 0) + Int(all.readLE(local + 28, as: UInt16.self) ?? 0)
      guard start <= all.count, csize <= all.count - start else { throw bad("\(name): data runs past the end of the archive") }
      switch method {
      case 0:
        guard usize == csize else { throw bad("\(name): stored entry with different sizes") }
      case 8:
        // Checked before anything is allocated: a bomb declares far more
        // than deflate can produce from its compressed bytes.
        guard usize <= Self.maxEntrySize, usize <= csize &* Self.maxDeflateRatio + 1024 else {
          throw bad("\(name): declares \(usize) bytes from \(csize) compressed bytes; refusing (more than deflate can produce, or over the \(Self.maxEntrySize >> 30) GiB limit)")
        }
      default:
        throw bad("\(name): compression method \(method) is not supported (stored and deflate are)")
      }
      entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: csize, size: usize, data: start..<(start + csize)))
    }
    self.entries = entries
  }

  /// Calls `body` with an entry's uncompressed bytes.
  public func withEntry<R>(_ entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    func bad(_ reason: String) -> NumpyError { .invalid(file: path, array: entry.name, reason: reason) }
    guard let raw = file.bytes(entry.data) else { throw bad("data out of bounds") }
    if entry.method == 0 {
      guard crc(raw) == entry.crc32 else { throw bad("CRC-32 mismatch (corrupted entry)") }
      return try body(raw)
    }
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(entry.size, 1), alignment: 64)
    defer { out.deallocate() }
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw bad("zlib init failed") }
    defer { inflateEnd(&stream) }
    stream.next_in = UnsafeMutablePointer(mutating: raw.baseAddress?.assumingMemoryBound(to: Bytef.self))
    stream.avail_in = uInt(raw.count)
    stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
    stream.avail_out = uInt(entry.size)
    let status = inflate(&stream, Z_FINISH)
    guard status == Z_STREAM_END, Int(stream.total_out) == entry.size else {
      throw bad(status == Z_BUF_ERROR || status == Z_OK ? "inflates to more than the \(entry.size) bytes it declares" : "corrupted deflate data")
    }
    let bytes = UnsafeRawBufferPointer(rebasing: out[0..<entry.size])
    guard crc(bytes) == entry.crc32 else { throw bad("CRC-32 mismatch (corrupted entry)") }
    return try body(bytes)
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
