import IngotCore
/// The fixed 72-byte start of every `.ingot` file (formats/ingot-v1.md §2).
public struct Preamble: Equatable, Sendable {
  public static let size = 72
  public static let magic = ContainerMagic.bytes
  /// Headers above this are refused before any allocation.
  public static let maxHeaderLength = Limits.maxIngotHeaderBytes

  public var major: UInt16
  public var minor: UInt16
  public var flags: UInt32
  public var headerLength: UInt64
  public var dataOffset: UInt64
  public var dataLength: UInt64
  public var headerSHA256: [UInt8]

  public init(headerLength: Int, dataOffset: Int, dataLength: Int, headerSHA256: [UInt8]) {
    major = UInt16(ContainerHeader.formatMajor)
    minor = UInt16(ContainerHeader.formatMinor)
    flags = 0
    self.headerLength = UInt64(headerLength)
    self.dataOffset = UInt64(dataOffset)
    self.dataLength = UInt64(dataLength)
    self.headerSHA256 = headerSHA256
  }

  public func encoded() -> [UInt8] {
    var out = Self.magic
    func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    put(major)
    put(minor)
    put(flags)
    put(headerLength)
    put(dataOffset)
    put(dataLength)
    out.append(contentsOf: headerSHA256)
    return out
  }

  /// Parses and checks the preamble against the real file size.
  public init(_ bytes: UnsafeRawBufferPointer, fileSize: Int, file: String) throws(ContainerError) {
    guard fileSize >= Self.size, bytes.count >= Self.size else {
      throw .tooShort(file: file, size: fileSize)
    }
    guard Array(bytes[0..<8]) == Self.magic else { throw .badMagic(file: file) }
    // audited: the count check above guarantees these reads fit.
    major = bytes.readLE(8) ?? 0
    minor = bytes.readLE(10) ?? 0
    flags = bytes.readLE(12) ?? 0
    headerLength = bytes.readLE(16) ?? 0
    dataOffset = bytes.readLE(24) ?? 0
    dataLength = bytes.readLE(32) ?? 0
    headerSHA256 = Array(bytes[40..<72])
    guard Int(major) == ContainerHeader.formatMajor else {
      throw .unsupportedVersion(file: file, major: Int(major), minor: Int(minor))
    }
    guard flags == 0 else { throw .badPreamble(file: file, reason: "reserved flags are 0x\(String(flags, radix: 16)), expected 0") }
    guard headerLength <= UInt64(Self.maxHeaderLength) else {
      throw .badPreamble(file: file, reason: "header length \(headerLength) exceeds the \(Self.maxHeaderLength)-byte limit")
    }
    let headerEnd = UInt64(Self.size) + headerLength
    guard dataOffset >= headerEnd else {
      throw .badPreamble(file: file, reason: "data offset \(dataOffset) lies inside the header (ends at \(headerEnd))")
    }
    guard dataOffset % 64 == 0 else {
      throw .badPreamble(file: file, reason: "data offset \(dataOffset) is not 64-byte aligned")
    }
    let (end, overflow) = dataOffset.addingReportingOverflow(dataLength)
    guard !overflow, end == UInt64(fileSize) else {
      if !overflow && end > UInt64(fileSize) {
        throw .badPreamble(file: file, reason: "file is truncated: data ends at \(end) but the file has \(fileSize) bytes")
      }
      throw .badPreamble(file: file, reason: "data section (\(dataOffset) + \(dataLength)) does not end at the file's end (\(fileSize) bytes)")
    }
  }
}
