import IngotCore
/// Errors of the pipeline itself (inputs and options), as opposed to a file's.
public enum PipelineError: Error, CustomStringConvertible, Equatable, Sendable {
  case usage(String)
  case failed(String)
  /// A source's payload does not hash to the digest it promises.
  case digestMismatch(file: String, tensor: String, expected: String, actual: String)

  public var description: String {
    switch self {
    case .usage(let s): s
    case .failed(let s): s
    case .digestMismatch(let f, let t, let e, let a): "\(f): \(t): digest mismatch (header \(e.prefix(16))…, data \(a.prefix(16))…); refusing to pass damaged data on (verify names every damaged tensor)"
    }
  }

  /// Usage errors exit with 64, everything else with 1 (DESIGN.md CLI contract).
  public var isUsage: Bool { if case .usage = self { true } else { false } }
}

extension PipelineError: ReportableError {}
