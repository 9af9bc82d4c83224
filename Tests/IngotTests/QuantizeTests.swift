import IngotCore
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotPipeline
import IngotQuant
import IngotTestSupport
import Testing

/// Quantization against values computed here from the formulas in
/// formats/ingot-v1.md §5.3, not by calling the quantizer's own helpers.
@Suite struct QuantizeTests {
  /// Quantizes one f32 matrix and returns its payload and dequantized values.
  func quantize(_ values: [Float], rows: Int, _ scheme: QuantScheme) throws -> (payload: [UInt8], layout: any QuantCodec, dequantized: [Float], metrics: ErrorMetrics) {
    let layout = try scheme.layout(dtype: .f32, shape: [rows, values.count / rows]).get()
    var payload = [UInt8](repeating: 0xEE, count: layout.payloadLength)
    let m = try values.withUnsafeBufferPointer { v in
      try payload.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: layout, search: scheme.search, logical: .f32, name: "t", into: $0) }
    }
    var out = [Float](repeating: .nan, count: values.count)
    payload.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { Dequantizer.dequantize(p, codec: layout, into: $0.baseAddress!) } }
    return (payload, layout, out, m)
  }

  func f16Bits(_ p: [UInt8], _ at: Int) -> UInt16 { UInt16(p[at]) | UInt16(p[at + 1]) << 8 }

  @Test func int8ChannelGoldenValues() throws {
    // Row 0: absmax 1.0 → scale 1/127; codes round(x·127): 63.5 → 64 (even), 31.75 → 32, 16.129 → 16.
    let x: [Float] = [0.5, -1.0, 0.25, 0.127, 0, 0, 0, 0]
    let r = try quantize(x, rows: 2, .int8Channel(search: false))
    #expect(r.payload.count == 8 + 2 * 4)
    #expect(r.payload[0..<4].map { Int8(bitPattern: $0) } == [64, -127, 32, 16])
    let scale0 = Float(bitPattern: r.payload[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
    #expect(scale0 == Float(1) / 127)
    #expect(r.dequantized[0] == Float(64) * (Float(1) / 127))
    // An all-zero row: scale 0, codes 0, exact.
    #expect(r.payload[4..<8].allSatisfy { $0 == 0 } && Array(r.dequantized[4...]) == [0, 0, 0, 0])
  }

  @Test func int8BlockGoldenValues() throws {
    let x = (0..<32).map { Float($0 - 10) * 0.03 }  // absmax 0.63 (i = 31)
    let r = try quantize(x, rows: 1, .int8Block(search: false))
    let s = halfToDouble(f16Bits(r.payload, 32))
    #expect(s == Double(Float(Float16(Float(0.63) / 127))))
    for i in 0..<32 {
      let want = max(-127, min(127, (Double(x[i]) / s).rounded(.toNearestOrEven)))
      #expect(Double(Int8(bitPattern: r.payload[i])) == want, "element \(i)")
      #expect(r.dequantized[i] == Float(want) * Float(s))
    }
    #expect(r.layout.bitsPerWeight == 8.5)
  }

  @Test func int4SymmetricGoldenValuesAndNibbleOrder() throws {
    let x = (0..<32).map { Float($0 - 16) * 0.1 }  // largest magnitude −1.6 → scale −1.6/−8 = 0.2
    let r = try quantize(x, rows: 1, .int4(groupSize: 32, symmetric: true, scales: .plain, search: false))
    let s = halfToDouble(f16Bits(r.payload, 16))
    #expect(s == Double(Float16(Float(0.2))))
    for i in 0..<32 {
      let q = max(-8, min(7, (Double(x[i]) / s).rounded(.toNearestOrEven))) + 8
      let nibble = i % 2 == 0 ? r.payload[i / 2] & 0x0F : r.payload[i / 2] >> 4
      #expect(Double(nibble) == q, "element \(i)")
      #expect(r.dequantized[i] == (Float(q) - 8) * Float(s))
    }
    #expect(r.payload.count == 16 + 2)
  }

  @Test func int4AsymmetricGoldenValues() throws {
    var rng = SplitMix64(seed: 3)
    let x = (0..<64).map { _ in Float(rng.normal() * 0.05) }
    let r = try quantize(x, rows: 1, .int4(groupSize: 64, symmetric: false, scales: .plain, search: false))
    let lo = Double(x.min()!), hi = Double(x.max()!)
    let s = halfToDouble(f16Bits(r.payload, 32)), m = halfToDouble(f16Bits(r.payload, 34))
    #expect(s == Double(Float16(Float((hi - lo) / 15))) && m == Double(Float16(Float(lo))))
    for i in 0..<64 {
      let nibble = Double(i % 2 == 0 ? r.payload[i / 2] & 0x0F : r.payload[i / 2] >> 4)
      #expect(abs(nibble - ((Double(x[i]) - m) / s).rounded()) <= 1e-9 || abs((Double(x[i]) - m) / s - nibble) <= 0.5 + 1e-6)
      #expect(r.dequantized[i] == Float(nibble) * Float(s) + Float(m))
    }
  }

  @Test func q6DequantizationFollowsTheSpecBitStream() throws {
    var rng = SplitMix64(seed: 9)
    let x = (0..<(2 * 96)).map { _ in Float(rng.normal()) }  // rows of 96: three groups, super-block = row
    let r = try quantize(x, rows: 2, .int4(groupSize: 32, symmetric: false, scales: .q6, search: true))
    #expect((r.layout as? Int4GroupCodec)?.superBlock == 96)
    // Sections: 96 code bytes, ceil(12·6/8) = 9 stream bytes, 2 d, 2 dmin.
    #expect(r.payload.count == 96 + 9 + 4 + 4)
    for i in 0..<x.count {
      let gi = i / 32, sb = i / 96
      let bit = 12 * gi
      var entry = 0
      for b in 0..<12 { entry |= Int((r.payload[96 + (bit + b) / 8] >> ((bit + b) % 8)) & 1) << b }
      let d = Float(halfToDouble(f16Bits(r.payload, 96 + 9 + 2 * sb)))
      let dmin = Float(halfToDouble(f16Bits(r.payload, 96 + 9 + 4 + 2 * sb)))
      let q = Float(i % 2 == 0 ? r.payload[i / 2] & 0x0F : r.payload[i / 2] >> 4)
      let s = Float(entry & 63) * d, m = Float(entry >> 6) * dmin
      #expect(r.dequantized[i] == s * q - m, "element \(i)")
    }
    #expect(r.metrics.sqnrDB > 17)
  }

  @Test func valuesOnTheGridAreUnchanged() throws {
    // int8 per channel: multiples of 0.01 with ±127 present.
    let a = (0..<64).map { Float(($0 * 37) % 255 - 127) * 0.01 }
    let ra = try quantize(a, rows: 2, .int8Channel())
    #expect(ra.dequantized == a.map { Float(Int(($0 / 0.01).rounded())) * 0.01 } || ra.metrics.sqnrDB > 120)
    // int4 symmetric: (q − 8)·0.25 with −8 present in each group; the search keeps it exact.
    let b = (0..<64).map { Float(($0 * 5) % 16 - 8) * 0.25 }
    let rb = try quantize(b, rows: 1, .int4(groupSize: 32, symmetric: true, scales: .plain, search: true))
    #expect(rb.dequantized == b)
    #expect(rb.metrics.sumE2 == 0 && rb.metrics.sqnrDB == .infinity)
    // int4 asymmetric f16: q·0.125 − 0.5.
    let c = (0..<32).map { Float(($0 * 7) % 16) * 0.125 - 0.5 }
    let rc = try quantize(c, rows: 1, .int4(groupSize: 32, symmetric: false, scales: .plain, search: true))
    #expect(rc.dequantized == c)
  }

  @Test(arguments: [QuantScheme.int8Channel(), .int8Block(), .int4(groupSize: 32, symmetric: true, scales: .plain), .int4(), .int4(scales: .q6), .int4(groupSize: 128, scales: .plain)])
  func zeroAndConstantGroups(_ scheme: QuantScheme) throws {
    let zeros = [Float](repeating: 0, count: 256)
    let rz = try quantize(zeros, rows: 1, scheme)
    #expect(rz.dequantized == zeros)
    let constant = [Float](repeating: 0.3, count: 256)
    let rc = try quantize(constant, rows: 1, scheme)
    for v in rc.dequantized { #expect(v.isFinite && abs(v - 0.3) < 0.3 * 0.01, "\(scheme.name): \(v)") }
  }

  @Test func nonFiniteInputNamesTheTensor() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var w = [Float](repeating: 0.1, count: 64)
    w[40] = .nan
    try writeSafetensorsF32(tmp.file("nan.safetensors"), [("layer.weight", [2, 32], w)])
    #expect {
      _ = try QuantizeAction(sources: [tmp.file("nan.safetensors")], output: tmp.file("q.ingot"), scheme: .int8Channel()).run()
    } throws: { "\($0)".contains("layer.weight") && "\($0)".contains("NaN") }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("q.ingot")))
  }

  /// What cannot take the scheme is listed as kept, with the reason; nothing
  /// is silently downgraded; already-quantized input is refused.
  @Test func policyKeepsWhatCannotBeQuantizedAndSaysWhy() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 1)
    func r(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.normal() * 0.02) } }
    try writeSafetensorsF32(tmp.file("m.safetensors"), [
      ("model.embed_tokens.weight", [8, 64], r(512)), ("lm_head.weight", [8, 64], r(512)),
      ("layers.0.mlp.weight", [4, 64], r(256)), ("layers.0.odd.weight", [4, 33], r(132)),
      ("layers.0.short.weight", [4, 16], r(64)), ("layers.0.norm.weight", [64], r(64)),
      ("layers.1.mlp.weight", [4, 64], r(256)),
    ])
    let out = try QuantizeAction(
      sources: [tmp.file("m.safetensors")], output: tmp.file("q.ingot"), scheme: .int4(),
      policy: QuantPolicy(keepPatterns: ["layers.1.*"])).run()
    let report = QuantizeAction.report(out)
    let quantized = Set((report["tensors"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
    #expect(quantized == ["layers.0.mlp.weight"])
    let kept = Dictionary(uniqueKeysWithValues: (report["kept"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "") })
    #expect(kept["layers.0.odd.weight"]?.contains("33 is not a multiple") == true)
    #expect(kept["layers.0.short.weight"]?.contains("16 is not a multiple") == true)
    #expect(kept["layers.0.norm.weight"]?.contains("rank 1") == true)
    #expect(kept["model.embed_tokens.weight"]?.contains("embedding") == true)
    #expect(kept["lm_head.weight"]?.contains("output head") == true)
    #expect(kept["layers.1.mlp.weight"]?.contains("--keep") == true)
    let reader = try ContainerReader(path: tmp.file("q.ingot"))
    #expect(reader.header.requiredFeatures == ["int4_group"])
    #expect(reader.header.tensors.first { $0.name == "layers.0.odd.weight" }?.encoding == .raw)

    // Quantizing the quantized file again is refused, naming the tensor.
    #expect {
      _ = try QuantizeAction(sources: [tmp.file("q.ingot")], output: tmp.file("qq.ingot"), scheme: .int8Channel()).run()
    } throws: { "\($0)".contains("layers.0.mlp.weight") && "\($0)".contains("already quantized") }

    // With --embeddings quantize and --output-head quantize they are quantized too.
    let all = try QuantizeAction(
      sources: [tmp.file("m.safetensors")], output: tmp.file("q2.ingot"), scheme: .int8Block(),
      policy: QuantPolicy(quantizeEmbeddings: true, quantizeOutputHead: true)).run()
    let names = Set((QuantizeAction.report(all)["tensors"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
    #expect(names.isSuperset(of: ["model.embed_tokens.weight", "lm_head.weight", "layers.1.mlp.weight"]))
  }

  /// The report is checkable: recomputing SQNR and friends from the original
  /// values and the exported (dequantized) safetensors gives the same numbers.
  @Test(arguments: [QuantScheme.int8Channel(), .int8Block(), .int4(), .int4(scales: .q6), .int4(groupSize: 64, symmetric: true, scales: .plain)])
  func reportMatchesIndependentRecomputation(_ scheme: QuantScheme) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 5)
    let w = (0..<(48 * 256)).map { _ in Float(rng.normal() * 0.04) }
    try writeSafetensorsF32(tmp.file("m.safetensors"), [("block.weight", [48, 256], w)])
    _ = try ConvertAction(sources: [tmp.file("m.safetensors")], output: tmp.file("m.ingot")).run()
    let out = try QuantizeAction(sources: [tmp.file("m.ingot")], output: tmp.file("q.ingot"), scheme: scheme).run()
    let t = try #require(QuantizeAction.report(out)["tensors"]?.arrayValue?.first)
    _ = try ExportAction(input: tmp.file("q.ingot"), output: tmp.file("x.safetensors")).run()
    let exported = try SafetensorsFile(path: tmp.file("x.safetensors"))
    let e = try #require(exported.entries.first)
    let raw = try #require(exported.mapped.bytes(e.range))
    let y = try #require(decodeValues([UInt8](raw), dtype: .f32))
    var sx2 = 0.0, se2 = 0.0, sxy = 0.0, sy2 = 0.0, mx = 0.0
    for (v, b) in zip(w, y) {
      let a = Double(v)
      sx2 += a * a
      se2 += (a - b) * (a - b)
      sxy += a * b
      sy2 += b * b
      mx = max(mx, abs(a - b))
    }
    let sqnr = 10 * log10(sx2 / se2)
    #expect(abs((t["sqnr_db"]?.doubleValue ?? 0) - sqnr) < 0.01)
    #expect(abs((t["mse"]?.doubleValue ?? 0) / (se2 / Double(w.count)) - 1) < 1e-9)
    #expect(t["max_abs_error"]?.doubleValue == mx)
    #expect(abs((t["cosine"]?.doubleValue ?? 0) - sxy / (sx2.squareRoot() * sy2.squareRoot())) < 1e-12)
    #expect(abs((t["relative_error"]?.doubleValue ?? 0) - (se2 / sx2).squareRoot()) < 1e-12)

    // The provenance step records scheme, parameters and the same numbers,
    // and chains to the input's model digest.
    let q = try ContainerReader(path: tmp.file("q.ingot"))
    let m = try ContainerReader(path: tmp.file("m.ingot"))
    let step = try #require(q.provenance.last)
    #expect(step.operation == "quantize")
    #expect(step.parameters["scheme"] == .string(scheme.name))
    #expect(step.inputModelDigest == m.header.modelDigest)
    #expect(step.metrics["quantize"]?["tensors"]?.arrayValue?.first == t)
    #expect(try VerifyAction(path: tmp.file("q.ingot")).run().ok)
  }

  /// `convert --quantize` is one pass with the same result as convert, then quantize.
  @Test func convertWithQuantizeEqualsTwoSteps() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let folder = Fixtures.path("safetensors/sharded-llama")
    var one = ConvertAction(sources: [folder], output: tmp.file("one.ingot"))
    one.quantize = .int4()
    let direct = try one.run()
    _ = try ConvertAction(sources: [folder], output: tmp.file("a.ingot")).run()
    let twoStep = try QuantizeAction(sources: [tmp.file("a.ingot")], output: tmp.file("two.ingot"), scheme: .int4()).run()
    #expect(direct.header.tensors.map(\.digest) == twoStep.header.tensors.map(\.digest))
    #expect(direct.header.modelDigest == twoStep.header.modelDigest)
    #expect(direct.header.provenance.count == 1 && twoStep.header.provenance.count == 2)
    #expect(direct.metrics["quantize"]?["tensors"] == twoStep.metrics["quantize"]?["tensors"])
  }

  @Test func quantizationIsDeterministic() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 8)
    try writeSafetensorsF32(tmp.file("m.safetensors"), [("a.weight", [300, 512], (0..<(300 * 512)).map { _ in Float(rng.normal()) })])
    for (i, scheme) in [QuantScheme.int4(), .int4(scales: .q6), .int8Block()].enumerated() {
      _ = try QuantizeAction(sources: [tmp.file("m.safetensors")], output: tmp.file("\(i)a.ingot"), scheme: scheme).run()
      _ = try QuantizeAction(sources: [tmp.file("m.safetensors")], output: tmp.file("\(i)b.ingot"), scheme: scheme).run()
      #expect(try readFile(tmp.file("\(i)a.ingot")) == readFile(tmp.file("\(i)b.ingot")))
    }
  }
}

