#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// An output file that appears at its path only when complete.
///
/// On Linux the data goes to an unnamed `O_TMPFILE` inode in the target's
/// folder, so a crash or SIGKILL before `commit` leaves nothing behind;
/// `commit` fsyncs, links the inode under a fresh hidden name (created
/// exclusively, never followed) and renames that over the target. Where
/// O_TMPFILE is unsupported, the hidden name is created up front the same way.
public final class AtomicFile {
  public let path: String
  public let fd: Int32
  let directory: String
  var tempName: String?
  var committed = false

  // O_TMPFILE is a macro Swift cannot import: __O_TMPFILE | O_DIRECTORY.
  static let oTmpFile: Int32 = 0o20000000 | O_DIRECTORY

  /// A new file for `path`.
  /// - Parameters:
  ///   - inputs: files the command reads; writing over one of them is refused.
  ///   - force: replace an existing file at `path`.
  public convenience init(path: String, inputs: [String], force: Bool) throws(FileError) {
    var st = stat()
    if stat(path, &st) == 0 {
      for input in inputs {
        var ist = stat()
        if stat(input, &ist) == 0, ist.st_dev == st.st_dev, ist.st_ino == st.st_ino {
          throw .refusedOverwrite(file: path, input: input)
        }
      }
      guard force else { throw .exists(file: path) }
    }
    try self.init(replacing: path)
  }

  /// A file that will replace `path` (which may exist and may be what the
  /// caller reads: the old file stays intact until `commit` renames over it).
  /// - Parameter hiddenName: skip O_TMPFILE and stage under a hidden name,
  ///   as on file systems without it (tests take this path on purpose).
  public init(replacing path: String, hiddenName: Bool = false) throws(FileError) {
    self.path = path
    let dir = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) : "."
    directory = dir.isEmpty ? "/" : dir
    var fd = hiddenName ? -1 : open(directory, Self.oTmpFile | O_RDWR | O_CLOEXEC, 0o644)
    if fd < 0 {
      // The descriptor O_EXCL created is the one kept: reopening the name
      // would race with whoever can write the directory.
      let (named, name) = try Self.createHidden(directory: directory, target: path) { name in
        let fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        return fd >= 0 ? (0, fd) : (errno, nil)
      }
      fd = named ?? -1
      tempName = name
    }
    self.fd = fd
  }

  /// Tries fresh `.NAME.tmp-PID-RANDOM` names until `create` succeeds (it
  /// returns 0 or errno, and the descriptor it opened, if any; EEXIST moves
  /// on to another name).
  static func createHidden(directory: String, target: String, _ create: (String) -> (Int32, Int32?)) throws(FileError) -> (Int32?, String) {
    for _ in 0..<16 {
      let name = "\(directory)/.\(baseName(target)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      let (code, fd) = create(name)
      if code == 0 { return (fd, name) }
      guard code == EEXIST else { throw .io(file: target, operation: "create temporary file", errno: code) }
    }
    throw .io(file: target, operation: "create temporary file", errno: EEXIST)
  }

  deinit {
    if !committed, let tempName { unlink(tempName) }
    close(fd)
  }

  /// Writes all of `bytes` at `offset`.
  public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileError) {
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

  public func write(_ bytes: [UInt8], at offset: Int) throws(FileError) {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
    defer { copy.deallocate() }
    copy.copyBytes(from: bytes)
    try write(UnsafeRawBufferPointer(rebasing: copy[0..<bytes.count]), at: offset)
  }

  /// Reads back `count` bytes at `offset` (used to move data when a header
  /// outgrows its reserved space).
  public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileError) {
    guard let base = buffer.baseAddress else { return }
    var done = 0
    while done < buffer.count {
      let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw .io(file: path, operation: "read back", errno: n < 0 ? errno : EIO) }
      done += n
    }
  }

  public func truncate(to size: Int) throws(FileError) {
    guard ftruncate(fd, off_t(size)) == 0 else { throw .io(file: path, operation: "truncate", errno: errno) }
  }

  /// Makes the file durable and visible at `path`.
  public func commit() throws(FileError) {
    guard fsync(fd) == 0 else { throw .io(file: path, operation: "fsync", errno: errno) }
    if tempName == nil {
      let fd = self.fd
      let (_, name) = try Self.createHidden(directory: directory, target: path) { name in
        (linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno, nil)
      }
      tempName = name
    }
    guard let staging = tempName, rename(staging, path) == 0 else { throw .io(file: path, operation: "rename", errno: errno) }
    committed = true
    let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }
}
