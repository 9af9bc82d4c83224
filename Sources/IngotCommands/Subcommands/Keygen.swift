import IngotCore
import ArgumentParser
import IngotContainer

extension IngotCommand {
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
}
