import IngotCore

public enum QuantError: Error, Equatable, Sendable, CustomStringConvertible, ReportableError {
  case nonFinite(tensor: String, row: Int)
  case outOfRange(tensor: String, row: Int)
  case alreadyQuantized(tensor: String, kind: String)

  public var description: String {
    switch self {
    case .nonFinite(let t, let row): return "\(t): row \(row) holds NaN or Inf; quantization needs finite values"
    case .outOfRange(let t, let row): return "\(t): row \(row): a scale does not fit in f16 (values beyond ±8.3 million)"
    case .alreadyQuantized(let t, let kind): return "\(t): already quantized (\(kind)); refusing to quantize twice (export or convert it to a float dtype first)"
    }
  }
}
