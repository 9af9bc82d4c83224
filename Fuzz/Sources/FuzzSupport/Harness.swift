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
}
