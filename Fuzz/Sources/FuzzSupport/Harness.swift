import IngotArchitectures
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline

#if canImport(Glibc)
  import Glibc
#endif

/// What every harness does with libFuzzer's bytes: write them to a file in
/// memory (the parsers read memory maps of paths) and hand that path over.
/// Errors are the expected outcome; a trap, a sanitizer report, a hang or an
/// allocation over libFuzzer's -rss_limit_mb is a finding.
public enum Harness {
  public static func withFile(_ data: UnsafePointer<UInt8>, _ size: Int, ext: String, _ body: (String) throws -> Void) -> Int32 {
    let path = "/dev/shm/ingot-fuzz-\(getpid())" + ext
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return 0 }
    var at = 0
    while at < size {
      let n = write(fd, data + at, size - at)
      if n <= 0 { break }
      at += n
    }
    close(fd)
    do { try body(path) } catch {}
    return 0
  }

  /// Opens any input format and reads every tensor's payload, digesting it
  /// (touching every byte), as convert would.
  public static func readAll(_ source: any TensorSource) throws {
    for i in source.tensors.indices where source.tensors[i].byteCount <= 256 << 20 {
      _ = try source.withPayload(i) { Digest.sha256Hex($0) }
    }
  }

  public static func source(_ path: String) throws {
    try readAll(try Inputs.open([path]))
  }

  /// A GGUF file as convert reads it, then its `{arch}.*` keys through
  /// every architecture's translation into the typed config (what a
  /// GGUF-born container's forward pass starts from), and the rotary
  /// frequencies that config implies.
  public static func ggufSource(_ path: String) throws {
    let source = try Inputs.open([path])
    let shapes = Dictionary(source.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
    for spec in Architectures.all where spec.ggufArchitecture != nil {
      // (The pass checks head_dim against the weights before it sizes its tables.)
      guard let config = try? spec.config(gguf: source.metadata, shape: { shapes[$0] }), config.headDim <= 1 << 16 else { continue }
      _ = config.rope.inverseFrequencies(dims: config.headDim, factors: nil)
      _ = config.localRope?.inverseFrequencies(dims: config.headDim, factors: nil)
    }
    try readAll(source)
  }
}
