import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Writes a file front to back through a few 4 KiB-aligned buffers that a
/// background thread hands to the kernel with O_DIRECT.
///
/// Why: buffered writes copy every byte into the page cache and then spend
/// as much CPU again writing it back before `fsync` returns; on two cores
/// that competes with the two SHA-256 passes that set the pace of a
/// conversion. Direct I/O moves the bytes once, from our buffer to the
/// device, while hashing goes on. Where O_DIRECT is refused (tmpfs, some
/// network file systems) the same buffers are written the ordinary way.
public final class StreamingOutput: @unchecked Sendable {
  // @unchecked: `current`, `fill` and `position` belong to the calling thread;
  // the free list and `failure` are guarded by `lock`; each buffer is owned by
  // exactly one side at a time (filled here, written on `queue`).
  static let bufferSize = 8 << 20
  static let block = 4096
  static let bufferCount = 3

  let fd: Int32
  let path: String
  private(set) var direct: Bool
  /// File offset of the next byte to be written.
  public private(set) var position: Int
  private var bufferStart: Int
  private var current: UnsafeMutableRawPointer
  private var fill = 0
  private var freeList: [UnsafeMutableRawPointer] = []
  private var all: [UnsafeMutableRawPointer] = []
  private var failure: FileError?
  private let lock = Lock()
  private let available: DispatchSemaphore
  private let queue = DispatchQueue(label: "ingot.output")

  /// - Parameter start: where the stream begins; a multiple of 4096.
  public init(fd: Int32, path: String, start: Int) {
    self.fd = fd
    self.path = path
    position = start
    bufferStart = start
    for _ in 0..<Self.bufferCount {
      all.append(UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: Self.block))
    }
    current = all[0]
    freeList = Array(all[1...])
    available = DispatchSemaphore(value: Self.bufferCount - 1)
    direct = Self.setDirect(fd, true)
  }

  deinit {
    queue.sync {}
    all.forEach { $0.deallocate() }
  }

  // O_DIRECT is not imported into Swift (it needs _GNU_SOURCE).
  #if arch(x86_64) || arch(i386)
    static let oDirect: Int32 = 0o40000
  #else
    static let oDirect: Int32 = 0o200000
  #endif

  static func setDirect(_ fd: Int32, _ on: Bool) -> Bool {
    let flags = fcntl(fd, F_GETFL)
    guard flags >= 0 else { return false }
    return fcntl(fd, F_SETFL, on ? flags | oDirect : flags & ~oDirect) == 0
  }

  /// Appends `bytes` at file offset `offset`, which may not lie before the
  /// end of what was written; a gap in between is written as zeros.
  public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileError) {
    guard offset >= position else {
      throw .io(file: path, operation: "write (offset \(offset) before stream position \(position))", errno: EINVAL)
    }
    try append(zeros: offset - position)
    var at = 0
    while at < bytes.count {
      let n = min(bytes.count - at, Self.bufferSize - fill)
      // audited: bytes.count > 0 inside the loop, so baseAddress is non-nil.
      (current + fill).copyMemory(from: bytes.baseAddress! + at, byteCount: n)
      fill += n
      at += n
      position += n
      if fill == Self.bufferSize { try submit() }
    }
  }

  private func append(zeros count: Int) throws(FileError) {
    var left = count
    while left > 0 {
      let n = min(left, Self.bufferSize - fill)
      (current + fill).initializeMemory(as: UInt8.self, repeating: 0, count: n)
      fill += n
      left -= n
      position += n
      if fill == Self.bufferSize { try submit() }
    }
  }

  /// Hands the current buffer to the writing thread and takes a free one.
  private func submit() throws(FileError) {
    if let failure = lock.locked({ failure }) { throw failure }
    // Direct I/O writes whole blocks: pad the last buffer with zeros. The
    // caller truncates the file to its real length afterwards.
    let length = (fill + Self.block - 1) / Self.block * Self.block
    (current + fill).initializeMemory(as: UInt8.self, repeating: 0, count: length - fill)
    nonisolated(unsafe) let buffer = current
    let offset = bufferStart
    queue.async { self.writeOut(buffer, length: length, at: offset) }
    available.wait()
    current = lock.locked { freeList.removeLast() }
    bufferStart += fill
    fill = 0
  }

  private func writeOut(_ buffer: UnsafeMutableRawPointer, length: Int, at offset: Int) {
    var done = 0
    while done < length {
      let n = pwrite(fd, buffer + done, length - done, off_t(offset + done))
      if n < 0 && errno == EINTR { continue }
      if n < 0 && errno == EINVAL && direct {
        // The file system took the flag but not the write: go buffered.
        direct = false
        _ = Self.setDirect(fd, false)
        continue
      }
      if n <= 0 {
        let code = n < 0 ? errno : EIO
        lock.locked { if failure == nil { failure = .io(file: path, operation: "write", errno: code) } }
        break
      }
      done += n
    }
    if !direct {
      // Start writeback now so the final fsync has little left to do.
      _ = posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_DONTNEED)
    }
    lock.locked { freeList.append(buffer) }
    available.signal()
  }

  /// Writes what is buffered, waits for the writing thread and returns the
  /// file descriptor to ordinary buffered I/O for the header.
  public func finish() throws(FileError) {
    if fill > 0 { try submit() }
    queue.sync {}
    if direct { _ = Self.setDirect(fd, false) }
    if let failure = lock.locked({ failure }) { throw failure }
  }
}
