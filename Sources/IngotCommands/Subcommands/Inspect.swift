import IngotCore
import ArgumentParser
import IngotPipeline

extension IngotCommand {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show tensors, metadata, provenance and digests of an .ingot or foreign file.")

    @OptionGroup var inputs: InputsArgument

    /// For .ingot: the whole header.
    @OptionGroup var output: JSONOption

    @Option(help: "Print a bill of materials of an .ingot file instead.")
    var format: BOMFormat?

    enum BOMFormat: String, ExpressibleByArgument, CaseIterable {
      /// A CycloneDX 1.6 ML-BOM.
      case cyclonedx
    }

    func run() throws {
      if format == .cyclonedx {
        guard inputs.sources.count == 1 else { throw PipelineError.usage("--format cyclonedx takes one .ingot file") }
        printJSON(try CycloneDX.bom(inputs.sources[0]))
        return
      }
      let action = InspectAction(paths: inputs.sources)
      if output.json { printJSON(try action.json()) } else { print(try action.text()) }
    }
  }
}
