#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// An output file that appears at its path only when complete.
///
/// On Linux the data goes to an unnamed `O_TMPFILE` inode in the target's
/// folder, so a crash or SIGKILL leaves nothing behind at all; `commit` fsyncs,
/// links it under a temporary name and renames it over the target. Where
/// O_TMPFILE is unsupported a named `.NAME.tmp-PID` file is used instead.
public final class AtomicFile {
  public let path: String
  public let fd: Int32
  let directory: String
  var tempName: String?
  var committed = false

  // O_TMPFILE is a macro Swift cannot import: __O_TMPFILE | O_DIRECTORY.
  static let oTmpFile: Int32 = 0o20000000 | O_DIRECTORY

  /// - Parameters:
  ///   - inputs: files the command reads; writing over one of them is refused.
  ///   - force: replace an existing file at `path`.
  public init(path: String, inputs: [String], force: Bool) throws(ContainerError) {
    self.path = path
    let dir = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) : "."
    directory = dir.isEmpty ? "/" : dir
    var st = stat()
    if stat(path, &st) == 0 {
      for input in inputs {
        var ist = stat()
        if stat(input, &ist) == 0, ist.st_dev == st.st_dev, ist.st_ino == st.st_ino {
          throw .refusedOverwrite(file: path, reason: "output is the same file as input '\(input)'; refusing to overwrite it")
        }
      }
      guard force else {
        throw .refusedOverwrite(file: path, reason: "already exists (use --force to replace it)")
      }
    }
    var fd = open(directory, Self.oTmpFile | O_RDWR | O_CLOEXEC, 0o644)
    if fd < 0 {
      let name = "\(directory)/.\(baseName(path)).tmp-\(getpid())"
      fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard fd >= 0 else { throw .io(file: path, operation: "create temporary file", errno: errno) }
      tempName = name
    }
    self.fd = fd
  }

  deinit {
    if !committed, let tempName { unlink(tempName) }
    close(fd)
  }

  /// Writes all of `bytes` at `offset`.
  public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(ContainerError) {
    guard var p = bytes.baseAddress else { return }
    var remaining = bytes.count
    var at = offset
    while remaining > 0 {
      let n = pwrite(fd, p, min(remaining, 1 << 30), off_t(at))
      if n < 0 {
        if errno == EINTR { continue }
        throw .io(file: path, operation: "write", errno: errno)
      }
      p += n
      at += n
      remaining -= n
    }
  }

  public func write(_ bytes: [UInt8], at offset: Int) throws(ContainerError) {
    let copy = bytes
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(copy.count, 1), alignment: 8)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: copy)
    try write(UnsafeRawBufferPointer(rebasing: buffer[0..<copy.count]), at: offset)
  }

  /// Reads back `count` bytes at `offset` (used to move data when a header
  /// outgrows its reserved space).
  public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(ContainerError) {
    var done = 0
    while done < buffer.count {
      let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))  // audited: count > 0 here
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw .io(file: path, operation: "read back", errno: n < 0 ? errno : EIO) }
      done += n
    }
  }

  public func truncate(to size: Int) throws(ContainerError) {
    guard ftruncate(fd, off_t(size)) == 0 else { throw .io(file: path, operation: "truncate", errno: errno) }
  }

  /// Makes the file durable and visible at `path`.
  public func commit() throws(ContainerError) {
    guard fsync(fd) == 0 else { throw .io(file: path, operation: "fsync", errno: errno) }
    let staging: String
    if let tempName {
      staging = tempName
    } else {
      staging = "\(directory)/.\(baseName(path)).tmp-\(getpid())"
      unlink(staging)
      guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, staging, AT_SYMLINK_FOLLOW) == 0 else {
        throw .io(file: path, operation: "link temporary file", errno: errno)
      }
      tempName = staging
    }
    guard rename(staging, path) == 0 else { throw .io(file: path, operation: "rename", errno: errno) }
    committed = true
    let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }
}
