import IngotCore

/// Everything wrong with a PyTorch input: what a pickle asked for that is
/// refused (by name: nothing is ever imported or called), where a pickle or
/// a checkpoint is malformed, and the limits that bound the decoder.
public enum PyTorchError: Error, CustomStringConvertible, Equatable, Sendable, ReportableError {
  case refusedGlobal(file: String, part: String, offset: Int, name: String)
  /// `then`: what the refused opcode's pickle goes on to call, if it can be read without running anything.
  case refusedOpcode(file: String, part: String, offset: Int, opcode: String, then: String)
  case refusedProtocol(file: String, part: String, protocol: Int)
  case refusedCall(file: String, part: String, offset: Int, name: String)
  case truncated(file: String, part: String, offset: Int, needed: Int)
  case notUTF8(file: String, part: String, offset: Int)
  case limit(file: String, part: String, what: String, limit: Int)
  case malformed(file: String, part: String, offset: Int, reason: String)
  case unsupported(file: String, reason: String)
  case notACheckpoint(file: String, reason: String)
  case noTensors(file: String)
  case duplicateTensor(file: String, tensor: String)
  case nestedTooDeep(file: String, limit: Int)
  case storageMissing(file: String, tensor: String, key: String)
  case storageTooLarge(file: String, key: String, elements: Int)
  case viewOutOfBounds(file: String, tensor: String, reason: String)

  public var description: String {
    switch self {
    case .refusedGlobal(let f, let p, let o, let n):
      "\(f): \(p): refused global '\(n)' at byte \(o) (only torch rebuild functions, storage types, dtypes and OrderedDict are allowed)"
    case .refusedOpcode(let f, let p, let o, let op, let then):
      "\(f): \(p): refused opcode \(op) at byte \(o)" + (then.isEmpty ? "" : "; \(then)")
    case .refusedProtocol(let f, let p, let v): "\(f): \(p): pickle protocol \(v) refused (torch writes 2)"
    case .refusedCall(let f, let p, let o, let n): "\(f): \(p): call of '\(n)' refused at byte \(o)"
    case .truncated(let f, let p, let o, let n): "\(f): \(p): truncated at byte \(o) (\(n) more bytes needed)"
    case .notUTF8(let f, let p, let o): "\(f): \(p): string is not UTF-8 at byte \(o)"
    case .limit(let f, let p, let what, let l): "\(f): \(p): more than \(l) \(what)"
    case .malformed(let f, let p, let o, let r): "\(f): \(p): byte \(o): \(r)"
    case .unsupported(let f, let r): "\(f): \(r) are not supported"
    case .notACheckpoint(let f, let r): "\(f): \(r)"
    case .noTensors(let f): "\(f): no tensors in this checkpoint"
    case .duplicateTensor(let f, let t): "\(f): \(t): two tensors have this name"
    case .nestedTooDeep(let f, let l): "\(f): dicts nested deeper than \(l)"
    case .storageMissing(let f, let t, let k): "\(f): \(t): storage '\(k)' is missing"
    case .storageTooLarge(let f, let k, let n): "\(f): storage \(k): \(n) elements do not fit in the file"
    case .viewOutOfBounds(let f, let t, let r): "\(f): \(t): \(r)"
    }
  }
}
