import Foundation
import IngotCommands
import IngotContainer
import IngotCore
import IngotPipeline
import IngotQuant
import IngotRuntime
import IngotTestSupport
import Testing

/// GPTQ into ggml blocks: on inputs whose channels are correlated it moves
/// the layer's output (measured here directly, sample by sample) far less
/// than the best rounding of each weight alone; with nothing to compensate
/// (H = I) it is that rounding, byte for byte.
@Suite struct GPTQTests {
  /// n samples of `cols` channels driven by 12 shared factors (so H is far from diagonal), and W.
  static func problem(rows: Int, cols: Int, samples n: Int, seed: UInt64) -> (x: [Float], w: [Float], h: [Float]) {
    var rng = SplitMix64(seed: seed)
    let factors = 12
    let mix = (0..<(factors * cols)).map { _ in Float(rng.normal()) }
    var x = [Float](repeating: 0, count: n * cols)
    for s in 0..<n {
      let z = (0..<factors).map { _ in Float(rng.normal()) }
      for c in 0..<cols {
        var v = Float(0.1 * rng.normal())
        for f in 0..<factors { v += z[f] * mix[f * cols + c] }
        x[s * cols + c] = v
      }
    }
    let w = (0..<(rows * cols)).map { _ in Float(rng.normal()) * 0.05 }
    var h = [Float](repeating: 0, count: cols * cols)
    for s in 0..<n {
      for i in 0..<cols {
        let xi = Double(x[s * cols + i])
        for j in 0..<cols { h[i * cols + j] += Float(xi * Double(x[s * cols + j]) / Double(n)) }
      }
    }
    return (x, w, h)
  }

  /// Σ over samples and rows of ((W − Ŵ)x)².
  static func outputError(_ x: [Float], _ w: [Float], _ q: [Float], rows: Int, cols: Int) -> Double {
    var e = 0.0
    for s in 0..<(x.count / cols) {
      for r in 0..<rows {
        var d = 0.0
        for c in 0..<cols { d += Double(w[r * cols + c] - q[r * cols + c]) * Double(x[s * cols + c]) }
        e += d * d
      }
    }
    return e
  }

