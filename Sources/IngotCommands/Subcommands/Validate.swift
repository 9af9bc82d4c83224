import IngotCore
import ArgumentParser
import IngotContainer
import IngotPipeline
import IngotRuntime

extension IngotCommand {
  struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run BASE and CANDIDATE on the same inputs and report how far the outputs moved; exit 1 when a threshold fails.")

    /// The reference .ingot, then the converted, quantized or compressed one to check.
    @OptionGroup var models: ModelPair

    /// Default: 8 fixed-seed random sequences of 32 tokens.
    @OptionGroup var input: TokenOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    @Option(help: "Decoders: largest allowed mean KL(base‖candidate).")
    var maxKld: Double = 0.1

    @Option(help: "Decoders: smallest allowed top-1 agreement, percent.")
    var minTop1: Double = 90

    @Option(help: "Smallest allowed cosine on the worst sequence (pooled embedding for encoders, mean logit cosine for decoders).")
    var minCosine: Double = 0.99

    @Flag(help: "Record the result (inputs' digest, metrics, verdict) as a provenance step of CANDIDATE (the file is rewritten atomically).")
    var record = false

    @Option(help: "Inputs from a UTF-8 text with the candidate's tokenizer: decoders get llama-perplexity's chunks (and both PPLs), encoders one sequence per line.")
    var text: String?

    @Option(help: "--text, decoders: tokens per chunk (capped at the model's positions).")
    var ctx = 512

    @Option(help: "--text, decoders: at most this many chunks.")
    var chunks: Int?

    func run() throws {
      var action = ValidateAction(
        base: models.base, candidate: models.candidate, tokens: try input.sequences(),
        thresholds: .init(maxKLD: maxKld, minTop1: minTop1, minCosine: minCosine))
      action.verify = check.verify
      if let text {
        guard try input.sequences() == nil else { throw PipelineError.usage("give --text or token inputs, not both") }
        let mapped = try MappedFile(path: text)
        action.text = withExtendedLifetime(mapped) { Array(mapped.all) }
        action.ctx = ctx
        action.maxChunks = chunks
      }
      let v = try action.run()
      if format.json { printJSON(v.json) } else { print(ValidateAction.summary(v)) }
      if record {
        let outcome = try action.record(v)
        if !format.json { print("recorded in \(models.candidate): provenance \(outcome.header.provenance.map(\.operation).joined(separator: " → "))") }
      }
      if !v.passed { throw ExitCode(1) }
    }
  }
}
