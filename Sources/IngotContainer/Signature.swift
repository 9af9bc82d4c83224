import IngotCore
import Crypto

/// An Ed25519 signature over a model digest and the provenance chain's head
/// (formats/ingot-v1.md §9). It covers the first `signedSteps` steps; steps
/// added later (compress, decompress, validate) must leave the model digest
/// unchanged for the signature to still vouch for the file.
public struct Signature: Equatable, Sendable {
  public var publicKey: [UInt8]
  public var value: [UInt8]
  public var signedSteps: Int
  public var provenanceHead: String
  public var modelDigest: String

  public static func message(modelDigest: String, provenanceHead: String) -> [UInt8] {
    Array("ingot-signature-v1\n\(modelDigest)\n\(provenanceHead)".utf8)
  }

  /// SHA-256 of the canonical JSON of the first `k` steps.
  public static func head(_ steps: [ProvenanceStep], _ k: Int) -> String {
    Digest.sha256Hex(CanonicalJSON.encode(.array(steps.prefix(k).map(\.json))))
  }

  public static func publicKey(forPrivate raw: [UInt8]) throws -> [UInt8] {
    Array(try Curve25519.Signing.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation)
  }

  /// Signs a header's current state with a raw 32-byte Ed25519 private key.
  public static func sign(_ header: ContainerHeader, privateKey: [UInt8]) throws -> Signature {
    let key = try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey)
    let k = header.provenance.count
    let head = head(header.provenance, k)
    let value = try key.signature(for: message(modelDigest: header.modelDigest, provenanceHead: head))
    return Signature(publicKey: Array(key.publicKey.rawRepresentation), value: Array(value), signedSteps: k, provenanceHead: head, modelDigest: header.modelDigest)
  }

  public var json: JSONValue {
    [
      "algorithm": "ed25519", "public_key": .string(Base64.encode(publicKey)), "value": .string(Base64.encode(value)),
      "signed_steps": .int(Int64(signedSteps)), "provenance_head": .string(provenanceHead), "model_digest": .string(modelDigest),
    ]
  }

  public init(publicKey: [UInt8], value: [UInt8], signedSteps: Int, provenanceHead: String, modelDigest: String) {
    self.publicKey = publicKey
    self.value = value
    self.signedSteps = signedSteps
    self.provenanceHead = provenanceHead
    self.modelDigest = modelDigest
  }

  public init?(json: JSONValue) {
    guard json["algorithm"]?.stringValue == "ed25519", let pk = json["public_key"]?.stringValue.flatMap(Base64.decode), pk.count == 32,
      let v = json["value"]?.stringValue.flatMap(Base64.decode), v.count == 64, let k = json["signed_steps"]?.intValue, k >= 1,
      let head = json["provenance_head"]?.stringValue, let digest = json["model_digest"]?.stringValue
    else { return nil }
    self.init(publicKey: pk, value: v, signedSteps: Int(k), provenanceHead: head, modelDigest: digest)
  }

  /// Nil when the signature vouches for this header (and, if given, was made
  /// by `expectedKey`); otherwise what failed.
  public func check(_ header: ContainerHeader, file: String, expectedKey: [UInt8]? = nil) -> ContainerError? {
    func bad(_ reason: String) -> ContainerError { .signature(file: file, reason: reason) }
    if let expectedKey, expectedKey != publicKey { return bad("signed by a different key than the one given") }
    guard signedSteps <= header.provenance.count else { return bad("signature covers \(signedSteps) provenance steps; the file has \(header.provenance.count)") }
    guard Self.head(header.provenance, signedSteps) == provenanceHead else {
      return bad("the signed provenance steps were edited (chain head differs)")
    }
    guard header.provenance[signedSteps - 1].modelDigest == modelDigest else { return bad("the signed model digest is not the one the signed steps produced") }
    for (i, step) in header.provenance.enumerated().dropFirst(signedSteps) where step.modelDigest != modelDigest {
      return bad("the model changed after signing (step \(i + 1), \(step.operation))")
    }
    guard header.modelDigest == modelDigest else { return bad("the file's model digest differs from the signed one") }
    guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey),
      key.isValidSignature(value, for: Self.message(modelDigest: modelDigest, provenanceHead: provenanceHead))
    else { return bad("the Ed25519 signature does not verify (the signed digest or chain head was altered, or the signature belongs to another file)") }
    return nil
  }
}

/// RFC 4648 base64, standard alphabet with padding (no Foundation here).
public enum Base64 {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  public static func encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
      let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
      out.append(alphabet[Int(b0 >> 2)])
      out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
      out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
      out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 63)] : UInt8(ascii: "="))
      i += 3
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func decode(_ text: String) -> [UInt8]? {
    var lookup = [UInt8: UInt8]()
    for (i, c) in alphabet.enumerated() { lookup[c] = UInt8(i) }
    let chars = Array(text.utf8).filter { $0 != 0x0A && $0 != 0x0D }
    guard chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    for i in stride(from: 0, to: chars.count, by: 4) {
      var v: [UInt8] = []
      for c in chars[i..<(i + 4)] where c != UInt8(ascii: "=") {
        guard let x = lookup[c] else { return nil }
        v.append(x)
      }
      guard v.count >= 2 else { return nil }
      out.append(v[0] << 2 | v[1] >> 4)
      if v.count > 2 { out.append(v[1] << 4 | v[2] >> 2) }
      if v.count > 3 { out.append(v[2] << 6 | v[3]) }
    }
    return out
  }
}
