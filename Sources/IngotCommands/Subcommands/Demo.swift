import IngotCore
import ArgumentParser

extension IngotCommand {
  struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the whole pipeline on the embedded default model and check each step.")

    @Option(help: "Folder for the demo files (default: a new folder under /tmp).")
    var dir: String?

    func run() throws {
      try DemoAction(directory: dir).run { print($0) }
    }
  }
}
