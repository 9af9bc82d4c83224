import IngotCore
/// Everything wrong with a .npy or .npz input, with the file and array named.
public enum NumpyError: Error, CustomStringConvertible, Equatable {
  case invalid(file: String, array: String?, reason: String)

  public var description: String {
    switch self {
    case .invalid(let f, let a, let reason): a.map { "\(f): \($0): \(reason)" } ?? "\(f): \(reason)"
    }
  }
}

extension NumpyError: ReportableError {}
