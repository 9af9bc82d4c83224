import ArgumentParser

extension IngotCommand {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show tensors, metadata, provenance and digests of an .ingot or foreign file.")

    @Argument(help: "An .ingot file, or any input convert accepts.")
    var paths: [String]

    @Flag(help: "Print one JSON document (for .ingot: the whole header).")
    var json = false

    func run() throws {
      let action = InspectAction(paths: paths)
      if json { printJSON(try action.json()) } else { print(try action.text()) }
    }
  }
}
