#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A read-only memory map of a whole file. Every access is bounds-checked and
/// returns nil rather than trapping. Pages that were read can be handed back
/// with `release`, which keeps resident memory bounded by one tensor even on
/// models larger than RAM.
public final class MappedFile: @unchecked Sendable {
  // @unchecked: the mapping is immutable after init and only read.
  public let path: String
  public let size: Int
  public let device: UInt64
  public let inode: UInt64
  let base: UnsafeRawPointer?
  static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

  public init(path: String) throws(FileError) {
    self.path = path
    // O_NONBLOCK: opening a FIFO must not block before the regular-file check.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw .io(file: path, operation: "open", errno: errno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .io(file: path, operation: "stat", errno: errno) }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw .notRegularFile(file: path)
    }
    size = Int(st.st_size)
    device = UInt64(st.st_dev)
    inode = UInt64(st.st_ino)
    if size == 0 {
      base = nil
      return
    }
    let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let p, p != MAP_FAILED else { throw .io(file: path, operation: "mmap", errno: errno) }
    base = UnsafeRawPointer(p)
  }

  deinit {
    if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
  }

  /// The bytes in `range`, or nil when the range is not inside the file.
  public func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer? {
    guard range.lowerBound >= 0, range.upperBound <= size else { return nil }
    guard let base else { return range.isEmpty ? UnsafeRawBufferPointer(start: nil, count: 0) : nil }
    return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
  }

  public func bytes(offset: Int, count: Int) -> UnsafeRawBufferPointer? {
    guard offset >= 0, count >= 0 else { return nil }
    let (end, overflow) = offset.addingReportingOverflow(count)
    guard !overflow else { return nil }
    return bytes(offset..<end)
  }

  public var all: UnsafeRawBufferPointer {
    bytes(0..<size) ?? UnsafeRawBufferPointer(start: nil, count: 0)
  }

  /// Tells the kernel the file will be read front to back (more readahead).
  public func adviseSequential() { advise(0..<size, MADV_SEQUENTIAL) }

  /// Calls `body` with consecutive slices of `range` and the offset of each
  /// within it, mapping each slice in one call beforehand (MADV_POPULATE_READ:
  /// cheaper than a fault per 64 KiB) and dropping its pages after, so a pass
  /// over a payload of any size keeps about one slice resident.
  public func forEachSlice(
    _ range: Range<Int>, size: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
  ) throws {
    guard let whole = bytes(range) else {
      throw FileError.io(file: path, operation: "read past the end of the file", errno: EINVAL)
    }
    var at = 0
    repeat {
      let end = min(whole.count, at + max(size, Self.pageSize))
      let part = range.lowerBound + at..<range.lowerBound + end
      advise(part, 22 /* MADV_POPULATE_READ; older kernels ignore it */)
      try body(UnsafeRawBufferPointer(rebasing: whole[at..<end]), at)
      release(part)
      at = end
    } while at < whole.count
  }

  func advise(_ range: Range<Int>, _ advice: Int32) {
    guard let base, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= size else { return }
    let start = range.lowerBound / Self.pageSize * Self.pageSize
    let end = min(size, (range.upperBound + Self.pageSize - 1) / Self.pageSize * Self.pageSize)
    _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, advice)
  }

  /// Drops the resident pages of `range` (they re-read from the page cache if
  /// touched again). Neighbouring bytes on shared pages may be dropped too,
  /// which only costs a re-read.
  public func release(_ range: Range<Int>) { advise(range, MADV_DONTNEED) }
}