  static func decode(_ payload: [UInt8], _ codec: GGMLBlockCodec) -> [Float] {
    var out = [Float](repeating: 0, count: codec.rows * codec.cols)
    payload.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { Dequantizer.dequantize(p, codec: codec, into: $0.baseAddress!) } }
    return out
  }

  @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl, .q4_K, .q5_K, .q6_K, .iq4_xs])
  func compensationLowersTheOutputError(_ type: GGMLType) throws {
    let rows = 20, cols = 512
    let (x, w, h) = Self.problem(rows: rows, cols: cols, samples: 384, seed: 7)
    let codec = GGMLBlockCodec(type: type, rows: rows, cols: cols)
    let diagonal = (0..<cols).map { h[$0 * cols + $0] }
    var plain = [UInt8](repeating: 0, count: codec.payloadLength), gptq = plain
    _ = try w.withUnsafeBufferPointer { v in
      try plain.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: codec, search: true, logical: .f32, name: "w", into: $0, importance: diagonal) }
    }
    let m = try w.withUnsafeBufferPointer { v in
      try h.withUnsafeBufferPointer { hb in
        try gptq.withUnsafeMutableBytes { try GPTQ.quantize(v, codec: codec, hessian: hb, search: true, logical: .f32, name: "w", into: $0) }
      }
    }
    let ePlain = Self.outputError(x, w, Self.decode(plain, codec), rows: rows, cols: cols)
    let eGPTQ = Self.outputError(x, w, Self.decode(gptq, codec), rows: rows, cols: cols)
    #expect(eGPTQ < 0.7 * ePlain, "\(type): output error \(eGPTQ) with GPTQ, \(ePlain) without")
    // The weights themselves move more: the error went where the inputs do not look.
    #expect(m.count == rows * cols)
    // The predicted output SQNR (dᵀHd) agrees with the measured one.
    let q = Self.decode(gptq, codec)
    let signal = Self.outputError(x, w, [Float](repeating: 0, count: w.count), rows: rows, cols: cols)
    let db = try #require(w.withUnsafeBufferPointer { wb in
      q.withUnsafeBufferPointer { qb in h.withUnsafeBufferPointer { OutputError.sqnr(original: wb.baseAddress!, quantized: qb.baseAddress!, rows: rows, cols: cols, hessian: $0.baseAddress!) } }
    })
    #expect(abs(db - 10 * log10(signal / eGPTQ)) < 0.01)
    // Twice, the same bytes.
    var again = [UInt8](repeating: 0, count: codec.payloadLength)
    _ = try w.withUnsafeBufferPointer { v in
      try h.withUnsafeBufferPointer { hb in
        try again.withUnsafeMutableBytes { try GPTQ.quantize(v, codec: codec, hessian: hb, search: true, logical: .f32, name: "w", into: $0) }
      }
    }
    #expect(again == gptq)
  }

  /// With H = I no error has anywhere to go: GPTQ writes what the search
  /// weighted by H's (unit) diagonal writes.
  @Test(arguments: [GGMLType.q4_0, .q4_K, .q6_K, .iq4_nl])
  func identityHessianIsTheSearch(_ type: GGMLType) throws {
    let rows = 8, cols = 256
    var rng = SplitMix64(seed: 3)
    let w = (0..<(rows * cols)).map { _ in Float(rng.normal()) }
    var h = [Float](repeating: 0, count: cols * cols)
    for i in 0..<cols { h[i * cols + i] = 1 }
    let codec = GGMLBlockCodec(type: type, rows: rows, cols: cols)
    var plain = [UInt8](repeating: 0, count: codec.payloadLength), gptq = plain
    _ = try w.withUnsafeBufferPointer { v in
      try plain.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: codec, search: true, logical: .f32, name: "w", into: $0, importance: [Float](repeating: 1, count: cols)) }
    }
    _ = try w.withUnsafeBufferPointer { v in
      try h.withUnsafeBufferPointer { hb in
        try gptq.withUnsafeMutableBytes { try GPTQ.quantize(v, codec: codec, hessian: hb, damping: 1e-9, search: true, logical: .f32, name: "w", into: $0) }
      }
    }
    #expect(gptq == plain)
  }
}

/// `calibrate --hessian` and `quantize --method gptq` end to end.
@Suite struct HessianCalibrationTests {
  /// The llama3 fixture as l.ingot in `tmp`, and its stats (with Grams) as
  /// c.ingot from `calibrate` on repeated prose the byte-level tokenizer reads.
  static func calibratedLlama(_ tmp: TempDir) throws -> (CalibrateAction, CalibrateAction.Outcome) {
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    let text = String(repeating: "The quick brown fox jumps over the lazy dog, and then it rests in the shade. ", count: 60)
    try Data(text.utf8).write(to: URL(fileURLWithPath: tmp.file("t.txt")))
    var cal = CalibrateAction(model: tmp.file("l.ingot"), textPath: tmp.file("t.txt"), output: tmp.file("c.ingot"))
    cal.ctx = 64
    cal.hessian = true
    return (cal, try cal.run())
  }

