import IngotCore

/// Everything wrong with a GGUF input: one case per check, with the file,
/// the tensor or key, and the offset where it applies.
public enum GGUFError: Error, CustomStringConvertible, Equatable, Sendable, ReportableError {
  case badMagic(file: String)
  case unsupportedVersion(file: String, version: UInt32)
  case truncated(file: String, offset: Int, needed: Int)
  case countTooLarge(file: String, field: String, count: UInt64)
  case notUTF8(file: String, offset: Int)
  case duplicateKey(file: String, key: String, offset: Int)
  case badKey(file: String, key: String, reason: String)
  case badBool(file: String, offset: Int, value: UInt8)
  case nestedArray(file: String, offset: Int)
  case unknownValueType(file: String, offset: Int, type: UInt32)
  case badTensorName(file: String, offset: Int)
  case badRank(file: String, tensor: String, rank: UInt32)
  case dimensionTooLarge(file: String, tensor: String, dimension: UInt64)
  case unknownType(file: String, tensor: String, type: UInt32)
  case duplicateTensor(file: String, tensor: String)
  case partialBlocks(file: String, tensor: String, shape: [Int], type: String)
  case dataOutOfBounds(file: String, tensor: String, offset: Int)
  case unmappedArchitecture(file: String, architecture: String, known: [String])
  case unmappedTensor(file: String, tensor: String)
  case nameCollision(file: String, tensor: String)
  case rowsNotRotaryPairs(file: String, tensor: String, shape: [Int], heads: Int)
  /// Two tensors' data ranges overlap.
  case overlappingData(file: String, tensor: String, other: String)
  /// Export: a tensor that GGUF cannot hold as it is.
  case noGGUFForm(tensor: String, reason: String)
  /// Export: a container whose model the GGUF keys cannot describe.
  case noGGUFMetadata(reason: String)
  /// A count or length beyond a named limit (IngotCore's Limits).
  case limit(file: String, offset: Int, what: String, limit: Int)

  public var description: String {
    switch self {
    case .noGGUFForm(let t, let r): "\(t): no exact GGUF form (\(r)); --dtype f32, f16 or bf16 writes it as a float"
    case .noGGUFMetadata(let r): "GGUF export: \(r)"
    case .overlappingData(let f, let t, let o): "\(f): \(t): its data overlaps tensor \(o)'s"
    case .limit(let f, let o, let what, let l): "\(f): offset \(o): more than \(l) \(what)"
    case .badMagic(let f): "\(f): offset 0: not a GGUF file (bad magic)"
    case .unsupportedVersion(let f, let v): "\(f): offset 4: unsupported GGUF version \(v) (2 and 3 are read)"
    case .truncated(let f, let o, let n): "\(f): offset \(o): \(n) bytes run past the end of the file (truncated?)"
    case .countTooLarge(let f, let field, let c): "\(f): \(field) \(c) exceeds what the file can hold"
    case .notUTF8(let f, let o): "\(f): offset \(o): string is not UTF-8"
    case .duplicateKey(let f, let k, let o): "\(f): offset \(o): metadata key '\(k)' is given twice"
    case .badKey(let f, let k, let r): "\(f): \(k): \(r)"
    case .badBool(let f, let o, let v): "\(f): offset \(o): bool value \(v) (must be 0 or 1)"
    case .nestedArray(let f, let o): "\(f): offset \(o): nested arrays are refused"
    case .unknownValueType(let f, let o, let t): "\(f): offset \(o): unknown metadata value type \(t)"
    case .badTensorName(let f, let o): "\(f): offset \(o): tensor name is empty or longer than 256 bytes"
    case .badRank(let f, let t, let r): "\(f): \(t): \(r) dimensions (1 to 4 are allowed)"
    case .dimensionTooLarge(let f, let t, let d): "\(f): \(t): dimension \(d) is too large"
    case .unknownType(let f, let t, let type): "\(f): \(t): unknown tensor type \(type)"
    case .duplicateTensor(let f, let t): "\(f): \(t): duplicate tensor name"
    case .partialBlocks(let f, let t, let s, let type): "\(f): \(t): \(s) of \(type) is not a whole number of blocks, or overflows"
    case .dataOutOfBounds(let f, let t, let o): "\(f): \(t): data at offset \(o) runs past the end of the file or is misaligned"
    case .unmappedArchitecture(let f, let a, let known): "\(f): --names hf knows the \(known.joined(separator: ", ")) architecture only (this file is '\(a)'); use --names gguf"
    case .unmappedTensor(let f, let t): "\(f): \(t): no Hugging Face name for this tensor; use --names gguf"
    case .nameCollision(let f, let t): "\(f): \(t): two tensors map to this name"
    case .rowsNotRotaryPairs(let f, let t, let s, let h): "\(f): \(t): \(s) rows do not split into \(h) heads of rotary pairs"
    }
  }
}
