import Foundation
import IngotCommands
import IngotContainer
import IngotCore
import IngotPipeline
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