  @Test func gramsLayerByLayer() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (cal, r) = try Self.calibratedLlama(tmp)
    #expect(r.layers == 14 && r.grams == 14)
    let reader = try ContainerReader(path: tmp.file("c.ingot"))
    let stats = Weights(reader)
    let digests = Dictionary(uniqueKeysWithValues: reader.header.tensors.map { ($0.name, $0.digest) })
    for t in reader.tensors where t.name.hasSuffix(".input_gram") {
      let base = String(t.name.dropLast(".input_gram".count))
      let g = try stats.load(t.name), sq = try stats.load(base + ".input_sq_mean")
      let n = sq.count
      #expect(t.shape == [n, n])
      // Its diagonal is E[x²] (which matches llama-imatrix: CalibrateTests); it is symmetric.
      for i in 0..<n { #expect(abs(g[i * n + i] - sq[i]) <= 1e-5 * max(1, abs(sq[i])), "\(t.name)[\(i)]") }
      for i in 0..<n { for j in 0..<i where g[i * n + j] != g[j * n + i] { Issue.record("\(t.name) not symmetric at \(i), \(j)") } }
    }
    // q, k and v read one input: one Gram.
    let prefix = "model.layers.0.self_attn."
    #expect(digests[prefix + "q_proj.input_gram"] == digests[prefix + "k_proj.input_gram"])
    #expect(digests[prefix + "q_proj.input_gram"] == digests[prefix + "v_proj.input_gram"])
    #expect(digests[prefix + "q_proj.input_gram"] != digests[prefix + "o_proj.input_gram"])
    // Deterministic.
    var again = cal
    again.output = tmp.file("c2.ingot")
    _ = try again.run()
    #expect(try readFile(tmp.file("c.ingot")) == readFile(tmp.file("c2.ingot")))

    // GPTQ: the output error its Grams predict drops on most layers; the provenance says how.
    let scheme = try QuantScheme(family: "q4_0", options: QuantOptions(), search: true)
    var imatrix = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("i.ingot"), scheme: scheme)
    imatrix.calibration = tmp.file("c.ingot")
    var gptq = imatrix
    gptq.output = tmp.file("g.ingot")
    gptq.method = .gptq
    let a = QuantizeAction.report(try imatrix.run())
    let outcome = try gptq.run()
    let b = QuantizeAction.report(outcome)
    let ra = a["tensors"]?.arrayValue ?? [], rb = b["tensors"]?.arrayValue ?? []
    #expect(ra.count == 14 && rb.count == 14)
    #expect(rb.allSatisfy { $0["method"]?.stringValue == "gptq" })
    let better = zip(ra, rb).filter { ($1["output_sqnr_db"]?.doubleValue ?? 0) > ($0["output_sqnr_db"]?.doubleValue ?? 0) }.count
    #expect(better >= 12, "GPTQ lowers the predicted output error on \(better) of 14 layers")
    let step = try #require(outcome.header.provenance.last)
    #expect(step.parameters["calibration"]?["method"]?.stringValue == "gptq")
    #expect(step.parameters["calibration"]?["damping"]?.doubleValue == GPTQ.defaultDamping)
    // Refusals: stats without Grams; a scheme GPTQ does not write.
    var noGrams = cal
    noGrams.hessian = false
    noGrams.output = tmp.file("s.ingot")
    _ = try noGrams.run()
    var refused = gptq
    refused.calibration = tmp.file("s.ingot")
    refused.output = tmp.file("x.ingot")
    #expect(throws: PipelineError.self) { try refused.run() }
    var int4 = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("y.ingot"), scheme: .int4())
    int4.calibration = tmp.file("c.ingot")
    int4.method = .gptq
    #expect(throws: PipelineError.self) { try int4.run() }
  }
}

