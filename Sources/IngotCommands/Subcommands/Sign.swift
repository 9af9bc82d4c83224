import IngotCore
import ArgumentParser
import IngotContainer

extension IngotCommand {
  struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Sign a container's model digest and provenance chain head with an Ed25519 key (the file is rewritten atomically; digests do not change).")

    @OptionGroup var file: ContainerArgument

    @Option(help: "The private key (PEM) from `ingot keygen`.")
    var key: String

    func run() throws {
      let s = try SignAction(path: file.path, keyPath: key).run()
      print("signed \(file.path): model digest \(s.modelDigest), provenance steps 1–\(s.signedSteps), key \(Base64.encode(s.publicKey))")
    }
  }
}
