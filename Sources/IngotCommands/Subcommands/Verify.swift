import IngotCore
import ArgumentParser
import IngotContainer

extension IngotCommand {
  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Recompute every tensor digest, the model digest and the provenance chain, and check the signature when there is one; exit 1 on any failure.")

    @OptionGroup var file: ContainerArgument

    @Option(help: "An Ed25519 public key (PEM): the file must carry a valid signature made with it.")
    var publicKey: String?

    @OptionGroup var format: JSONOption

    func run() throws {
      let report = try VerifyAction(path: file.path, publicKey: try publicKey.map(KeyFiles.publicKey)).run()
      if format.json { printJSON(report.json) } else { print(VerifyAction.summary(report)) }
      if !report.ok { throw ExitCode(1) }
    }
  }
}
