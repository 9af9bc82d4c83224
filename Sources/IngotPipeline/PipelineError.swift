import IngotContainer
/// Errors of the pipeline itself (inputs and options), as opposed to a file's.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
  case usage(String)
  case failed(String)

  public var description: String {
    switch self {
    case .usage(let s): s
    case .failed(let s): s
    }
  }

  /// Usage errors exit with 64, everything else with 1 (DESIGN.md CLI contract).
  public var isUsage: Bool { if case .usage = self { true } else { false } }
}

extension PipelineError: ReportableError {}
