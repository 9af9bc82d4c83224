import IngotCore
import ArgumentParser
import IngotPipeline

extension IngotCommand {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show tensors, metadata, provenance and digests of an .ingot or foreign file.")

    @Argument(help: "An .ingot file, or any input convert accepts.")
    var paths: [String]

    @Flag(help: "Print one JSON document (for .ingot: the whole header).")
    var json = false

    @Option(help: "cyclonedx: print a CycloneDX 1.6 ML-BOM of an .ingot file.")
    var format: String?

    func run() throws {
      if let format {
        guard format == "cyclonedx", paths.count == 1 else { throw PipelineError.usage("--format takes cyclonedx and one .ingot file") }
        printJSON(try CycloneDX.bom(paths[0]))
        return
      }
      let action = InspectAction(paths: paths)
      if json { printJSON(try action.json()) } else { print(try action.text()) }
    }
  }
}
