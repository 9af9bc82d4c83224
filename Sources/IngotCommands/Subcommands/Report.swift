import ArgumentParser
import IngotCore

extension IngotCommand {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write one self-contained HTML page: identity, provenance, quantization error, validation and lineage.")

    @OptionGroup var file: ContainerArgument

    @Option(help: "A base model: validate and diff against it (unless --validate-json / --diff-json are given).")
    var base: String?

    @Option(name: .customLong("validate-json"), help: "The output of `ingot validate --json`.")
    var validateJSON: String?

    @Option(name: .customLong("diff-json"), help: "The output of `ingot diff A B --json`.")
    var diffJSON: String?

    @Option(name: .customLong("public-key"), help: "Check the signature against this Ed25519 public key (PEM).")
    var publicKey: String?

    @OptionGroup var out: OutputOptions
    @OptionGroup var check: VerifyOption

    func run() throws {
      var action = ReportAction(model: file.path, output: out.output, base: base, validateJSON: validateJSON, diffJSON: diffJSON, publicKey: publicKey)
      action.force = out.force
      action.verify = check.verify
      let r = try action.run()
      print("wrote \(r.path): \(formatBytes(r.bytes))")
    }
  }
}
