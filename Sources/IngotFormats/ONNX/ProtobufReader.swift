/// The protobuf wire format, read over a byte range with every length
/// checked: enough to walk ONNX's ModelProto without generated code.
struct ProtobufReader {
  enum Field {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    /// Byte range (absolute in the buffer) of a length-delimited field.
    case bytes(Range<Int>)
  }

  struct Failure: Error {
    let reason: String
  }

  let buffer: UnsafeRawBufferPointer
  var at: Int
  let end: Int

  init(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) {
    self.buffer = buffer
    at = range.lowerBound
    end = range.upperBound
  }

  var done: Bool { at >= end }

  mutating func varint() throws(Failure) -> UInt64 {
    var v: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard at < end else { throw Failure(reason: "varint runs past its message at byte \(at)") }
      let b = buffer[at]
      at += 1
      guard shift < 64 else { throw Failure(reason: "varint longer than 10 bytes at byte \(at)") }
      v |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 { return v }
      shift += 7
    }
  }

  /// The next field: its number and value.
  mutating func next() throws(Failure) -> (Int, Field) {
    let key = try varint()
    let number = Int(truncatingIfNeeded: key >> 3)
    guard number > 0 else { throw Failure(reason: "field number 0 at byte \(at)") }
    switch key & 7 {
    case 0: return (number, .varint(try varint()))
    case 1:
      guard end - at >= 8, let v = buffer.readLE(at, as: UInt64.self) else { throw Failure(reason: "truncated fixed64 at byte \(at)") }
      at += 8
      return (number, .fixed64(v))
    case 5:
      guard end - at >= 4, let v = buffer.readLE(at, as: UInt32.self) else { throw Failure(reason: "truncated fixed32 at byte \(at)") }
      at += 4
      return (number, .fixed32(v))
    case 2:
      let n = try varint()
      guard n <= UInt64(end - at) else { throw Failure(reason: "a length of \(n) at byte \(at) runs past its message") }
      let r = at..<(at + Int(n))
      at += Int(n)
      return (number, .bytes(r))
    default:
      throw Failure(reason: "unsupported wire type \(key & 7) at byte \(at)")
    }
  }

  func string(_ r: Range<Int>) -> String { String(decoding: buffer[r], as: UTF8.self) }
}