/// The default search against llama.cpp's reference quantizers (gguf-py's
/// ports, values made by tools/make_quant_floor.py and committed), on four
/// weight-like matrices: each of our layouts that matches a ggml one bit for
/// bit in size must beat it by a margin on every matrix. Plain rounding
/// (`--no-search`) reproduces the reference to ±0.001 dB, so a weaker
/// search fails here even without downloaded models.
@Suite struct QuantizationFloorTests {
  static let floors: [(scheme: QuantScheme, reference: String, everyMatrix: Double, mean: Double)] = [
    (.int8Block(), "Q8_0", 0.02, 0.10),
    (.int4(groupSize: 32, symmetric: true, scales: .plain), "Q4_0", 0.10, 0.30),
    (.int4(), "Q4_1", 0.30, 0.60),
  ]

  @Test(arguments: floors.indices)
  func defaultSearchBeatsLlamaCppReferenceQuantizers(_ k: Int) throws {
    let (scheme, reference, everyMatrix, mean) = Self.floors[k]
    let table = try JSONParser.parse(readFile(Fixtures.path("quant/reference_sqnr.json")))
    guard let matrices = table["sqnr_db"]?.objectValue, matrices.count == 4 else { Issue.record("no reference values"); return }
    var gains: [Double] = []
    for (name, refs) in matrices.sorted(by: { $0.key < $1.key }) {
      let npy = try Npy(path: Fixtures.path("quant/\(name).npy"))
      let values = npy.values.map { Float($0) }
      let codec = try scheme.layout(dtype: .f32, shape: npy.shape).get()
      var payload = [UInt8](repeating: 0, count: codec.payloadLength)
      let m = try values.withUnsafeBufferPointer { v in
        try payload.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: codec, search: scheme.search, logical: .f32, name: name, into: $0) }
      }
      let ref = try #require(refs[reference]?.doubleValue)
      gains.append(m.sqnrDB - ref)
      #expect(m.sqnrDB >= ref + everyMatrix, "\(scheme.name) on \(name): \(m.sqnrDB) dB, \(reference) \(ref) dB")
    }
    let average = gains.reduce(0, +) / Double(gains.count)
    #expect(average >= mean, "\(scheme.name): mean gain \(average) dB over \(reference)")
  }
}
