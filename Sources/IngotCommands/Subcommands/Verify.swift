import ArgumentParser

extension IngotCommand {
  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Recompute every tensor digest and the model digest; exit 1 on any mismatch.")

    @Argument(help: "The .ingot file to check.")
    var path: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
      let report = try VerifyAction(path: path).run()
      if json { printJSON(report.json) } else { print(VerifyAction.summary(report)) }
      if !report.ok { throw ExitCode(1) }
    }
  }
}
