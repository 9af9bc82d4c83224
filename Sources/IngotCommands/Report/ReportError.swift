import IngotCore

/// What `ingot report` refuses: a report input that is not JSON.
public enum ReportError: Error, Equatable, ReportableError {
  case notJSON(file: String, reason: String)
  public var description: String {
    switch self {
    case .notJSON(let path, let reason): "\(path): not JSON (\(reason))"
    }
  }
}
