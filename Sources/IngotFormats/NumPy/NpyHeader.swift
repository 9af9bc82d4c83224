import IngotCore

/// The header of one .npy array (numpy's format v1, v2, v3): magic, version,
/// a Python dict literal with descr, fortran_order and shape, then the data.
public struct NpyHeader: Equatable, Sendable {
  public var dtype: DType
  public var bigEndian: Bool
  public var fortranOrder: Bool
  public var shape: [Int]
  /// Where the data starts, from the start of the .npy bytes.
  public var dataOffset: Int
  public var byteCount: Int

  /// Magic, version, length and the longest header text parse accepts.
  public static let maxHeaderImage = 12 + (1 << 20)

  /// Parses and checks a whole .npy image (header and data length).
  /// - Parameter totalSize: the image's length when `bytes` is only its
  ///   beginning (an npz member inflated just far enough for the header).
  public static func parse(_ bytes: UnsafeRawBufferPointer, totalSize: Int? = nil, file: String, array: String) throws(NumpyError) -> NpyHeader {
    let total = totalSize ?? bytes.count
    func bad(_ reason: String) -> NumpyError { .badHeader(file: file, array: array, reason: reason) }
    var r = ByteCursor(bytes)
    guard let magic = r.readSlice(length: 6), Array(magic) == [0x93] + Array("NUMPY".utf8) else { throw NumpyError.badMagic(file: file, array: array) }
    guard let major = r.readInteger(as: UInt8.self), let minor = r.readInteger(as: UInt8.self) else { throw NumpyError.truncated(file: file, array: array, offset: r.readerIndex) }
    let length: Int?
    switch major {
    case 1: length = r.readInteger(endianness: .little, as: UInt16.self).map(Int.init)
    case 2, 3: length = r.readInteger(endianness: .little, as: UInt32.self).map(Int.init)
    default: throw NumpyError.unsupportedVersion(file: file, array: array, major: major, minor: minor)
    }
    guard let length, length <= maxHeaderImage - 12, let raw = r.readSlice(length: length) else { throw NumpyError.truncated(file: file, array: array, offset: r.readerIndex) }
    let start = r.readerIndex - length
    guard let text = String(validating: raw, as: UTF8.self) else { throw bad("header is not text") }
    var parser = PyLiteral(text: text)
    let dict: [String: PyLiteral.Value]
    do { dict = try parser.parseDict() } catch {
      throw error.structured ? NumpyError.structuredDType(file: file, array: array) : bad(error.reason)
    }
    guard case .string(let descr)? = dict["descr"] else {
      if dict["descr"] != nil { throw NumpyError.structuredDType(file: file, array: array) }
      throw bad("header has no 'descr'")
    }
    guard case .bool(let fortran)? = dict["fortran_order"] else { throw bad("header has no 'fortran_order'") }
    guard case .tuple(let dims)? = dict["shape"] else { throw bad("header has no 'shape'") }
    let (dtype, big) = try Self.dtype(descr, file: file, array: array)
    guard dims.allSatisfy({ $0 >= 0 }), dims.count <= Limits.maxDimensions else { throw bad("bad shape \(dims)") }
    guard let count = elementCount(dims), let size = dtype.byteCount(elements: count) else { throw NumpyError.shapeOverflow(file: file, array: array, shape: dims) }
    let dataOffset = start + length
    guard total - dataOffset == size else {
      throw NumpyError.dataLength(file: file, array: array, actual: total - dataOffset, expected: size)
    }
    return NpyHeader(dtype: dtype, bigEndian: big, fortranOrder: fortran, shape: dims, dataOffset: dataOffset, byteCount: size)
  }

  static func dtype(_ descr: String, file: String, array: String) throws(NumpyError) -> (DType, Bool) {
    let unsupported = NumpyError.unsupportedDType(file: file, array: array, descr: descr)
    let chars = Array(descr)
    guard chars.count >= 2, let size = Int(String(chars[2...])) else {
      if descr.contains("O") { throw NumpyError.objectArray(file: file, array: array) }
      throw unsupported
    }
    let order = chars[0], kind = chars[1]
    guard "<>|=".contains(order) else { throw unsupported }
    let big = order == ">" && size > 1
    let dtype: DType?
    switch (kind, size) {
    case ("f", 2): dtype = .f16
    case ("f", 4): dtype = .f32
    case ("f", 8): dtype = .f64
    case ("i", 1): dtype = .i8
    case ("i", 2): dtype = .i16
    case ("i", 4): dtype = .i32
    case ("i", 8): dtype = .i64
    case ("u", 1): dtype = .u8
    case ("u", 2): dtype = .u16
    case ("u", 4): dtype = .u32
    case ("u", 8): dtype = .u64
    case ("b", 1): dtype = .bool
    case ("c", 8): dtype = .c64
    case ("O", _): throw NumpyError.objectArray(file: file, array: array)
    default: dtype = nil
    }
    guard let dtype else { throw unsupported }
    return (dtype, big)
  }

