#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// An error whose description is the one-line message the CLI prints
/// (`error: FILE: TENSOR: reason`, exit 1). Every module's error type adopts it.
public protocol ReportableError: Error, CustomStringConvertible {}

/// What goes wrong opening, mapping and writing files, whatever their format.
public enum FileError: Error, Equatable, Sendable, ReportableError {
  case io(file: String, operation: String, errno: Int32)
  case notRegularFile(file: String)
  case refusedOverwrite(file: String, input: String)
  case exists(file: String)
  /// A sink received more or fewer bytes than it planned for.
  case payloadMismatch(file: String, expected: Int, actual: Int)
  /// A buffer the file's declared sizes ask for could not be allocated.
  case outOfMemory(file: String, bytes: Int)
  /// A file named inside a model folder (a shard, a companion file,
  /// external data) that resolves, through symlinks, to somewhere else.
  case outsideFolder(file: String, folder: String, target: String)

  public var description: String {
    switch self {
    case .io(let file, let operation, let errno): "\(file): \(operation) failed: \(String(cString: strerror(errno)))"
    case .notRegularFile(let file): "\(file): not a regular file"
    case .refusedOverwrite(let file, let input): "\(file): output is the same file as input '\(input)'; refusing to overwrite it"
    case .exists(let file): "\(file): already exists (use --force to replace it)"
    case .payloadMismatch(let file, let expected, let actual): "\(file): \(actual) payload bytes written, \(expected) planned"
    case .outsideFolder(let file, let folder, let target): "\(file): resolves to \(target), outside the model folder \(folder)"
    case .outOfMemory(let file, let bytes): "\(file): cannot allocate \(bytes) bytes for what the file declares"
    }
  }
}

/// A tensor-sized buffer: a failed allocation (a file declaring more than
/// the memory limit allows) is an error naming the file, not an abort.
/// Free it with `deallocate()`.
public func allocateBuffer(_ count: Int, file: String) throws(FileError) -> UnsafeMutableRawBufferPointer {
  var p: UnsafeMutableRawPointer? = nil
  guard count >= 0, posix_memalign(&p, 64, max(count, 1)) == 0, let p else { throw .outOfMemory(file: file, bytes: count) }
  return UnsafeMutableRawBufferPointer(start: p, count: count)
}

/// The last path component.
public func baseName(_ path: String) -> String {
  path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
}
