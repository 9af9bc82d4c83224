import IngotCore
import ArgumentParser
import IngotContainer
import IngotPipeline
import IngotRuntime

extension IngotCommand {
  struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run BASE and CANDIDATE on the same inputs and report how far the outputs moved; exit 1 when a threshold fails.")

    @Argument(help: "The reference .ingot.")
    var base: String

    @Argument(help: "The converted, quantized or compressed .ingot to check.")
    var candidate: String

    @Option(help: "One sequence of token ids, comma-separated (default: 8 fixed-seed random sequences of 32 tokens).")
    var tokens: String?

    @Option(help: "A 1-D int64/int32 .npy of token ids.")
    var tokenFile: String?

    @Option(help: "Decoders: largest allowed mean KL(base‖candidate).")
    var maxKld: Double = 0.1

    @Option(help: "Decoders: smallest allowed top-1 agreement, percent.")
    var minTop1: Double = 90

    @Option(help: "Smallest allowed cosine on the worst sequence (pooled embedding for encoders, mean logit cosine for decoders).")
    var minCosine: Double = 0.99

    @Flag(help: "Record the result (inputs' digest, metrics, verdict) as a provenance step of CANDIDATE (the file is rewritten atomically).")
    var record = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
      guard tokens == nil || tokenFile == nil else { throw PipelineError.usage("give at most one of --tokens and --token-file") }
      var inputs: [[Int]]? = nil
      if let tokens { inputs = [try ForwardAction.parse(tokens)] }
      if let tokenFile { inputs = [try ForwardAction.load(tokenFile)] }
      let action = ValidateAction(
        base: base, candidate: candidate, tokens: inputs,
        thresholds: .init(maxKLD: maxKld, minTop1: minTop1, minCosine: minCosine))
      let v = try action.run()
      if json { printJSON(v.json) } else { print(ValidateAction.summary(v)) }
      if record {
        let outcome = try action.record(v)
        if !json { print("recorded in \(candidate): provenance \(outcome.header.provenance.map(\.operation).joined(separator: " → "))") }
      }
      if !v.passed { throw ExitCode(1) }
    }
  }
}
