import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// SHA-256 of whole source files for provenance. Hashes straight from a
/// memory map (no copy into a buffer) and drops each slice's pages once
/// hashed, so resident memory stays at one slice whatever the file size.
public enum FileHasher {
  static let slice = 8 << 20

  public static func sha256(path: String) throws -> String {
    let file = try MappedFile(path: path)
    file.adviseSequential()
    var digest = StreamingDigest()
    if file.size > 0 { try file.forEachSlice(0..<file.size, size: slice) { part, _ in digest.update(part) } }
    return digest.finalizeHex()
  }
}
