import Foundation
import IngotArchitectures
import IngotCommands
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotQuant
import IngotRuntime
import IngotTestSupport
import Testing

/// ggml block types as container encodings, the quantizers that write
/// them, and GGUF export, against ggml's own C quantizers and gguf-py's
/// values (tools/make_ggml_fixtures.py); llama.cpp itself loads the exports
/// in tools/gguf_check.py.
@Suite struct GGMLTests {
  static let schemes = ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"]

  /// Every ggml quantizer reaches ggml's own SQNR on each of the four
  /// weight-like matrices, less 0.1 dB, and beats it on average.
  @Test(arguments: schemes)
  func quantizerMatchesOrBeatsGGML(_ family: String) throws {
    let table = try JSONParser.parse(readFile(Fixtures.path("quant/ggml_sqnr.json")))
    let matrices = try #require(table["sqnr_db"]?.objectValue)
    let scheme = try QuantScheme(family: family, options: QuantOptions(), search: true)
    var gains: [Double] = []
    for (name, refs) in matrices.sorted(by: { $0.key < $1.key }) {
      let npy = try Npy(path: Fixtures.path("quant/\(name).npy"))
      let values = npy.values.map { Float($0) }
      let codec = try scheme.layout(dtype: .f32, shape: npy.shape).get()
      #expect(codec.kind == "ggml" && codec.parameters["type"]?.stringValue == family.uppercased().replacingOccurrences(of: "_K", with: "_K"))
      var payload = [UInt8](repeating: 0, count: codec.payloadLength)
      let m = try values.withUnsafeBufferPointer { v in
        try payload.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: codec, search: true, logical: .f32, name: name, into: $0) }
      }
      let ref = try #require(refs[family]?.doubleValue)
      gains.append(m.sqnrDB - ref)
      #expect(m.sqnrDB >= ref - 0.1, "\(family) on \(name): \(m.sqnrDB) dB, ggml \(ref) dB")
    }
    let mean = gains.reduce(0, +) / Double(gains.count)
    #expect(mean >= 0, "\(family): mean gain \(mean) dB over ggml")
  }

  /// ggml's IQ4_NL and IQ4_XS blocks dequantize to gguf-py's values, bit for bit.
  @Test(arguments: ["iq4_nl", "iq4_xs"])
  func iq4DequantizesAsGGUFPy(_ name: String) throws {
    let blocks = try readFile(Fixtures.path("gguf/\(name)_blocks.bin"))
    let want = try Npy(path: Fixtures.path("gguf/\(name)_dequantized.npy"))
    let codec = try #require(try QuantCodecs.layout(Encoding(kind: "ggml", parameters: ["type": .string(name.uppercased())]), dtype: .f32, shape: want.shape))
    #expect(codec.payloadLength == blocks.count)
    var out = [Float](repeating: 0, count: want.values.count)
    blocks.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { Dequantizer.dequantize(p, codec: codec, into: $0.baseAddress!) } }
    #expect(out.map(\.bitPattern) == want.values.map { Float($0).bitPattern })
  }

  /// Header parameters are checked: an unknown type, a plain float as a
  /// block type, extra keys and rows that are not whole blocks are refused.
  @Test func ggmlParametersAreChecked() {
    func layout(_ p: [String: JSONValue], _ shape: [Int]) -> LayoutError? {
      do { _ = try QuantCodecs.layout(Encoding(kind: "ggml", parameters: p), dtype: .f32, shape: shape); return nil } catch { return error as? LayoutError }
    }
    #expect(layout(["type": "Q9_K"], [2, 256]) == .badParameter(kind: "ggml", key: "type", allowed: "a ggml block type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS)"))
    if case .badParameter? = layout(["type": "F32"], [2, 256]) {} else { Issue.record("F32 is not a block type") }
    #expect(layout(["type": "Q4_K", "extra": 1], [2, 256]) == .unknownParameter(kind: "ggml", key: "extra"))
    #expect(layout(["type": "Q4_K"], [2, 384]) == .rowLength(kind: "ggml Q4_K", cols: 384, multipleOf: 256))
    #expect(layout(["type": "Q4_K"], [2, 512]) == nil)
  }

  /// A GGUF-born container exports back to the same tensors, bytes and keys
  /// (with their wire types), plus the ingot.* keys.
  @Test func gguf_roundTripKeepsBytesAndKeys() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let src = Fixtures.path("gguf/all_types.gguf")
    _ = try ConvertAction(sources: [src], output: tmp.file("a.ingot")).run()
    let out = try ExportAction(input: tmp.file("a.ingot"), output: tmp.file("a.gguf"), format: "gguf").run()
    #expect(out.tensors == 14)
    let a = try GGUFFile(path: src), b = try GGUFFile(path: tmp.file("a.gguf"))
    for t in a.tensors {
      let u = try #require(b.tensors.first { $0.name == t.name })
      #expect(u.type == t.type && u.shape == t.shape && a.mapped.bytes(t.range).map { Array($0) } == b.mapped.bytes(u.range).map { Array($0) }, "\(t.name)")
    }
    let keysA = a.types.map { "\($0.key) \($0.type) \($0.element ?? 99)" }, keysB = b.types.map { "\($0.key) \($0.type) \($0.element ?? 99)" }
    #expect(keysB == keysA + ["ingot.model_digest 8 99", "ingot.provenance_head 8 99"])
    for (k, v) in a.metadata { #expect(b.metadata.first { $0.key == k }?.value == v, "\(k)") }
    let digest = try ContainerReader(path: tmp.file("a.ingot")).header.modelDigest
    #expect(b.metadata.first { $0.key == "ingot.model_digest" }?.value == .string(digest))
  }

  /// A Hugging Face llama exports under llama.cpp's names with q/k rows in
  /// its order, Llama 3's rope factors derived, and the config's keys.
  @Test func hfLlamaExportMatchesTheConverter() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    _ = try ExportAction(input: tmp.file("l.ingot"), output: tmp.file("l.gguf"), format: "gguf").run()
    let ours = try GGUFFile(path: tmp.file("l.gguf")), theirs = try GGUFFile(path: Fixtures.path("arch/llama3/model.gguf"))
    #expect(Set(ours.tensors.map(\.name)) == Set(theirs.tensors.map(\.name)))
    for t in theirs.tensors where t.name != "rope_freqs.weight" {
      let u = try #require(ours.tensors.first { $0.name == t.name })
      #expect(ours.mapped.bytes(u.range).map { Array($0) } == theirs.mapped.bytes(t.range).map { Array($0) }, "\(t.name): llama.cpp's converter's bytes")
    }
    for key in ["llama.block_count", "llama.embedding_length", "llama.attention.head_count_kv", "llama.rope.freq_base", "tokenizer.ggml.pre", "tokenizer.ggml.merges"] {
      #expect(ours.metadata.first { $0.key == key }?.value == theirs.metadata.first { $0.key == key }?.value, "\(key)")
      #expect(ours.types.first { $0.key == key }?.type == theirs.types.first { $0.key == key }?.type, "\(key): wire type")
    }
  }

  /// What has no exact GGUF form is refused by tensor name, and no file is
  /// left; --dtype writes it as a float.
  @Test func noGGUFFormIsRefusedByName() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("q6.ingot"), scheme: .int4(scales: .q6)).run()
    #expect {
      try ExportAction(input: tmp.file("q6.ingot"), output: tmp.file("q6.gguf"), format: "gguf").run()
    } throws: { e in
      guard case GGUFError.noGGUFForm(let tensor, _) = e else { return false }
      return tensor.hasPrefix("model.layers.") && tensor.hasSuffix(".weight")
    }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("q6.gguf")))
    _ = try ExportAction(input: tmp.file("q6.ingot"), output: tmp.file("f16.gguf"), format: "gguf", dtype: .f16).run()
    let f = try GGUFFile(path: tmp.file("f16.gguf"))
    #expect(f.tensors.first { $0.name == "blk.0.attn_q.weight" }?.type == .f16)
  }

  /// Our int8_block and int4_group g32 are Q8_0, Q4_0 and Q4_1 on export:
  /// gguf's blocks dequantize to the container's values bit for bit.
  @Test(arguments: [(QuantScheme.int8Block(), GGMLType.q8_0), (.int4(symmetric: true), .q4_0), (.int4(), .q4_1)])
  func containerEncodingsBecomeGGMLTypes(_ scheme: QuantScheme, _ type: GGMLType) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/qwen2")], output: tmp.file("q.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("q.ingot")], output: tmp.file("s.ingot"), scheme: scheme).run()
    _ = try ExportAction(input: tmp.file("s.ingot"), output: tmp.file("s.gguf"), format: "gguf").run()
    let g = try GGUFFile(path: tmp.file("s.gguf"))
    let t = try #require(g.tensors.first { $0.name == "blk.0.ffn_down.weight" })
    #expect(t.type == type)
    let raw = try #require(g.mapped.bytes(t.range))
    var values = [Float](repeating: 0, count: t.shape[0] * t.shape[1])
    values.withUnsafeMutableBufferPointer { GGMLDequant.dequantize(type, raw, count: $0.count, into: $0.baseAddress!) }
    let want = try Weights(try ContainerReader(path: tmp.file("s.ingot"))).load("model.layers.0.mlp.down_proj.weight")
    #expect(values.map(\.bitPattern) == want.map(\.bitPattern))
  }

  /// q4_k_m on 64-wide rows: every k-quant falls back as llama.cpp's
  /// does, and the report names each fallback with its reason.
  @Test func recipeFallbacksAreNamed() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: tmp.file("l.ingot")).run()
    var action = QuantizeAction(sources: [tmp.file("l.ingot")], output: tmp.file("m.ingot"), scheme: try QuantScheme(family: "q4_k", options: QuantOptions(), search: true))
    action.recipe = QuantRecipe.named("q4_k_m")
    let report = QuantizeAction.report(try action.run())
    let rows = report["tensors"]?.arrayValue ?? []
    func row(_ n: String) -> JSONValue? { rows.first { $0["name"]?.stringValue == n } }
    #expect(row("model.layers.0.self_attn.q_proj.weight")?["scheme"]?.stringValue == "Q5_0")
    // Two layers: layer 1 is in the last eighth (Q6_K → Q8_0), layer 0 is not.
    #expect(row("model.layers.1.self_attn.v_proj.weight")?["scheme"]?.stringValue == "Q8_0")
    #expect(row("model.layers.0.self_attn.v_proj.weight")?["scheme"]?.stringValue == "Q5_0")
    #expect(row("model.layers.0.self_attn.q_proj.weight")?["fallback"]?.stringValue?.contains("row length 64") == true)
    #expect(row("lm_head.weight")?["scheme"]?.stringValue == "Q8_0")
    #expect(row("model.embed_tokens.weight")?["scheme"]?.stringValue == "Q5_0")
  }
}
