import Foundation
import IngotCommands
import IngotCore
import IngotTestSupport
import IngotTokenizers
import Testing

/// Issue 13: tokenizers. References: Hugging Face tokenizers' ids and decoded
/// text for corpus lines (Fixtures/tokenizers/hf_ids.json, written by
/// tools/make_tokenizer_fixtures.py). tools/tokenizer_check.py runs the
/// whole corpus against tokenizers, llama.cpp's suite and llama-cpp-python.
@Suite struct TokenizerTests {
  static func reference() throws -> JSONValue { try JSONParser.parse(try readFile(Fixtures.path("tokenizers/hf_ids.json"))) }

  static let files: [String: String] = [
    "arch/llama3/tokenizer.json": Fixtures.path("arch/llama3/tokenizer.json"),
    "all-MiniLM-L6-v2": Fixtures.repoRoot + "/.models/all-MiniLM-L6-v2/tokenizer.json",
  ]

  @Test(arguments: ["arch/llama3/tokenizer.json", "all-MiniLM-L6-v2"])
  func idsAndTextMatchHuggingFace(_ name: String) throws {
    let ref = try Self.reference()
    let path = try #require(Self.files[name])
    guard FileManager.default.fileExists(atPath: path) else {
      print("\(name): skipped: run tools/fetch-models")
      return
    }
    let lines = try #require(ref["lines"]?.arrayValue).compactMap(\.stringValue)
    let want = try #require(ref["cases"]?[name]?["ids"]?.arrayValue)
    let decoded = try #require(ref["cases"]?[name]?["decoded"]?.arrayValue)
    #expect(lines.count > 200 && want.count == lines.count)
    let t = try Tokenizer(path: path)
    for (i, line) in lines.enumerated() {
      let ids = t.encode(line)
      #expect(ids == want[i].arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(name) line \(i): \(line.prefix(60))")
      #expect(try t.decode(ids) == decoded[i].stringValue, "\(name) decode of line \(i)")
    }
  }

  static func tokenizer(_ json: String) throws(TokenizerError) -> Tokenizer { try Tokenizer(text: json, file: "t.json") }

  static let base = #""added_tokens": [], "normalizer": null, "post_processor": null, "decoder": null"#

  /// Malformed files: refused naming the field, by error case.
  @Test func malformedFilesRefusedByField() throws {
    #expect(throws: TokenizerError.unknownToken(file: "t.json", field: "model.merges[1]", token: "c")) {
      try Self.tokenizer(#"{\#(Self.base), "pre_tokenizer": null, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "ab c"]}}"#)
    }
    #expect(throws: TokenizerError.duplicateID(file: "t.json", field: "model.vocab", id: 1)) {
      try Self.tokenizer(#"{\#(Self.base), "pre_tokenizer": null, "model": {"type": "BPE", "vocab": {"a": 1, "b": 1}, "merges": []}}"#)
    }
    #expect {
      try Self.tokenizer(#"{\#(Self.base), "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)b"}, "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#)
    } throws: { error in
      if case .badRegex(_, "pre_tokenizer.pattern", _, _)? = error as? TokenizerError { true } else { false }
    }
    #expect {
      try Self.tokenizer(#"{\#(Self.base), "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[z-a]"}, "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#)
    } throws: { error in
      if case .badRegex(_, "pre_tokenizer.pattern", 4, _)? = error as? TokenizerError { true } else { false }
    }
    #expect(throws: TokenizerError.unsupported(file: "t.json", field: "model.type", type: "CharLevel")) {
      try Self.tokenizer(#"{\#(Self.base), "pre_tokenizer": null, "model": {"type": "CharLevel", "vocab": {}}}"#)
    }
    #expect(throws: TokenizerError.unsupported(file: "t.json", field: "normalizer.type", type: "Precompiled")) {
      try Self.tokenizer(#"{"added_tokens": [], "normalizer": {"type": "Precompiled"}, "pre_tokenizer": null, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#)
    }
    #expect(throws: TokenizerError.unknownToken(file: "t.json", field: "model.unk_token", token: "[UNK]")) {
      try Self.tokenizer(#"{\#(Self.base), "pre_tokenizer": null, "model": {"type": "WordPiece", "vocab": {"a": 0}}}"#)
    }
    // Deeply nested JSON: the parser's depth limit, before any field is read.
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    #expect { try Self.tokenizer(#"{"model": \#(deep)}"#) } throws: { error in
      if case .notJSON? = error as? TokenizerError { true } else { false }
    }
  }

  /// Text that is not UTF-8 is refused at its first bad byte.
  @Test func invalidUTF8RefusedWithOffset() throws {
    let t = try Tokenizer(path: Fixtures.path("arch/llama3/tokenizer.json"))
    #expect(throws: TokenizerError.invalidUTF8(offset: 3)) { try t.encode(utf8: Array("abc".utf8) + [0xC3, 0x28]) }
    #expect(throws: TokenizerError.invalidUTF8(offset: 1)) { try t.encode(utf8: [0x61, 0xED, 0xA0, 0x80]) }  // a surrogate
    #expect(throws: TokenizerError.invalidUTF8(offset: 0)) { try t.encode(utf8: [0xF8]) }
    #expect(try t.encode(utf8: Array("ok é".utf8)) == t.encode("ok é"))
  }

  /// The regex engine's semantics on the constructs tokenizer patterns use:
  /// leftmost-first alternation, greedy loops that give back, lookahead,
  /// case-insensitive groups, categories.
  @Test func patternSemantics() throws {
    func pieces(_ pattern: String, _ text: String) throws -> [String] {
      let p = try Pattern(pattern)
      let s = text.unicodeScalars.map(\.value)
      return s.withUnsafeBufferPointer { buf in p.matches(buf, in: 0..<s.count) }.map { r in
        String(String.UnicodeScalarView(s[r].compactMap(Unicode.Scalar.init)))
      }
    }
    // GPT-2's pattern: trailing spaces go to their own piece, the last one stays with the word.
    #expect(try pieces(#"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#, "Hi  there's 42!") == ["Hi", " ", " there", "'s", " 42", "!"])
    #expect(try pieces(#"(?i:'s|'t)|\p{N}{1,3}"#, "IT'S 12345") == ["'S", "123", "45"])
    #expect(try pieces(#"a+?b|a+"#, "aaab aa") == ["aaab", "aa"])
    #expect(try pieces(#"[^\r\n\p{L}\p{N}]?\p{L}+"#, "¡Hola Ωmega") == ["¡Hola", " Ωmega"])
    #expect(try pieces(#"\s+$"#, "a  ") == ["  "])
    #expect(try pieces(#"x{2,}"#, "x xx xxx") == ["xx", "xxx"])
  }

  /// `ingot tokenize` reads the tokenizer a container carries.
  @Test func containerTokenizer() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let container = tmp.file("m.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: container).run()
    let text = "Hello, tokenizer: ünïcödé 123456"
    let direct = try Tokenizer(path: Fixtures.path("arch/llama3/tokenizer.json")).encode(text)
    #expect(try TokenizeAction(model: container).encode(Array(text.utf8)) == direct)
    #expect(try TokenizeAction(model: container).decode(direct) == text)
  }
}