/// `quantize --target-bpw`: the plan stays within the budget, spends it
/// where the measured error falls most, and the file's measured error,
/// recorded beside the prediction, is close to it.
@Suite struct SizeBudgetTests {
  @Test func budgetIsMetAndChecked() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/bert")], output: tmp.file("b.ingot")).run()
    let lines = (0..<48).map { "line \($0): the quick brown fox jumps over the lazy dog near the river bank" }
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: tmp.file("t.txt")))
    var cal = CalibrateAction(model: tmp.file("b.ingot"), textPath: tmp.file("t.txt"), output: tmp.file("c.ingot"))
    cal.hessian = true
    _ = try cal.run()
    func run(_ bpw: Double, _ name: String, in dir: TempDir? = nil) throws -> QuantizeAction.Planned {
      var a = QuantizeAction(sources: [tmp.file("b.ingot")], output: (dir ?? tmp).file(name), scheme: try QuantScheme(family: "iq4_nl", options: QuantOptions(), search: true))
      a.calibration = tmp.file("c.ingot")
      a.method = .gptq
      var budget = SizeBudget(target: .bitsPerWeight(bpw))
      budget.sequences = 8
      budget.candidates = [.iq4_nl, .q5_0, .q8_0]
      a.budget = budget
      return try a.runPlanned()
    }
    let tight = try run(4.6, "t.ingot"), loose = try run(7, "l.ingot")
    for (p, bpw) in [(tight, 4.6), (loose, 7.0)] {
      let plan = try #require(p.plan)
      #expect(plan.bitsPerWeight <= bpw)
      // The written tensors are the plan's: their payloads add up to it.
      let report = QuantizeAction.report(p.outcome)
      #expect(report["summary"]?["quantized_bytes_after"]?.intValue.map(Int.init) ?? -1 <= plan.plannedBytes)
      #expect(report["policy"]?["tensors"]?.arrayValue?.count == plan.rows.count)
      // Each choice is on its tensor's hull; every option was measured.
      for r in plan.rows { #expect(r.options.count >= 1 && r.chosen < r.options.count) }
      let measured = try #require(p.measured)
      #expect(measured > 0 && measured < 2 * plan.predicted + 1e-6 && measured > plan.predicted / 2, "measured \(measured), predicted \(plan.predicted)")
      let step = try #require(p.outcome.header.provenance.last)
      #expect(step.operation == "validate")
      #expect(step.parameters["predicted_error"]?.doubleValue == plan.predicted)
      #expect(step.parameters["measured_error"]?.doubleValue == measured)
    }
    // More budget, less predicted error and more bits.
    #expect(try #require(loose.plan).predicted < (try #require(tight.plan)).predicted)
    #expect(try #require(loose.plan).bitsPerWeight > (try #require(tight.plan)).bitsPerWeight)
    // Deterministic: the same inputs give the same bytes (the check's step
    // names the file it rewrote, so the same name, in another folder).
    let other = TempDir()
    defer { other.cleanup() }
    _ = try run(4.6, "t.ingot", in: other)
    #expect(try readFile(tmp.file("t.ingot")) == readFile(other.file("t.ingot")))
    // A budget below the cheapest mix is refused.
    #expect(throws: PipelineError.self) { try run(3, "x.ingot") }
  }
}

/// `--method hqq`: HQQ's zero-point fit lowers its ℓp objective, and the
/// squared error, below its starting point (round-to-nearest under the
/// same min–max scale). Our squared-error search, which moves the scale
/// too, does better still on both (measured here, and on MiniLM in
/// README); HQQ is refused where there is no zero point, or with stats.
@Suite struct HQQTests {
  @Test(arguments: [GGMLType.q4_1, .q5_1, .q4_K])
  func fitsItsObjective(_ type: GGMLType) throws {
    let rows = 16, cols = 256
    var rng = SplitMix64(seed: 11)
    // Heavy-tailed weights (Laplace): where ℓp and ℓ2 fits differ.
    let w = (0..<(rows * cols)).map { _ -> Float in
      let u = rng.uniform() - 0.5
      return Float(-(u < 0 ? -1 : 1) * log(1 - 2 * abs(u))) * 0.02
    }
    func run(_ options: QuantOptions, search: Bool) throws -> [Float] {
      var o = options
      o.variant = type.description.lowercased()
      let codec = try GGMLBlockCodec.fit(o, rows: rows, cols: cols).get()
      var payload = [UInt8](repeating: 0, count: codec.payloadLength)
      _ = try w.withUnsafeBufferPointer { v in try payload.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: codec, search: search, logical: .f32, name: "w", into: $0) } }
      return GPTQTests.decode(payload, codec)
    }
    var hqqOptions = QuantOptions()
    hqqOptions.hqq = true
    let hqq = try run(hqqOptions, search: true), searched = try run(QuantOptions(), search: true), nearest = try run(QuantOptions(), search: false)
    func lp(_ q: [Float]) -> Double { zip(w, q).reduce(0) { $0 + pow(Double(abs($1.0 - $1.1)), 0.7) } }
    func sq(_ q: [Float]) -> Double { zip(w, q).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }
    #expect(lp(hqq) < lp(nearest), "\(type): ℓ0.7 error \(lp(hqq)) with HQQ, \(lp(nearest)) rounding to nearest")
    #expect(lp(searched) < lp(hqq) && sq(searched) < sq(hqq))
    #expect(sq(hqq) < sq(nearest), "\(type): squared error \(sq(hqq)) with HQQ, \(sq(nearest)) rounding to nearest")
    #expect(hqq != searched)
  }

  @Test func refusals() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    var q40 = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("a.ingot"), scheme: try QuantScheme(family: "q4_0", options: QuantOptions(), search: true))
    q40.method = .hqq
    #expect(throws: PipelineError.self) { try q40.run() }
    var q41 = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("b.ingot"), scheme: try QuantScheme(family: "q4_1", options: QuantOptions(), search: true))
    q41.method = .hqq
    let outcome = try q41.run()
    #expect(outcome.header.provenance.last?.parameters["fit"]?.stringValue == "hqq")
    q41.calibration = tmp.file("l.ingot")
    q41.output = tmp.file("c.ingot")
    #expect(throws: PipelineError.self) { try q41.run() }
  }
}

