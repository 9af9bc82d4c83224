import Crypto

/// SHA-256 helpers. swift-crypto uses BoringSSL's assembly (SHA-NI where the
/// CPU has it), which is what keeps conversion close to `openssl dgst` speed.
public enum Digest {
  public static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
    var hasher = SHA256()
    hasher.update(bufferPointer: bytes)
    return hex(hasher.finalize())
  }

  public static func sha256Hex(_ bytes: [UInt8]) -> String {
    bytes.withUnsafeBytes { sha256Hex($0) }
  }

  public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in digest {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func isHexDigest(_ s: String) -> Bool {
    s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
  }
}

/// Incremental SHA-256, so large payloads can be hashed in slices.
public struct StreamingDigest {
  var hasher = SHA256()
  public init() {}
  public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
  public func finalizeHex() -> String { Digest.hex(hasher.finalize()) }
}
