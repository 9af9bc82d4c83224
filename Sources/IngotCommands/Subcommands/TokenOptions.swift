import ArgumentParser
import IngotPipeline

/// `--tokens 1,2,3` or `--token-file ids.npy`: the token ids to run.
struct TokenOptions: ParsableArguments {
  @Option(help: "One sequence of token ids, comma-separated.")
  var tokens: String?

  @Option(help: "A 1-D int64/int32 .npy of token ids.")
  var tokenFile: String?

  /// The sequences given, or nil when neither option is.
  func sequences() throws -> [[Int]]? {
    guard tokens == nil || tokenFile == nil else { throw PipelineError.usage("give at most one of --tokens and --token-file") }
    if let tokens { return [try ForwardAction.parse(tokens)] }
    if let tokenFile { return [try ForwardAction.load(tokenFile)] }
    return nil
  }
}
