import IngotCore

/// The protobuf wire format, read through a ByteCursor over one message's
/// byte range with every length checked: enough to walk ONNX's ModelProto
/// without generated code.
struct ProtobufReader {
  enum Field {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    /// Byte range (absolute in the buffer) of a length-delimited field.
    case bytes(Range<Int>)
  }

  struct Failure: Error {
    let offset: Int
    let reason: String
  }

  var cursor: ByteCursor
  var at: Int { cursor.readerIndex }
  var done: Bool { cursor.isAtEnd }
  var buffer: UnsafeRawBufferPointer { cursor.bytes }

  init(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) { cursor = ByteCursor(buffer, range: range) }

  mutating func varint() throws(Failure) -> UInt64 {
    var v: UInt64 = 0
    var shift: UInt64 = 0
    let start = at
    while true {
      guard let b = cursor.readInteger(as: UInt8.self) else { throw Failure(offset: start, reason: "varint runs past its message") }
      guard shift < 64 else { throw Failure(offset: start, reason: "varint longer than 10 bytes") }
      v |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 { return v }
      shift += 7
    }
  }

  /// The next field: its number and value.
  mutating func next() throws(Failure) -> (Int, Field) {
    let start = at
    let key = try varint()
    let number = Int(truncatingIfNeeded: key >> 3)
    guard number > 0 else { throw Failure(offset: start, reason: "field number 0") }
    switch key & 7 {
    case 0: return (number, .varint(try varint()))
    case 1:
      guard let v = cursor.readInteger(endianness: .little, as: UInt64.self) else { throw Failure(offset: at, reason: "truncated fixed64") }
      return (number, .fixed64(v))
    case 5:
      guard let v = cursor.readInteger(endianness: .little, as: UInt32.self) else { throw Failure(offset: at, reason: "truncated fixed32") }
      return (number, .fixed32(v))
    case 2:
      let n = try varint()
      guard n <= UInt64(cursor.readableBytes) else { throw Failure(offset: at, reason: "a length of \(n) runs past its message") }
      let r = at..<(at + Int(n))
      _ = cursor.readSlice(length: Int(n))
      return (number, .bytes(r))
    default:
      throw Failure(offset: start, reason: "unsupported wire type \(key & 7)")
    }
  }

  func string(_ r: Range<Int>) -> String { String(decoding: buffer[r], as: UTF8.self) }
}