  /// Copies the data into `out` as little-endian, C order.
  public func convert(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
    let width = dtype == .c64 ? 4 : dtype.bits / 8  // c64 swaps its two f32 halves separately
    let item = dtype.bits / 8
    let count = elementCount(shape) ?? 0
    guard count > 0, let src = data.baseAddress, let dst = out.baseAddress else { return }
    // Element i of the C-order output comes from Fortran index f(i).
    var strides = [Int](repeating: 1, count: shape.count)
    if fortranOrder {
      for d in 1..<max(shape.count, 1) { strides[d] = strides[d - 1] * shape[d - 1] }
    }
    var index = [Int](repeating: 0, count: shape.count)
    for i in 0..<count {
      var from = i
      if fortranOrder {
        from = 0
        for d in 0..<shape.count { from += index[d] * strides[d] }
        var d = shape.count - 1
        while d >= 0 {
          index[d] += 1
          if index[d] < shape[d] { break }
          index[d] = 0
          d -= 1
        }
      }
      let s = src + from * item, t = dst + i * item
      if bigEndian {
        for part in stride(from: 0, to: item, by: width) {
          for b in 0..<width { t.storeBytes(of: s.load(fromByteOffset: part + width - 1 - b, as: UInt8.self), toByteOffset: part + b, as: UInt8.self) }
        }
      } else {
        t.copyMemory(from: s, byteCount: item)
      }
    }
  }

  /// True when the data can be used as is.
  public var isNative: Bool { !bigEndian && !(fortranOrder && shape.filter { $0 > 1 }.count > 1) }
}

/// Just enough of Python's literal syntax for .npy headers: a dict of
/// string keys to strings, True/False and tuples of integers.
struct PyLiteral {
  enum Value: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])
    case other
  }

  struct Failure: Error {
    let reason: String
    var structured = false
  }

  let chars: [Character]
  var i = 0

  init(text: String) { chars = Array(text) }

  mutating func skip() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

  mutating func expect(_ c: Character) throws(Failure) {
    skip()
    guard i < chars.count, chars[i] == c else { throw Failure(reason: "expected '\(c)'") }
    i += 1
  }

  mutating func parseDict() throws(Failure) -> [String: Value] {
    try expect("{")
    var out: [String: Value] = [:]
    while true {
      skip()
      if i < chars.count, chars[i] == "}" { i += 1; return out }
      guard case .string(let key) = try value() else { throw Failure(reason: "keys must be strings") }
      try expect(":")
      out[key] = try value()
      skip()
      if i < chars.count, chars[i] == "," { i += 1 }
    }
  }

  mutating func value() throws(Failure) -> Value {
    skip()
    guard i < chars.count else { throw Failure(reason: "unexpected end") }
    let c = chars[i]
    if c == "'" || c == "\"" {
      i += 1
      var s = ""
      while i < chars.count, chars[i] != c {
        s.append(chars[i])
        i += 1
      }
      guard i < chars.count else { throw Failure(reason: "unterminated string") }
      i += 1
      return .string(s)
    }
    if c == "(" {
      i += 1
      var items: [Int] = []
      while true {
        skip()
        if i < chars.count, chars[i] == ")" { i += 1; return .tuple(items) }
        var digits = ""
        while i < chars.count, chars[i].isNumber || chars[i] == "L" {
          if chars[i] != "L" { digits.append(chars[i]) }
          i += 1
        }
        guard digits.count <= 18, let n = Int(digits) else { throw Failure(reason: "shape holds a non-integer") }
        items.append(n)
        skip()
        if i < chars.count, chars[i] == "," { i += 1 }
      }
    }
    for (word, v) in [("True", Value.bool(true)), ("False", .bool(false))] where String(chars[i..<min(chars.count, i + word.count)]) == word {
      i += word.count
      return v
    }
    if c == "[" { throw Failure(reason: "structured dtypes are not supported", structured: true) }
    throw Failure(reason: "unexpected character '\(c)'")
  }
}
