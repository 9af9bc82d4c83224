import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotQuant
import IngotRuntime
import IngotTestSupport
import Testing

/// A model that returns fixed outputs, for metrics with known answers.
struct FixedModel: ForwardModel {
  var outputs: [[Float]]
  var outputDim: Int
  var vocabSize: Int { outputDim }
  var outputKind: String
  var positionLimit: Int? { nil }
  func run(_ sequences: [[Int]]) throws -> [[Float]] { outputs }
}

@Suite struct ValidateTests {
  @Test func identicalOutputsGiveZeroKLDAndFullAgreement() throws {
    let logits: [[Float]] = [[1, 2, 3, 0.5, 2, 1, 0, 3.5]]  // 2 positions × 4
    let m = FixedModel(outputs: logits, outputDim: 4, outputKind: "logits")
    let v = try Validation.run(base: m, candidate: m, baseType: "x", candidateType: "x", inputs: [[0, 1]], thresholds: .init())
    #expect(v.metrics["kld_mean"] == 0 && v.metrics["kld_max"] == 0)
    #expect(v.metrics["top1_agreement_pct"] == 100)
    #expect(v.metrics["rms_delta_p_top"] == 0)
    #expect(abs((v.metrics["logit_cosine_mean"] ?? 0) - 1) < 1e-12)
    #expect(v.passed)
  }

  /// KL(p‖q) computed here directly from the definition.
  @Test func aKnownPerturbationGivesTheIndependentKLD() throws {
    let base: [Float] = [2, 0, -1, 1]
    let cand: [Float] = [1, 0.5, -1, 1.5]
    func softmax(_ x: [Float]) -> [Double] {
      let e = x.map { exp(Double($0)) }
      let s = e.reduce(0, +)
      return e.map { $0 / s }
    }
    let p = softmax(base), q = softmax(cand)
    let kl = zip(p, q).reduce(0) { $0 + $1.0 * log($1.0 / $1.1) }
    let v = try Validation.run(
      base: FixedModel(outputs: [base], outputDim: 4, outputKind: "logits"),
      candidate: FixedModel(outputs: [cand], outputDim: 4, outputKind: "logits"), baseType: "x", candidateType: "x", inputs: [[0]],
      thresholds: .init(maxKLD: kl / 2))
    #expect(abs((v.metrics["kld_mean"] ?? 0) - kl) < 1e-12)
    #expect(v.metrics["top1_agreement_pct"] == 0)  // base argmax 0, candidate argmax 3
    #expect(abs((v.metrics["rms_delta_p_top"] ?? 0) - abs(p[0] - q[0])) < 1e-12)
    #expect(!v.passed && v.failures.contains { $0.contains("KLD") })
  }

  @Test func mismatchedModelsAreRefused() throws {
    let a = FixedModel(outputs: [[0, 0]], outputDim: 2, outputKind: "logits")
    let b = FixedModel(outputs: [[0, 0, 0]], outputDim: 3, outputKind: "logits")
    #expect { try Validation.run(base: a, candidate: a, baseType: "llama", candidateType: "gpt2", inputs: [[0]], thresholds: .init()) } throws: { "\($0)".contains("architecture") }
    #expect { try Validation.run(base: a, candidate: b, baseType: "x", candidateType: "x", inputs: [[0]], thresholds: .init()) } throws: { "\($0)".contains("vocabulary") }
  }

  @Test func quantizedTinyLlamaValidates() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-llama")], output: tmp.file("f.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("f.ingot")], output: tmp.file("q.ingot"), scheme: .int8Channel()).run()
    let same = try ValidateAction(base: tmp.file("f.ingot"), candidate: tmp.file("f.ingot")).run()
    #expect(same.metrics["kld_max"] == 0 && same.metrics["top1_agreement_pct"] == 100)
    let q = try ValidateAction(base: tmp.file("f.ingot"), candidate: tmp.file("q.ingot")).run()
    #expect(q.passed && (q.metrics["kld_mean"] ?? 1) > 0 && (q.metrics["kld_mean"] ?? 1) < 1e-3)
    #expect(q.sequences == 8 && q.tokens == 256)
    let cli = try run(ingotBinary(), ["validate", tmp.file("f.ingot"), tmp.file("q.ingot"), "--min-cosine", "0.9999999"])
    #expect(cli.status == 1 && cli.stdout.contains("FAIL"))

    // --record: the result becomes a provenance step; the model does not change.
    let before = try ContainerReader(path: tmp.file("q.ingot")).header
    _ = try ValidateAction(base: tmp.file("f.ingot"), candidate: tmp.file("q.ingot")).record(q)
    let after = try ContainerReader(path: tmp.file("q.ingot"))
    #expect(after.header.modelDigest == before.modelDigest && after.header.tensors.map(\.digest) == before.tensors.map(\.digest))
    #expect(after.provenance.map(\.operation) == ["convert", "quantize", "validate"])
    #expect(after.provenance.last?.metrics["validate"]?["passed"] == .bool(true))
    #expect(after.provenance.last?.parameters["inputs_sha256"] == .string(q.inputsDigest))
    #expect(try VerifyAction(path: tmp.file("q.ingot")).run().ok)
    #expect(!FileManager.default.fileExists(atPath: tmp.file("q.ingot.validate-tmp")))
  }
}

/// The real model (tools/fetch-models): the f32 container reproduces itself,
/// int8 and the default int4 pass their cosine gates on the default inputs.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: miniLM + "/model.safetensors"), "skipped: run tools/fetch-models"))
struct MiniLMValidateTests {
  @Test func miniLMTargetsHold() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [miniLM], output: tmp.file("f.ingot")).run()
    let f32 = try ValidateAction(base: tmp.file("f.ingot"), candidate: tmp.file("f.ingot")).run()
    #expect(abs((f32.metrics["pooled_cosine_min"] ?? 0) - 1) < 1e-6)
    for (scheme, gate) in [(QuantScheme.int8Channel(), 0.999), (.int4(), 0.95)] {
      _ = try QuantizeAction(sources: [tmp.file("f.ingot")], output: tmp.file("q.ingot"), scheme: scheme, force: true).run()
      let v = try ValidateAction(base: tmp.file("f.ingot"), candidate: tmp.file("q.ingot"), thresholds: .init(minCosine: gate)).run()
      #expect(v.passed, "\(scheme.name): worst pooled cosine \(v.metrics["pooled_cosine_min"] ?? 0)")
    }
  }
}
