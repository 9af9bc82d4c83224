import ArgumentParser
import Foundation
import IngotCore
import IngotPipeline
import IngotRuntime
import IngotTokenizers

extension IngotCommand {
  struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Token ids for text with a model's tokenizer (tokenizer.json, a model folder or an .ingot), or text for ids with --decode.")

    @Argument(help: "A tokenizer.json, a model folder, or an .ingot container that carries one.")
    var model: String

    @Option(help: "The text (with --decode: ids, separated by commas or spaces).")
    var text: String?

    @Option(help: "A UTF-8 text file (with --decode: a 1-D .npy of ids, or ids as text).")
    var file: String?

    @Option(help: "A JSON array of texts: prints a JSON array of their id arrays (one tokenizer load for many texts); with --decode, an array of id arrays in, texts out.")
    var batch: String?

    @Flag(help: "Ids to text instead.")
    var decode = false

    @Flag(inversion: .prefixedNo, help: "Add the post-processor's special tokens (BOS, CLS/SEP; default on); with --decode, keep special tokens in the text.")
    var special = true

    @Flag(help: "GGUF vocabularies: also match control tokens written in the text (llama.cpp's parse_special).")
    var parseSpecial = false

    @Option(name: .shortAndLong, help: "Write the ids as a 1-D int64 .npy.")
    var output: String?

    @Flag(help: "Replace an existing output file.")
    var force = false

    @OptionGroup var format: JSONOption

    func run() throws {
      var action = TokenizeAction(model: model)
      action.addSpecialTokens = special
      action.parseSpecial = parseSpecial
      if let batch {
        let tokenizer = try action.tokenizer()
        let json = try JSONParser.parse(try readAll(batch))
        if decode {
          guard let lists = json.arrayValue?.map({ $0.arrayValue?.compactMap { $0.intValue.map(Int.init) } }), !lists.contains(where: { $0 == nil }) else {
            throw PipelineError.usage("--decode --batch: not a JSON array of id arrays")
          }
          let texts = try lists.map { JSONValue.string(try tokenizer.decode($0 ?? [], skipSpecialTokens: !special)) }
          print(String(decoding: CanonicalJSON.encode(.array(texts)), as: UTF8.self))
          return
        }
        guard let texts = json.arrayValue?.map(\.stringValue), !texts.contains(nil) else { throw PipelineError.usage("--batch: not a JSON array of strings") }
        let all = texts.map { t in JSONValue.array(tokenizer.encode(t ?? "", addSpecialTokens: special).map { .int(Int64($0)) }) }
        print(String(decoding: CanonicalJSON.encode(.array(all)), as: UTF8.self))
        return
      }
      let input: [UInt8]
      switch (text, file) {
      case (let t?, nil): input = Array(t.utf8)
      case (nil, let f?): input = try readAll(f)
      default: throw PipelineError.usage("give one of --text and --file")
      }
      if decode {
        let ids = try parseIDs(input)
        let s = try action.decode(ids, skipSpecialTokens: !special)
        if format.json { printJSON(["text": .string(s), "tokens": .int(Int64(ids.count))]) } else { print(s) }
        return
      }
      let ids = try action.encode(input)
      if let output {
        let out = try AtomicFile(path: output, inputs: [model] + (file.map { [$0] } ?? []), force: force)
        try out.write(NpyWriter.int64(ids, shape: [ids.count]), at: 0)
        try out.commit()
      }
      if format.json {
        printJSON(["ids": .array(ids.map { .int(Int64($0)) }), "tokens": .int(Int64(ids.count)), "bytes": .int(Int64(input.count))])
      } else if output == nil {
        print(ids.map(String.init).joined(separator: " "))
      } else {
        print("wrote \(output!): \(ids.count) tokens from \(input.count) bytes")  // audited: output != nil here
      }
    }

    func readAll(_ path: String) throws -> [UInt8] {
      let m = try MappedFile(path: path)
      // The mapping must outlive the copy of its bytes.
      return withExtendedLifetime(m) { Array(m.all) }
    }

    /// Ids from a 1-D integer .npy, or from text.
    func parseIDs(_ bytes: [UInt8]) throws -> [Int] {
      if bytes.starts(with: [0x93] + Array("NUMPY".utf8)), let path = file {
        return try ForwardAction.load(path)
      }
      guard let s = String(validating: bytes, as: UTF8.self) else { throw PipelineError.usage("--decode: ids are not text") }
      var ids: [Int] = []
      for part in s.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "[" || $0 == "]" }) {
        guard let v = Int(part) else { throw PipelineError.usage("--decode: '\(part)' is not a token id") }
        ids.append(v)
      }
      return ids
    }
  }
}
