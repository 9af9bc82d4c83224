import Foundation
import IngotContainer

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

/// `ingot sign`: adds a signature to the header. Tensors, storage, the model
/// digest and the provenance chain are unchanged; the file is rewritten into
/// a new file beside it and renamed over it.
public struct SignAction: Sendable {
  public var path: String
  public var keyPath: String
  public init(path: String, keyPath: String) {
    self.path = path
    self.keyPath = keyPath
  }

  public func run() throws -> Signature {
    let reader = try ContainerReader(path: path)
    let signature = try Signature.sign(reader.header, privateKey: try KeyFiles.privateKey(keyPath))
    var header = reader.header
    header.signature = signature.json
    try Rewriter.rewrite(reader, header: header, to: path)
    return signature
  }
}

/// Writes a container again with a new header and the same stored tensors.
enum Rewriter {
  static func rewrite(_ reader: ContainerReader, header: ContainerHeader, to path: String) throws {
    let staging = path + ".rewrite-tmp"
    var h = header
    let writer = try ContainerWriter(path: staging, inputs: [path], force: true, reservedHeaderBytes: h.encoded().count + 4096)
    for (i, t) in reader.header.tensors.enumerated() {
      let range = (Int(reader.preamble.dataOffset) + t.storage.offset)..<(Int(reader.preamble.dataOffset) + t.storage.offset + t.storage.length)
      let offset = writer.reserve(t.storage.length)
      try reader.file.forEachSlice(range, size: 8 << 20) { part, at in try writer.write(part, at: offset + at) }
      h.tensors[i].storage.offset = offset
    }
    try writer.finish(header: h)
    guard rename(staging, path) == 0 else {
      unlink(staging)
      throw ContainerError.io(file: path, operation: "rename", errno: errno)
    }
  }
}
