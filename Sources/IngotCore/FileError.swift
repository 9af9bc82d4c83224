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

  public var description: String {
    switch self {
    case .io(let file, let operation, let errno): "\(file): \(operation) failed: \(String(cString: strerror(errno)))"
    case .notRegularFile(let file): "\(file): not a regular file"
    case .refusedOverwrite(let file, let input): "\(file): output is the same file as input '\(input)'; refusing to overwrite it"
    case .exists(let file): "\(file): already exists (use --force to replace it)"
    case .payloadMismatch(let file, let expected, let actual): "\(file): \(actual) payload bytes written, \(expected) planned"
    }
  }
}

/// The last path component.
public func baseName(_ path: String) -> String {
  path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
}
