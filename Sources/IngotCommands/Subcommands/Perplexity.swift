import ArgumentParser
import Foundation
import IngotCore
import IngotPipeline

extension IngotCommand {
  struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Perplexity on a text as llama-perplexity computes it (chunks of --ctx, BOS first, second half scored); with --base, KL divergence, top-1 agreement and the PPL ratio against a base model.")

    @OptionGroup var model: ContainerArgument

    @Option(help: "The text, UTF-8 (invalid UTF-8 is refused with its offset).")
    var file: String

    @Option(help: "Tokens per chunk (llama-perplexity's -c).")
    var ctx = 512

    @Option(help: "At most this many chunks (llama-perplexity's --chunks).")
    var chunks: Int?

    @Option(help: "A base .ingot with the same tokenizer: also report KL(base‖model) (mean, median, p99, max), same-top-1 %, RMS Δp of the correct token and the PPL ratio.")
    var base: String?

    @Flag(help: "Append a perplexity step (the text's SHA-256, ctx, the base's model digest, the report) to the model's provenance.")
    var record = false

    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    func run() throws {
      let mapped = try MappedFile(path: file)
      // The mapping must outlive the copy of its bytes.
      let text = withExtendedLifetime(mapped) { Array(mapped.all) }
      var action = PerplexityAction(model: model.path, text: text)
      action.ctx = ctx
      action.maxChunks = chunks
      action.base = base
      action.verify = check.verify
      let report = try action.run(progress: ProgressBar.make("perplexity"))
      if record {
        let outcome = try action.record(report)
        if !format.json { print("recorded in \(model.path): provenance \(outcome.header.provenance.map(\.operation).joined(separator: " → "))") }
      }
      if format.json {
        printJSON(report)
        return
      }
      func n(_ k: String) -> Double { report[k]?.doubleValue ?? .nan }
      print(String(format: "PPL = %.4f ± %.5f over %d tokens (%d chunks of %d, second halves scored)", n("ppl"), n("ppl_stderr"),
                   Int(report["tokens_scored"]?.intValue ?? 0), Int(report["chunks"]?.intValue ?? 0), ctx))
      if base != nil {
        print(String(format: "base PPL = %.4f ± %.5f; PPL ratio = %.5f ± %.5f", n("base_ppl"), n("base_ppl_stderr"), n("ppl_ratio"), n("ppl_ratio_stderr")))
        print(String(format: "KL(base‖model): mean %.6f ± %.6f, median %.6f, p99 %.6f, max %.6f", n("kl_mean"), n("kl_mean_stderr"), n("kl_median"), n("kl_p99"), n("kl_max")))
        print(String(format: "same top-1: %.2f %%; RMS Δp of the correct token: %.4f", n("same_top1_pct"), n("rms_delta_p")))
      }
    }
  }
}
