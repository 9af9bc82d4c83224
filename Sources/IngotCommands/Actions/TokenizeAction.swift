import IngotContainer
import IngotCore
import IngotFormats
import IngotTokenizers

/// `ingot tokenize`: a model's tokenizer on text, or back from ids. The
/// tokenizer comes from a `tokenizer.json`, a model folder holding one, or
/// an `.ingot` container that carries it (`files/tokenizer.json`).
public struct TokenizeAction: Sendable {
  public var model: String
  public var addSpecialTokens = true

  public init(model: String) { self.model = model }

  public static func tokenizer(_ path: String) throws -> Tokenizer {
    var st = stat()
    if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return try Tokenizer(path: path + "/tokenizer.json") }
    if path.hasSuffix(".json") { return try Tokenizer(path: path) }
    switch try FormatDetector.detect(path) {
    case .ingot:
      let reader = try ContainerReader(path: path)
      guard let text = reader.metadata["files/tokenizer.json"] else {
        throw TokenizerError.badField(file: path, field: "files/tokenizer.json", reason: "the container carries no tokenizer (convert the model folder, not the weights file)")
      }
      return try Tokenizer(text: text, file: path + ": files/tokenizer.json")
    default:
      return try Tokenizer(path: path)
    }
  }

  /// Ids for UTF-8 text (invalid UTF-8 refused with its offset).
  public func encode(_ bytes: [UInt8]) throws -> [Int] {
    try Self.tokenizer(model).encode(utf8: bytes, addSpecialTokens: addSpecialTokens)
  }

  public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
    try Self.tokenizer(model).decode(ids, skipSpecialTokens: skipSpecialTokens)
  }
}

#if canImport(Glibc)
  import Glibc
#endif
