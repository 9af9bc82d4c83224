import Foundation
import IngotCommands
import IngotContainer
import IngotCore
import IngotPipeline
import IngotQuant
import IngotRuntime
import IngotTestSupport
import Testing

/// `ingot calibrate` against llama.cpp's llama-imatrix on the same model and
/// text (tools/make_calibration_fixture.py), and its determinism.
@Suite struct CalibrateTests {
  static let text = Fixtures.repoRoot + "/../shared/corpus/gpl-3.txt"

  @Test func inputSquaresMatchLlamaImatrix() throws {
    guard FileManager.default.fileExists(atPath: Self.text) else {
      print("skipped: ../shared/corpus/gpl-3.txt is not beside the repository")
      return
    }
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    var action = CalibrateAction(model: tmp.file("l.ingot"), textPath: Self.text, output: tmp.file("c.ingot"))
    action.ctx = 128
    action.maxTokens = 16 * 128
    let r = try action.run()
    #expect(r.tokens == 2048 && r.sequences == 16 && r.layers == 14)
    let want = try JSONParser.parse(readFile(Fixtures.path("calibration/llama3_imatrix.json")))
    let tensors = try #require(want["tensors"]?.objectValue)
    let stats = Weights(try ContainerReader(path: tmp.file("c.ingot")))
    for (name, ref) in tensors {
      let values = try #require(ref["values"]?.arrayValue).compactMap(\.doubleValue)
      #expect(ref["tokens"]?.intValue == 2048)
      let ours = try stats.load(name)
      #expect(ours.count == values.count, "\(name)")
      let scale = values.map(abs).max() ?? 1
      let worst = zip(ours, values).map { abs(Double($0) - $1) / scale }.max() ?? 1
      // llama.cpp's forward pass rounds differently: 2e-4 of the largest value at most here.
      #expect(worst < 1e-3, "\(name): worst relative difference \(worst) from llama-imatrix")
    }
    // The provenance names the model and the text; a second run gives the same bytes.
    let c = try ContainerReader(path: tmp.file("c.ingot"))
    let step = try #require(c.provenance.last)
    #expect(step.operation == "calibrate")
    #expect(step.parameters["model_digest"]?.stringValue == (try ContainerReader(path: tmp.file("l.ingot"))).header.modelDigest)
    #expect(step.parameters["text_sha256"]?.stringValue == Digest.sha256Hex(try readFile(Self.text)))
    #expect(step.inputs.contains { $0.path == "gpl-3.txt" })
    var again = action
    again.output = tmp.file("c2.ingot")
    _ = try again.run()
    #expect(try readFile(tmp.file("c.ingot")) == readFile(tmp.file("c2.ingot")))
  }

  /// An encoder calibrates one sequence per line.
  @Test func encoderLines() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/bert")], output: tmp.file("b.ingot")).run()
    try Data("a b c\n\nhello world\n".utf8).write(to: URL(fileURLWithPath: tmp.file("t.txt")))
    let r = try CalibrateAction(model: tmp.file("b.ingot"), textPath: tmp.file("t.txt"), output: tmp.file("c.ingot")).run()
    #expect(r.sequences == 2 && r.layers == 2 * 6)
    var short = CalibrateAction(model: tmp.file("b.ingot"), textPath: tmp.file("t.txt"), output: tmp.file("x.ingot"))
    short.maxTokens = 1
    #expect(throws: PipelineError.self) { try short.run() }
  }
}

