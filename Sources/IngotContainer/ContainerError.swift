import IngotCore

/// Everything that can be wrong with a `.ingot` file or with writing one.
/// Each case carries the file and, where it applies, the tensor, so the CLI's
/// one-line error (`error: FILE: TENSOR: reason`) needs nothing else.
public enum ContainerError: Error, CustomStringConvertible, Equatable, Sendable {
  case tooShort(file: String, size: Int)
  case badMagic(file: String)
  case unsupportedVersion(file: String, major: Int, minor: Int)
  case unknownRequiredFeature(file: String, feature: String)
  case badPreamble(file: String, reason: String)
  case headerChecksumMismatch(file: String)
  case invalidHeader(file: String, reason: String)
  case invalidTensor(file: String, tensor: String, reason: String)
  /// A storage description (offset, length, chunk table) that cannot be right; `field` names the key.
  case invalidStorage(file: String, tensor: String, field: String, reason: String)
  case overlappingTensors(file: String, a: String, b: String)
  case digestMismatch(file: String, tensor: String, expected: String, actual: String)
  case modelDigestMismatch(file: String, expected: String, actual: String)
  case provenance(file: String, reason: String)
  case compression(tensor: String, chunk: Int, reason: String)
  case signature(file: String, reason: String)

  public var description: String {
    switch self {
    case .tooShort(let file, let size):
      return "\(file): file is \(size) bytes, too short for an .ingot preamble (72 bytes)"
    case .badMagic(let file):
      return "\(file): offset 0: not an .ingot file (bad magic)"
    case .unsupportedVersion(let file, let major, let minor):
      return "\(file): offset 8: unsupported format version \(major).\(minor) (this reader knows 1.x)"
    case .unknownRequiredFeature(let file, let feature):
      return "\(file): header: requires feature '\(feature)', which this reader does not implement"
    case .badPreamble(let file, let reason):
      return "\(file): preamble: \(reason)"
    case .headerChecksumMismatch(let file):
      return "\(file): header: SHA-256 of the header does not match the preamble (corrupted header)"
    case .invalidHeader(let file, let reason):
      return "\(file): header: \(reason)"
    case .invalidTensor(let file, let tensor, let reason):
      return "\(file): \(tensor): \(reason)"
    case .invalidStorage(let file, let tensor, let field, let reason):
      return "\(file): \(tensor): \(field): \(reason)"
    case .overlappingTensors(let file, let a, let b):
      return "\(file): \(b): data overlaps tensor '\(a)'"
    case .digestMismatch(let file, let tensor, let expected, let actual):
      return "\(file): \(tensor): digest mismatch (header \(expected.prefix(16))…, data \(actual.prefix(16))…)"
    case .modelDigestMismatch(let file, let expected, let actual):
      return "\(file): model digest mismatch (header \(expected.prefix(16))…, computed \(actual.prefix(16))…)"
    case .provenance(let file, let reason):
      return "\(file): provenance: \(reason)"
    case .compression(let tensor, let chunk, let reason):
      return "\(tensor): chunk \(chunk): \(reason)"
    case .signature(let file, let reason):
      return "\(file): signature: \(reason)"
    }
  }
}

extension ContainerError: ReportableError {}
