import ArgumentParser
import Foundation
import IngotCore
import IngotPipeline
import IngotQuant

extension IngotCommand {
  struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Quantize to int8 or int4, measuring every tensor's error against its original values.")

    @OptionGroup var inputs: InputsArgument

    @OptionGroup var out: OutputOptions
    @OptionGroup var provenance: ProvenanceOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    @Option(help: "int8 (per output channel; with --group-size 32: blocks of 32) or int4 (groups).")
    var scheme: SchemeChoice

    @Option(help: "int8: 32 for block-32 scales; int4: 32, 64 or 128 (default 32).")
    var groupSize: Int?

    @Flag(help: "int4 codes: symmetric (−8…7, f16 scale) or asymmetric (0…15, scale and minimum; default).")
    var mode: Mode = .asymmetric

    @Option(help: "int4 scale storage: f16 (default: scale, and minimum when asymmetric, per group) or q6 (6-bit scale and minimum per group of 32 under f16 super-scales: ≤ 4.5 bits per weight; asymmetric only).")
    var scales: ScalesChoice?

    @Flag(inversion: .prefixedNo, help: "Error-minimizing scale search (default on); --no-search gives plain round-to-nearest.")
    var search = true

    @Option(help: "Keep tensors whose names match this glob (* and ?) at original precision. Repeatable.")
    var keep: [String] = []

    @Option(help: "Embedding tables: keep (default) or quantize.")
    var embeddings: KeepOrQuantize = .keep

    @Option(help: "Output head (lm_head): keep (default) or quantize.")
    var outputHead: KeepOrQuantize = .keep

    @Option(help: "Write the report as JSON to this file.")
    var report: String?

    enum Mode: EnumerableFlag {
      case symmetric, asymmetric
    }

    func run() throws {
      let options = QuantOptions(groupSize: groupSize, symmetric: mode == .symmetric, scales: scales?.rawValue)
      let quantScheme: QuantScheme
      do { quantScheme = try QuantScheme(family: scheme.family, options: options, search: search) } catch { throw PipelineError.usage(error.description) }
      var action = QuantizeAction(
        sources: inputs.sources, output: out.output, scheme: quantScheme,
        policy: QuantPolicy(keepPatterns: keep, quantizeEmbeddings: embeddings == .quantize, quantizeOutputHead: outputHead == .quantize),
        force: out.force, note: provenance.note, timestamp: provenance.timestamp)
      action.verify = check.verify
      let outcome = try action.run(progress: ProgressBar.make("quantize"))
      let report = QuantizeAction.report(outcome)
      if let path = self.report {
        try Data(CanonicalJSON.encode(report) + [0x0A]).write(to: URL(fileURLWithPath: path))
      }
      if format.json {
        printJSON(report)
      } else {
        print(QuantizeAction.table(report))
        print("wrote \(outcome.path): model digest \(outcome.header.modelDigest)")
      }
    }
  }
}
