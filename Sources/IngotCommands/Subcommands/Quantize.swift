import ArgumentParser
import Foundation
import IngotContainer
import IngotPipeline
import IngotQuant

extension IngotCommand {
  struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Quantize to int8 or int4, measuring every tensor's error against its original values.")

    @Argument(help: "Input: an .ingot file or anything convert reads.")
    var sources: [String]

    @Option(name: .shortAndLong, help: "Output .ingot path.")
    var output: String

    @Option(help: "int8 (per output channel; with --group-size 32: blocks of 32) or int4 (groups).")
    var scheme: String

    @Option(help: "int8: 32 for block-32 scales; int4: 32, 64 or 128 (default 32).")
    var groupSize: Int?

    @Flag(help: "int4 codes: symmetric (−8…7, f16 scale) or asymmetric (0…15, scale and minimum; default).")
    var mode: Mode = .asymmetric

    @Option(help: "int4 scale storage: f16 (default: scale, and minimum when asymmetric, per group) or q6 (6-bit scale and minimum per group of 32 under f16 super-scales: ≤ 4.5 bits per weight; asymmetric only).")
    var scales: String?

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

    @Flag(help: "Replace an existing output file.")
    var force = false

    @Option(help: "A note recorded in the provenance step.")
    var note: String?

    @Option(help: "A timestamp recorded in the provenance step.")
    var timestamp: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    enum Mode: EnumerableFlag {
      case symmetric, asymmetric
    }

    enum KeepOrQuantize: String, ExpressibleByArgument {
      case keep, quantize
    }

    func makeScheme() throws -> QuantScheme {
      switch scheme {
      case "int8":
        switch groupSize {
        case nil: return .int8Channel(search: search)
        case 32: return .int8Block(search: search)
        default: throw PipelineError.usage("int8 takes no --group-size (per channel) or --group-size 32")
        }
      case "int4":
        let g = groupSize ?? 32
        guard [32, 64, 128].contains(g) else { throw PipelineError.usage("int4 --group-size must be 32, 64 or 128") }
        let symmetric = mode == .symmetric
        let format: QuantLayout.ScaleFormat
        switch scales {
        case nil: format = .plain
        case "f16": format = .plain
        case "q6":
          guard !symmetric, g == 32 else { throw PipelineError.usage("--scales q6 needs --asymmetric and --group-size 32") }
          format = .q6
        default: throw PipelineError.usage("--scales must be f16 or q6")
        }
        return .int4(groupSize: g, symmetric: symmetric, scales: format, search: search)
      default:
        throw PipelineError.usage("--scheme must be int8 or int4")
      }
    }

    @Flag(help: .hidden)
    var benchKernel = false

    @Flag(help: .hidden)
    var oneThread = false

    func run() throws {
      if benchKernel {
        // Benchmark hook (tools/bench): kernel speed only, nothing written.
        let r = try QuantBenchAction(sources: sources, scheme: try makeScheme(), parallel: !oneThread).run()
        print("kernel \(try makeScheme().name) threads=\(oneThread ? 1 : 0) tensors=\(r.tensors) bytes=\(r.bytes) MBps=\(formatFixed(r.bytesPerSecond / 1e6, 1))")
        return
      }
      let action = QuantizeAction(
        sources: sources, output: output, scheme: try makeScheme(),
        policy: QuantPolicy(keepPatterns: keep, quantizeEmbeddings: embeddings == .quantize, quantizeOutputHead: outputHead == .quantize),
        force: force, note: note, timestamp: timestamp)
      let outcome = try action.run(progress: ProgressBar.make("quantize"))
      let report = QuantizeAction.report(outcome)
      if let path = self.report {
        try Data(CanonicalJSON.encode(report) + [0x0A]).write(to: URL(fileURLWithPath: path))
      }
      if json {
        printJSON(report)
      } else {
        print(QuantizeAction.table(report))
        print("wrote \(outcome.path): model digest \(outcome.header.modelDigest)")
      }
    }
  }
}
