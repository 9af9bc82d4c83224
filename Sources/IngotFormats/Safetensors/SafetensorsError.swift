import IngotCore
/// Why a safetensors file was refused. Each check the reference reader
/// makes has its own case.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
  case tooShort(file: String, size: Int)
  case headerTooLarge(file: String, length: UInt64)
  case headerPastEnd(file: String, length: UInt64, fileSize: Int)
  case invalidJSON(file: String, reason: String)
  case invalidSchema(file: String, reason: String)
  case unknownDType(file: String, tensor: String, dtype: String)
  case metadataNotString(file: String, key: String)
  case shapeOverflow(file: String, tensor: String)
  case sizeMismatch(file: String, tensor: String, expected: Int, actual: Int)
  case offsetsOutOfOrder(file: String, tensor: String, begin: Int, end: Int)
  case gapOrOverlap(file: String, tensor: String, expectedBegin: Int, begin: Int)
  case dataLengthMismatch(file: String, dataEnd: Int, available: Int)
  case offsetOutOfFile(file: String, tensor: String, end: Int, available: Int)
  case badIndex(file: String, reason: String)
  case duplicateTensor(file: String, tensor: String)
  case unsupportedDType(file: String, tensor: String, dtype: String)

  public var description: String {
    switch self {
    case .tooShort(let f, let size): "\(f): file is \(size) bytes; a safetensors file needs at least 8"
    case .headerTooLarge(let f, let n): "\(f): offset 0: header length \(n) exceeds the 100,000,000-byte limit"
    case .headerPastEnd(let f, let n, let size): "\(f): offset 0: header length \(n) runs past the end of the \(size)-byte file"
    case .invalidJSON(let f, let reason): "\(f): header: \(reason)"
    case .invalidSchema(let f, let reason): "\(f): header: \(reason)"
    case .unknownDType(let f, let t, let d): "\(f): \(t): unknown dtype '\(d)'"
    case .metadataNotString(let f, let k): "\(f): __metadata__: value of '\(k)' is not a string"
    case .shapeOverflow(let f, let t): "\(f): \(t): element count × bits overflows or is not a whole number of bytes"
    case .sizeMismatch(let f, let t, let e, let a): "\(f): \(t): data_offsets span \(a) bytes but dtype and shape need \(e)"
    case .offsetsOutOfOrder(let f, let t, let b, let e): "\(f): \(t): data_offsets [\(b), \(e)) are reversed"
    case .gapOrOverlap(let f, let t, let e, let b):
      b < e ? "\(f): \(t): data overlaps the previous tensor (begins at \(b), previous ends at \(e))"
        : "\(f): \(t): gap in the data buffer (begins at \(b), previous ends at \(e))"
    case .dataLengthMismatch(let f, let end, let available):
      end > available ? "\(f): data buffer: tensors need \(end) bytes but only \(available) are present (truncated or offset out of file)"
        : "\(f): data buffer: \(available - end) trailing bytes after the last tensor"
    case .offsetOutOfFile(let f, let t, let end, let available):
      "\(f): \(t): data_offsets end at \(end), past the end of the \(available)-byte data buffer (offset out of file, or file truncated)"
    case .badIndex(let f, let reason): "\(f): \(reason)"
    case .duplicateTensor(let f, let t): "\(f): \(t): tensor appears in more than one shard"
    case .unsupportedDType(let f, let t, let d): "\(f): \(t): cannot write dtype \(d) to safetensors"
    }
  }
}

extension SafetensorsError: ReportableError {}
