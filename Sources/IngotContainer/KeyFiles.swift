import Foundation
import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// Ed25519 keys in PEM: the private key as PKCS#8, the public key as
/// SubjectPublicKeyInfo (RFC 8410), so OpenSSL and other tools read them.
public enum KeyFiles {
  static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
  static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

  static func pem(_ label: String, _ der: [UInt8]) -> String {
    let b64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
    return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
  }

  static func der(_ text: String, _ label: String, prefix: [UInt8], path: String) throws -> [UInt8] {
    let body = text.components(separatedBy: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard text.contains("BEGIN \(label)"), let der = Data(base64Encoded: body).map(Array.init), der.count == prefix.count + 32,
      Array(der.prefix(prefix.count)) == prefix
    else { throw ContainerError.signature(file: path, reason: "not an Ed25519 \(label.lowercased()) in PEM (\(label == "PRIVATE KEY" ? "PKCS#8" : "SubjectPublicKeyInfo"))") }
    return Array(der.suffix(32))
  }

  /// Writes KEY (private, mode 0600) and KEY.pub; returns the public key.
  public static func generate(to path: String, force: Bool) throws -> [UInt8] {
    let seed = (0..<32).map { _ in UInt8.random(in: 0...255) }
    let pub = try Signature.publicKey(forPrivate: seed)
    for (file, text, mode) in [(path, pem("PRIVATE KEY", pkcs8Prefix + seed), 0o600), (path + ".pub", pem("PUBLIC KEY", spkiPrefix + pub), 0o644)] {
      let out = try AtomicFile(path: file, inputs: [], force: force)
      try out.write(Array(text.utf8), at: 0)
      fchmod(out.fd, mode_t(mode))
      try out.commit()
    }
    return pub
  }

  public static func privateKey(_ path: String) throws -> [UInt8] {
    try der(String(contentsOfFile: path, encoding: .utf8), "PRIVATE KEY", prefix: pkcs8Prefix, path: path)
  }

  public static func publicKey(_ path: String) throws -> [UInt8] {
    try der(String(contentsOfFile: path, encoding: .utf8), "PUBLIC KEY", prefix: spkiPrefix, path: path)
  }
}

