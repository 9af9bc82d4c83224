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
  /// GGUF vocabularies: match control tokens written in the text too.
  public var parseSpecial = false

  public init(model: String) { self.model = model }

  public func tokenizer() throws -> Tokenizer { try Self.tokenizer(model, parseSpecial: parseSpecial) }

  public static func tokenizer(_ path: String, parseSpecial: Bool = false) throws -> Tokenizer {
    var st = stat()
    if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return try Tokenizer(path: path + "/tokenizer.json") }
    if path.hasSuffix(".json") { return try Tokenizer(path: path) }
    switch try FormatDetector.detect(path) {
    case .ingot:
      let reader = try ContainerReader(path: path)
      if let text = reader.metadata["files/tokenizer.json"] { return try Tokenizer(text: text, file: path + ": files/tokenizer.json") }
      // A GGUF-born container keeps the GGUF's keys, values as JSON text.
      if reader.metadata["gguf/tokenizer.ggml.model"] != nil {
        let meta = reader.metadata
        return try Tokenizer(gguf: { key in
          guard let v = meta["gguf/" + key] else { return nil }
          return (try? JSONParser.parse(Array(v.utf8))) ?? .string(v)
        }, file: path, parseSpecial: parseSpecial)
      }
      throw TokenizerError.badField(file: path, field: "files/tokenizer.json", reason: "the container carries no tokenizer (convert the model folder, not the weights file)")
    case .gguf:
      let gguf = try GGUFFile(path: path)
      var meta: [String: JSONValue] = [:]
      for (k, v) in gguf.metadata where k.hasPrefix("tokenizer.") { meta[k] = v }
      return try Tokenizer(gguf: { meta[$0] }, file: path, parseSpecial: parseSpecial)
    default:
      return try Tokenizer(path: path)
    }
  }

  /// Ids for UTF-8 text (invalid UTF-8 refused with its offset).
  public func encode(_ bytes: [UInt8]) throws -> [Int] {
    try tokenizer().encode(utf8: bytes, addSpecialTokens: addSpecialTokens)
  }

  public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
    try tokenizer().decode(ids, skipSpecialTokens: skipSpecialTokens)
  }
}

#if canImport(Glibc)
  import Glibc
#endif
