import Foundation
import IngotCommands
import IngotCore
import IngotTestSupport
import Testing

/// Issue 13: perplexity against llama.cpp's llama-perplexity on the llama3
/// fixture's GGUF (Fixtures/perplexity/llama3.json, written by
/// tools/make_perplexity_fixture.py): same chunks, same scored tokens.
@Suite struct PerplexityTests {
  static let text = Fixtures.repoRoot + "/../shared/corpus/gpl-3.txt"

  @Test func matchesLlamaPerplexity() throws {
    guard FileManager.default.fileExists(atPath: Self.text) else {
      print("skipped: ../shared/corpus/gpl-3.txt is not beside the repository")
      return
    }
    let ref = try JSONParser.parse(try readFile(Fixtures.path("perplexity/llama3.json")))
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let container = tmp.file("m.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3/model.gguf")], output: container).run()
    var action = PerplexityAction(model: container, text: try readFile(Self.text))
    action.ctx = Int(ref["ctx"]?.intValue ?? 0)
    action.maxChunks = Int(ref["chunks"]?.intValue ?? 0)
    let r = try action.run()
    let ppl = try #require(r["ppl"]?.doubleValue), want = try #require(ref["ppl"]?.doubleValue)
    let err = try #require(r["ppl_stderr"]?.doubleValue), wantErr = try #require(ref["stderr"]?.doubleValue)
    #expect(r["chunks"]?.intValue == ref["chunks"]?.intValue)
    #expect(abs(ppl / want - 1) < 1e-3, "PPL \(ppl), llama-perplexity \(want)")
    #expect(abs(err / wantErr - 1) < 1e-2, "stderr \(err), llama-perplexity \(wantErr)")
  }

  /// Against itself as base: KL 0, same top-1 everywhere, ratio 1.
  @Test func baseAgainstItself() throws {
    guard FileManager.default.fileExists(atPath: Self.text) else { return }
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let container = tmp.file("m.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: container).run()
    var action = PerplexityAction(model: container, text: try readFile(Self.text))
    action.ctx = 64
    action.maxChunks = 4
    action.base = container
    let r = try action.run()
    #expect(r["kl_max"]?.doubleValue == 0 && r["same_top1_pct"]?.doubleValue == 100 && r["ppl_ratio"]?.doubleValue == 1)
    #expect(r["tokens_scored"].flatMap { $0.intValue }.map { Int($0) } == 4 * 31)
  }

  /// validate --text: a decoder on text chunks (with both PPLs), an encoder
  /// on one sequence per line; a model against itself passes every gate.
  @Test func validateOnText() throws {
    guard FileManager.default.fileExists(atPath: Self.text) else { return }
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let container = tmp.file("m.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: container).run()
    var action = ValidateAction(base: container, candidate: container)
    action.text = try readFile(Self.text)
    action.ctx = 64
    action.maxChunks = 3
    let v = try action.run()
    #expect(v.passed && v.kind == "decoder" && v.sequences == 3 && v.tokens == 3 * 64)
    #expect(v.metrics["candidate_ppl"] != nil && v.metrics["candidate_ppl"] == v.metrics["base_ppl"] && v.metrics["ppl_ratio"] == 1)
    let bert = tmp.file("b.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/bert")], output: bert).run()
    var encoder = ValidateAction(base: bert, candidate: bert)
    encoder.text = Array("One sentence.\n\nAnother one, longer than the first.\n".utf8)
    let e = try encoder.run()
    #expect(e.passed && e.kind == "encoder" && e.sequences == 2)
  }
}
