import IngotContainer

#if canImport(Glibc)
  import Glibc
#endif

/// SHA-256 of whole source files for provenance. Reads with `pread` into one
/// reused buffer so the page cache, not this process, holds the file.
public enum FileHasher {
  public static func sha256(path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ContainerError.io(file: path, operation: "open", errno: errno) }
    defer { close(fd) }
    _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    let size = 4 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
    defer { buffer.deallocate() }
    var digest = StreamingDigest()
    var offset: off_t = 0
    while true {
      let n = pread(fd, buffer, size, offset)
      if n < 0 {
        if errno == EINTR { continue }
        throw ContainerError.io(file: path, operation: "read", errno: errno)
      }
      if n == 0 { break }
      digest.update(UnsafeRawBufferPointer(start: buffer, count: n))
      offset += off_t(n)
    }
    return digest.finalizeHex()
  }
}