/// `quantize --calibration`: the search weighs each column by its input's
/// E[x²], which lowers the error so weighted on the very layers measured,
/// and the provenance names the stats; stats of another model are refused.
@Suite struct CalibratedQuantizeTests {
  @Test func weightedSearchLowersTheWeightedError() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    // A text the fixture's byte-level tokenizer reads: repeated prose.
    let text = String(repeating: "The quick brown fox jumps over the lazy dog, and then it rests in the shade. ", count: 60)
    try Data(text.utf8).write(to: URL(fileURLWithPath: tmp.file("t.txt")))
    var cal = CalibrateAction(model: tmp.file("l.ingot"), textPath: tmp.file("t.txt"), output: tmp.file("c.ingot"))
    cal.ctx = 64
    _ = try cal.run()
    let scheme = try QuantScheme(family: "q4_1", options: QuantOptions(), search: true)
    let plain = QuantizeAction.report(try QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("p.ingot"), scheme: scheme).run())
    var weighted = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("w.ingot"), scheme: scheme)
    weighted.calibration = tmp.file("c.ingot")
    let outcome = try weighted.run()
    let report = QuantizeAction.report(outcome)
    let rows = report["tensors"]?.arrayValue ?? []
    #expect(rows.count == 14)
    // Recompute the plain run's weighted error independently, from the stats.
    let stats = Weights(try ContainerReader(path: tmp.file("c.ingot")))
    let original = Weights(try ContainerReader(path: tmp.file("l.ingot"))), p = Weights(try ContainerReader(path: tmp.file("p.ingot")))
    var better = 0
    for row in rows {
      let name = try #require(row["name"]?.stringValue)
      let w = try stats.load(String(name.dropLast(".weight".count)) + ".input_sq_mean")
      let x = try original.load(name), q = try p.load(name)
      var s = 0.0, e = 0.0
      for i in x.indices {
        s += Double(w[i % w.count]) * Double(x[i]) * Double(x[i])
        e += Double(w[i % w.count]) * Double(x[i] - q[i]) * Double(x[i] - q[i])
      }
      let plainWeighted = 10 * log10(s / e)
      let ours = try #require(row["weighted_sqnr_db"]?.doubleValue)
      if ours > plainWeighted { better += 1 }
      #expect(ours > plainWeighted - 0.05, "\(name): weighted search \(ours) dB, plain search \(plainWeighted) dB (weighted)")
    }
    #expect(better >= rows.count * 3 / 4, "the weighted search wins on \(better) of \(rows.count) layers")
    #expect(plain["tensors"]?.arrayValue?.first?["weighted_sqnr_db"] == nil)
    let step = try #require(outcome.header.provenance.last)
    #expect(step.parameters["calibration"]?["method"]?.stringValue == "imatrix")
    #expect(step.parameters["calibration"]?["stats_model_digest"]?.stringValue == (try ContainerReader(path: tmp.file("c.ingot"))).header.modelDigest)
    #expect(step.parameters["calibration"]?["stats_sha256"]?.stringValue == Digest.sha256Hex(try readFile(tmp.file("c.ingot"))))
    // Stats measured on another model are refused.
    _ = try ConvertAction(sources: [Fixtures.path("arch/qwen2")], output: tmp.file("q.ingot")).run()
    var other = QuantizeAction(sources: [tmp.file("q.ingot")], output: tmp.file("x.ingot"), scheme: scheme)
    other.calibration = tmp.file("c.ingot")
    #expect(throws: PipelineError.self) { try other.run() }
  }
}

extension CalibratedQuantizeTests {
  /// int4 with f16 scales weighs the search too (and gives Q4_1's values:
  /// the same arithmetic); q6 scales refuse the stats rather than ignore them.
  @Test func int4WeighsAndQ6Refuses() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    try Data(String(repeating: "A calm sea, a quiet harbour and a long evening. ", count: 80).utf8).write(to: URL(fileURLWithPath: tmp.file("t.txt")))
    var cal = CalibrateAction(model: tmp.file("l.ingot"), textPath: tmp.file("t.txt"), output: tmp.file("c.ingot"))
    cal.ctx = 64
    _ = try cal.run()
    var int4 = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("i.ingot"), scheme: .int4())
    int4.calibration = tmp.file("c.ingot")
    var q41 = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("q.ingot"), scheme: try QuantScheme(family: "q4_1", options: QuantOptions(), search: true))
    q41.calibration = tmp.file("c.ingot")
    let a = QuantizeAction.report(try int4.run()), b = QuantizeAction.report(try q41.run())
    let wa = (a["tensors"]?.arrayValue ?? []).compactMap { $0["weighted_sqnr_db"]?.doubleValue }
    let wb = (b["tensors"]?.arrayValue ?? []).compactMap { $0["weighted_sqnr_db"]?.doubleValue }
    #expect(wa.count == 14 && wa == wb)
    var q6 = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("x.ingot"), scheme: .int4(scales: .q6))
    q6.calibration = tmp.file("c.ingot")
    #expect(throws: PipelineError.self) { try q6.run() }
  }
}
