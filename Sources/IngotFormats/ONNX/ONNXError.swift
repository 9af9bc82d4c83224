import IngotCore

/// Everything wrong with an ONNX input: one case per check, with the file,
/// the tensor and, for wire-format faults, the byte offset.
public enum ONNXError: Error, CustomStringConvertible, Equatable, Sendable, ReportableError {
  case protobuf(file: String, tensor: String?, offset: Int, reason: String)
  case unnamedTensor(file: String)
  case unsupportedType(file: String, tensor: String, type: UInt64)
  case badDims(file: String, tensor: String, dims: [Int])
  case externalWithoutLocation(file: String, tensor: String)
  case externalEscapes(file: String, tensor: String, location: String)
  case externalUnresolved(file: String, tensor: String, location: String)
  case externalRange(file: String, tensor: String, location: String, offset: Int, length: Int, needed: Int)
  case dataLength(file: String, tensor: String, field: String, actual: Int, expected: Int)
  case typedDataMismatch(file: String, tensor: String, field: String, dtype: String)
  case noData(file: String, tensor: String, elements: Int)
  case noTensors(file: String)
  case duplicateTensor(file: String, tensor: String)
  case dataOutOfBounds(file: String, tensor: String)
  case valueCount(file: String, tensor: String, count: Int, shape: [Int])

  public var description: String {
    switch self {
    case .protobuf(let f, let t, let o, let r): "\(f): " + (t.map { "\($0): " } ?? "") + "byte \(o): \(r)"
    case .unnamedTensor(let f): "\(f): an initializer has no name"
    case .unsupportedType(let f, let t, let type): "\(f): \(t): data_type \(type) is not supported"
    case .badDims(let f, let t, let d): "\(f): \(t): dims \(d) are negative or overflow"
    case .externalWithoutLocation(let f, let t): "\(f): \(t): external data without a location"
    case .externalEscapes(let f, let t, let l): "\(f): \(t): external location '\(l)' is absolute or leaves the model's folder; refused"
    case .externalUnresolved(let f, let t, let l): "\(f): \(t): external location '\(l)' is missing or resolves outside the model's folder"
    case .externalRange(let f, let t, let l, let o, let len, let n):
      "\(f): \(t): external data (offset \(o), length \(len)) does not give the \(n) bytes dims and type need, inside \(l)"
    case .dataLength(let f, let t, let field, let a, let e): "\(f): \(t): \(field) holds \(a) bytes; dims and type need \(e)"
    case .typedDataMismatch(let f, let t, let field, let d): "\(f): \(t): \(field) for a \(d) tensor"
    case .noData(let f, let t, let n): "\(f): \(t): no data for \(n) elements"
    case .noTensors(let f): "\(f): no initializers or Constant tensors (is this an ONNX model?)"
    case .duplicateTensor(let f, let t): "\(f): \(t): two tensors have this name"
    case .dataOutOfBounds(let f, let t): "\(f): \(t): data out of bounds"
    case .valueCount(let f, let t, let n, let s): "\(f): \(t): \(n) values for \(s)"
    }
  }
}
