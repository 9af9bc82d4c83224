/// A reader index over bytes, in the manner of swift-nio's ByteBuffer: every
/// binary parser (GGUF, pickle, protobuf, zip, npy) reads through it. A read
/// states its endianness and either returns the value and advances, or
/// returns nil (`peek…`/`read…`) or throws `Short` with the offset where the
/// bytes ran out (`take…`); it never traps and never reads past `end`.
public struct ByteCursor {
  /// The bytes ran short: `needed` bytes at `offset`, `available` left.
  public struct Short: Error, Equatable, Sendable {
    public let offset: Int
    public let needed: Int
    public let available: Int
  }

  public let bytes: UnsafeRawBufferPointer
  /// Absolute index of the next byte to read.
  public var readerIndex: Int
  /// One past the last readable byte.
  public let end: Int

  public init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
    self.bytes = bytes
    let r = range ?? 0..<bytes.count
    let lower = min(max(r.lowerBound, 0), bytes.count)
    readerIndex = lower
    end = min(max(r.upperBound, lower), bytes.count)
  }

  public var readableBytes: Int { end - readerIndex }
  public var isAtEnd: Bool { readerIndex >= end }

  /// The integer at `readerIndex + offset`, without moving.
  public func peekInteger<T: FixedWidthInteger>(at offset: Int = 0, endianness: Endianness = .little, as: T.Type = T.self) -> T? {
    let size = MemoryLayout<T>.size
    guard offset >= 0, offset <= readableBytes - size else { return nil }
    let raw = bytes.loadUnaligned(fromByteOffset: readerIndex + offset, as: T.self)
    return endianness == .little ? T(littleEndian: raw) : T(bigEndian: raw)
  }

  public mutating func readInteger<T: FixedWidthInteger>(endianness: Endianness = .little, as: T.Type = T.self) -> T? {
    guard let v = peekInteger(endianness: endianness, as: T.self) else { return nil }
    readerIndex += MemoryLayout<T>.size
    return v
  }

  public mutating func readSlice(length: Int) -> UnsafeRawBufferPointer? {
    guard length >= 0, length <= readableBytes else { return nil }
    defer { readerIndex += length }
    return UnsafeRawBufferPointer(rebasing: bytes[readerIndex..<(readerIndex + length)])
  }

  /// `readInteger`, throwing `Short` instead of returning nil.
  public mutating func takeInteger<T: FixedWidthInteger>(endianness: Endianness = .little, as: T.Type = T.self) throws(Short) -> T {
    guard let v = readInteger(endianness: endianness, as: T.self) else { throw short(MemoryLayout<T>.size) }
    return v
  }

  /// `readSlice`, throwing `Short` instead of returning nil.
  public mutating func takeSlice(length: Int) throws(Short) -> UnsafeRawBufferPointer {
    guard let s = readSlice(length: length) else { throw short(length) }
    return s
  }

  public mutating func takeByte() throws(Short) -> UInt8 { try takeInteger(as: UInt8.self) }

  /// Moves the reader index to an absolute position inside the readable range.
  public mutating func moveReaderIndex(to index: Int) throws(Short) {
    guard index >= 0, index <= end else { throw Short(offset: index, needed: 0, available: 0) }
    readerIndex = index
  }

  public func short(_ needed: Int) -> Short { Short(offset: readerIndex, needed: needed, available: readableBytes) }

  public enum Endianness: Sendable { case little, big }
}

extension UnsafeRawBufferPointer {
  /// Little-endian integer at `offset`, or nil when it does not fit.
  @inlinable
  public func readLE<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T? {
    guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
    return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
  }
}
