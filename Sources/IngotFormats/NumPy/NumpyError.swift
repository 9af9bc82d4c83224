import IngotCore

/// Everything wrong with a .npy or .npz input: one case per check, with the
/// file and the array (or zip entry) named.
public enum NumpyError: Error, CustomStringConvertible, Equatable, Sendable, ReportableError {
  case badMagic(file: String, array: String)
  case unsupportedVersion(file: String, array: String, major: UInt8, minor: UInt8)
  case truncated(file: String, array: String, offset: Int)
  case badHeader(file: String, array: String, reason: String)
  case objectArray(file: String, array: String)
  case structuredDType(file: String, array: String)
  case unsupportedDType(file: String, array: String, descr: String)
  case shapeOverflow(file: String, array: String, shape: [Int])
  case dataLength(file: String, array: String, actual: Int, expected: Int)
  case notAnArray(file: String, member: String)
  case duplicateArray(file: String, array: String)
  case dataOutOfBounds(file: String, array: String)
  case zip(file: String, entry: String?, offset: Int, reason: String)
  /// A deflated entry that declares more than deflate can produce from its bytes, or more than the limit.
  case bomb(file: String, entry: String, declared: Int, compressed: Int)

  public var description: String {
    switch self {
    case .badMagic(let f, let a): "\(f): \(a): not a .npy array (bad magic)"
    case .unsupportedVersion(let f, let a, let ma, let mi): "\(f): \(a): unsupported .npy version \(ma).\(mi)"
    case .truncated(let f, let a, let o): "\(f): \(a): truncated at byte \(o)"
    case .badHeader(let f, let a, let r): "\(f): \(a): header: \(r)"
    case .objectArray(let f, let a): "\(f): \(a): object arrays are refused (they hold pickled Python objects)"
    case .structuredDType(let f, let a): "\(f): \(a): structured dtypes are not supported"
    case .unsupportedDType(let f, let a, let d): "\(f): \(a): unsupported dtype '\(d)'"
    case .shapeOverflow(let f, let a, let s): "\(f): \(a): shape \(s) overflows"
    case .dataLength(let f, let a, let actual, let expected): "\(f): \(a): data is \(actual) bytes; the header needs \(expected)"
    case .notAnArray(let f, let m): "\(f): \(m): not a .npy member (an .npz holds only arrays)"
    case .duplicateArray(let f, let a): "\(f): \(a): two arrays have this name"
    case .dataOutOfBounds(let f, let a): "\(f): \(a): data out of bounds"
    case .zip(let f, let e, let o, let r): "\(f): " + (e.map { "\($0): " } ?? "") + "zip, byte \(o): \(r)"
    case .bomb(let f, let e, let d, let c):
      "\(f): \(e): declares \(d) bytes from \(c) compressed bytes; refusing (more than deflate can produce, or over the \(ZipArchive.maxEntrySize >> 30) GiB limit)"
    }
  }
}
