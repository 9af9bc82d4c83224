/// Why a tokenizer file or a text was refused. One case per check; each names
/// the field (a JSON path such as `model.merges[12]`) or the byte offset.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
  case notJSON(file: String, reason: String)
  /// A field is missing or has the wrong type or value.
  case badField(file: String, field: String, reason: String)
  /// A kind of model, normalizer, pre-tokenizer, post-processor or decoder
  /// this reader does not implement.
  case unsupported(file: String, field: String, type: String)
  case badRegex(file: String, field: String, offset: Int, reason: String)
  case duplicateID(file: String, field: String, id: Int)
  case unknownToken(file: String, field: String, token: String)
  case tooLarge(file: String, field: String, count: Int, limit: Int)
  /// Text that is not UTF-8, at its first bad byte.
  case invalidUTF8(offset: Int)
  /// A token id outside the vocabulary (decode).
  case unknownID(Int)

  public var description: String {
    switch self {
    case .notJSON(let f, let r): "\(f): \(r)"
    case .badField(let f, let field, let r): "\(f): \(field): \(r)"
    case .unsupported(let f, let field, let t): "\(f): \(field): type '\(t)' is not supported"
    case .badRegex(let f, let field, let o, let r): "\(f): \(field): regex does not compile at character \(o): \(r)"
    case .duplicateID(let f, let field, let id): "\(f): \(field): id \(id) is given twice"
    case .unknownToken(let f, let field, let t): "\(f): \(field): '\(t)' is not in the vocabulary"
    case .tooLarge(let f, let field, let n, let l): "\(f): \(field): \(n) entries, over the limit of \(l)"
    case .invalidUTF8(let o): "text is not valid UTF-8 at byte \(o)"
    case .unknownID(let id): "token id \(id) is not in the vocabulary"
    }
  }
}
