import IngotCore
import ArgumentParser
import IngotContainer

extension IngotCommand {
  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Recompute every tensor digest, the model digest and the provenance chain, and check the signature when there is one; exit 1 on any failure.")

    @Argument(help: "The .ingot file to check.")
    var path: String

    @Option(help: "An Ed25519 public key (PEM): the file must carry a valid signature made with it.")
    var publicKey: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
      let report = try VerifyAction(path: path, publicKey: try publicKey.map(KeyFiles.publicKey)).run()
      if json { printJSON(report.json) } else { print(VerifyAction.summary(report)) }
      if !report.ok { throw ExitCode(1) }
    }
  }

  struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write an Ed25519 key pair: KEY (private, PKCS#8 PEM, mode 0600) and KEY.pub (SubjectPublicKeyInfo PEM).")

    @Option(name: .shortAndLong, help: "Private key path; the public key goes to PATH.pub.")
    var output: String

    @Flag(help: "Replace existing key files.")
    var force = false

    func run() throws {
      let pub = try KeyFiles.generate(to: output, force: force)
      print("wrote \(output) and \(output).pub (Ed25519 public key \(Base64.encode(pub)))")
    }
  }

  struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Sign a container's model digest and provenance chain head with an Ed25519 key (the file is rewritten atomically; digests do not change).")

    @Argument(help: "The .ingot file to sign.")
    var path: String

    @Option(help: "The private key (PEM) from `ingot keygen`.")
    var key: String

    func run() throws {
      let s = try SignAction(path: path, keyPath: key).run()
      print("signed \(path): model digest \(s.modelDigest), provenance steps 1–\(s.signedSteps), key \(Base64.encode(s.publicKey))")
    }
  }
}