/// `--method awq`: the scales folded into the norms leave the model as it
/// was (at Q8_0 the outputs move no more than without AWQ), the search never
/// predicts a worse output error than plain quantization, and a post-norm
/// encoder is refused.
@Suite struct AWQTests {
  @Test func foldKeepsTheModel() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try HessianCalibrationTests.calibratedLlama(tmp)
    func run(_ method: CalibrationMethod, _ family: String, _ out: String) throws -> Pipeline.Outcome {
      var a = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file(out), scheme: try QuantScheme(family: family, options: QuantOptions(), search: true))
      a.calibration = tmp.file("c.ingot")
      a.method = method
      return try a.run()
    }
    let awq = try run(.awq, "q8_0", "a.ingot")
    _ = try run(.imatrix, "q8_0", "i.ingot")
    let groups = try #require(awq.header.provenance.last?.parameters["calibration"]?["awq"]?.arrayValue)
    #expect(!groups.isEmpty)
    for g in groups {
      let before = try #require(g["output_error_before"]?.doubleValue), after = try #require(g["output_error_after"]?.doubleValue)
      #expect(after <= before && (g["alpha"]?.doubleValue ?? 0) > 0)
    }
    // The folded norms changed; the model's outputs did not move more than Q8_0 moves them anyway.
    let base = try ContainerReader(path: tmp.file("l.ingot")), folded = try ContainerReader(path: tmp.file("a.ingot"))
    let norm = try #require(groups.first?["norm"]?.stringValue)
    #expect(base.header.tensors.first { $0.name == norm }?.digest != folded.header.tensors.first { $0.name == norm }?.digest)
    let va = try ValidateAction(base: tmp.file("l.ingot"), candidate: tmp.file("a.ingot")).run()
    let vi = try ValidateAction(base: tmp.file("l.ingot"), candidate: tmp.file("i.ingot")).run()
    let ka = try #require(va.metrics["kld_mean"]), ki = try #require(vi.metrics["kld_mean"])
    #expect(ka < 1.5 * ki + 1e-5, "AWQ at Q8_0: mean KLD \(ka); without: \(ki)")
    // A post-norm encoder cannot take the fold.
    _ = try ConvertAction(sources: [Fixtures.path("arch/bert")], output: tmp.file("b.ingot")).run()
    try Data("a b c\nhello world\n".utf8).write(to: URL(fileURLWithPath: tmp.file("s.txt")))
    var bc = CalibrateAction(model: tmp.file("b.ingot"), textPath: tmp.file("s.txt"), output: tmp.file("bc.ingot"))
    bc.hessian = true
    _ = try bc.run()
    var bert = QuantizeAction(sources: [tmp.file("b.ingot")], output: tmp.file("x.ingot"), scheme: try QuantScheme(family: "q8_0", options: QuantOptions(), search: true))
    bert.calibration = tmp.file("bc.ingot")
    bert.method = .awq
    #expect(throws: PipelineError.self) { try bert.run() }
  }
}
