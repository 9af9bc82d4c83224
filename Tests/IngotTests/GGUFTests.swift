import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotRuntime
import IngotTestSupport
import Testing

/// GGUF import against gguf-py's dequantized values (fixtures/gguf).
@Suite struct GGUFTests {
  @Test func everyTypeMatchesGGUFPyBitForBit() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try convertFixture("gguf/all_types.gguf", into: tmp, as: "g.ingot")
    let weights = Weights(r)
    let manifest = try #require(try Fixtures.manifest()["fixtures"]?["gguf/all_types.gguf"])
    let expected = try #require(manifest["tensors"]?.objectValue)
    #expect(r.header.tensors.count == expected.count)
    for (i, t) in r.header.tensors.enumerated() {
      let want = try #require(expected[t.name], "\(t.name) not in the manifest")
      #expect(t.shape == want["shape_numpy_order"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(t.name) shape")
      let npy = try Npy(path: Fixtures.path(try #require(want["dequantized_f32"]?.stringValue)))
      // Compare as f32 bit patterns: "bit for bit" (blocks through the ggml codec).
      let values = t.encoding.isRaw ? try #require(decodeValues(try r.withPayload(i) { [UInt8]($0) }, dtype: t.dtype)).map { Float($0) } : try weights.load(t.name)
      #expect(values.map(\.bitPattern) == npy.values.map { Float($0).bitPattern }, "\(t.name)")
    }
    #expect(r.header.tensors.first { $0.name == "f16" }?.dtype == .f16)
    #expect(r.header.tensors.first { $0.name == "bf16" }?.dtype == .bf16)
    #expect(r.header.tensors.first { $0.name == "q4_k" }?.dtype == .f32)
    // Metadata, including arrays and a u64 beyond 2^32.
    #expect(r.metadata["gguf/general.architecture"] == "llama")
    #expect(r.metadata["gguf/fixture.big"] == "1099511627776")
    #expect(r.metadata["gguf/tokenizer.ggml.tokens"] == #"["<s>","</s>","a","b"]"#)
    #expect(r.provenance.first?.inputs.first?.format == "gguf")
  }

  @Test(arguments: [
    ("bad_magic.gguf", "unknown format"),
    ("kv_count_huge.gguf", "kv_count"),
    ("tensor_count_huge.gguf", "tensor_count"),
    ("truncated.gguf", "runs past the end"),
    ("version_99.gguf", "version 99"),
  ])
  func badFilesAreRefused(_ name: String, _ reason: String) throws {
    let r = try run(ingotBinary(), ["inspect", Fixtures.path("gguf/bad/\(name)")])
    #expect(r.status == 1)
    #expect(r.stderr.contains(reason) && r.stderr.contains(name), "\(r.stderr)")
  }

  /// Hand-built files for the refusals no fixture covers.
  @Test func unknownTypesNestedArraysAndBadAlignmentAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    func gguf(kvs: [[UInt8]], tensors: [(String, [UInt64], UInt32)]) -> [UInt8] {
      var b = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(tensors.count)) + le(UInt64(kvs.count))
      for kv in kvs { b += kv }
      for (name, dims, type) in tensors { b += str(name) + le(UInt32(dims.count)) + dims.flatMap { le($0) } + le(type) + le(UInt64(0)) }
      while b.count % 32 != 0 { b.append(0) }
      return b + [UInt8](repeating: 0, count: 256)
    }
    let cases: [([UInt8], @Sendable (GGUFError) -> Bool)] = [
      (gguf(kvs: [], tensors: [("w", [32], 99)]), { if case .unknownType(_, "w", 99) = $0 { true } else { false } }),
      (gguf(kvs: [str("a") + le(UInt32(9)) + le(UInt32(9)) + le(UInt64(1))], tensors: []), { if case .nestedArray = $0 { true } else { false } }),
      (gguf(kvs: [str("general.alignment") + le(UInt32(4)) + le(UInt32(48))], tensors: []), { if case .badKey(_, "general.alignment", _) = $0 { true } else { false } }),
      (gguf(kvs: [str("a") + le(UInt32(9)) + le(UInt32(0)) + le(UInt64(1) << 40)], tensors: []), { if case .limit(_, _, _, Limits.maxMetadataArrayLength) = $0 { true } else { false } }),
      (gguf(kvs: [str("a") + le(UInt32(9)) + le(UInt32(0)) + le(UInt64(1) << 20)], tensors: []), { if case .truncated = $0 { true } else { false } }),
      (gguf(kvs: [], tensors: [("w", [33], 8)]), { if case .partialBlocks(_, "w", _, _) = $0 { true } else { false } }),
      (gguf(kvs: [str("a") + le(UInt32(4)) + le(UInt32(1)), str("a") + le(UInt32(4)) + le(UInt32(2))], tensors: []), { if case .duplicateKey(_, "a", _) = $0 { true } else { false } }),
    ]
    for (bytes, matches) in cases {
      try writeFile(tmp.file("x.gguf"), bytes)
      #expect { _ = try GGUFSource(path: tmp.file("x.gguf")) } throws: { ($0 as? GGUFError).map(matches) ?? false }
    }
  }

  /// The tiny Llama fixture written to GGUF the way llama.cpp's converter
  /// writes it: its tensor names, its `llama.*` keys and no config.json,
  /// f32 tensors, q/k rows permuted with the converter's
  /// `reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2)`.
  static func writeLlamaGGUF(_ path: String, _ tmp: TempDir, extraKeys: [[UInt8]] = [], q8: Bool = false) throws {
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    func u32(_ k: String, _ v: UInt32) -> [UInt8] { str(k) + le(UInt32(4)) + le(v) }
    func f32(_ k: String, _ v: Float) -> [UInt8] { str(k) + le(UInt32(6)) + le(v.bitPattern) }
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-llama")], output: tmp.file("hf.ingot"), force: true).run()
    let hf = try ContainerReader(path: tmp.file("hf.ingot"))
    let global = ["model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"]
    let perLayer = ["input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                    "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
                    "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"]
    var infos: [UInt8] = [], data: [UInt8] = []
    for (i, t) in hf.header.tensors.enumerated() {
      var bytes = try hf.withPayload(i) { [UInt8]($0) }
      let parts = t.name.split(separator: ".").map(String.init)
      let name = global[t.name] ?? "blk.\(parts[2]).\(perLayer[parts[3..<(parts.count - 1)].joined(separator: ".")]!).weight"
      let heads = t.name.hasSuffix("q_proj.weight") ? 4 : t.name.hasSuffix("k_proj.weight") ? 2 : 0
      if heads > 0 {
        let rows = t.shape[0], rowBytes = bytes.count / rows, half = rows / heads / 2
        var permuted = bytes
        for h in 0..<heads { for a in 0..<half { for b in 0..<2 {
          // out[h, a, b] = in[h, b, a]
          let to = (h * half + a) * 2 + b, from = (h * 2 + b) * half + a
          permuted[(to * rowBytes)..<((to + 1) * rowBytes)] = bytes[(from * rowBytes)..<((from + 1) * rowBytes)]
        } } }
        bytes = permuted
      }
      var type: UInt32 = 0
      if q8 && t.shape.count == 2 {
        // Q8_0 as ggml's reference quantizer writes it: per 32 values an f16
        // d = max|x| / 127, then round(x / d) as int8.
        let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var blocks: [UInt8] = []
        for start in stride(from: 0, to: values.count, by: 32) {
          let block = values[start..<(start + 32)]
          let d = (block.map { abs($0) }.max() ?? 0) / 127
          let inverse: Float = d == 0 ? 0 : 1 / d
          blocks += le(Float16(d).bitPattern) + block.map { UInt8(bitPattern: Int8(($0 * inverse).rounded())) }
        }
        bytes = blocks
        type = 8
      }
      infos += str(name) + le(UInt32(t.shape.count)) + t.shape.reversed().flatMap { le(UInt64($0)) } + le(type) + le(UInt64(data.count))
      data += bytes
      while data.count % 32 != 0 { data.append(0) }
    }
    let kvs = [str("general.architecture") + le(UInt32(8)) + str("llama"),
               u32("llama.context_length", 128), u32("llama.embedding_length", 64), u32("llama.block_count", 2),
               u32("llama.feed_forward_length", 160), u32("llama.attention.head_count", 4), u32("llama.attention.head_count_kv", 2),
               f32("llama.attention.layer_norm_rms_epsilon", 1e-5), f32("llama.rope.freq_base", 10000),
               u32("llama.rope.dimension_count", 16)] + extraKeys
    var file = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(hf.header.tensors.count)) + le(UInt64(kvs.count)) + kvs.flatMap { $0 } + infos
    while file.count % 32 != 0 { file.append(0) }
    try writeFile(path, file + data)
  }

  @Test func ggufBornLlamaRunsAndMatchesTransformers() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    try Self.writeLlamaGGUF(tmp.file("l.gguf"), tmp)
    _ = try ConvertAction(sources: [tmp.file("l.gguf")], output: tmp.file("g.ingot")).run()
    let tokens = try Npy(path: Fixtures.path("models/tiny-llama/input_ids.npy")).values.map { Int($0) }
    let want = try Npy(path: Fixtures.path("models/tiny-llama/expected_logits.npy"))
    let out = try ForwardAction(input: tmp.file("g.ingot"), tokens: tokens).run()
    #expect(out.dim == 320 && out.values.count == want.values.count)
    let diff = zip(out.values, want.values).reduce(0.0) { max($0, abs(Double($1.0) - $1.1)) }
    #expect(diff <= 1e-4, "GGUF-born tiny Llama: max abs diff \(diff) against transformers")
    // The same model from either format: validate sees no difference at all.
    let v = try ValidateAction(base: tmp.file("hf.ingot"), candidate: tmp.file("g.ingot")).run()
    #expect(v.passed && v.metrics["kld_max"] == 0 && v.metrics["top1_agreement_pct"] == 100)

    // What the translation does not implement is refused by name.
    var byGGUFNames = ConvertAction(sources: [tmp.file("l.gguf")], output: tmp.file("n.ingot"))
    byGGUFNames.ggufNames = .gguf
    _ = try byGGUFNames.run()
    #expect { _ = try ForwardAction(input: tmp.file("n.ingot"), tokens: [1]).run() } throws: { "\($0)".contains("--names hf") }
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    try Self.writeLlamaGGUF(tmp.file("y.gguf"), tmp, extraKeys: [str("llama.rope.scaling.type") + le(UInt32(8)) + str("longrope")])
    _ = try ConvertAction(sources: [tmp.file("y.gguf")], output: tmp.file("y.ingot")).run()
    #expect { _ = try ForwardAction(input: tmp.file("y.ingot"), tokens: [1]).run() } throws: { error in
      guard case .inFile(_, .config(.unsupported("llama.rope.scaling.type", "longrope", _)))? = error as? RuntimeError else { return false }
      return true
    }
  }

  /// Native by default: every block type stays in ggml's bytes (the
  /// `ggml` encoding), its digest the SHA-256 of the GGUF tensor data;
  /// `--gguf-quant dequantize` gives f32 of the same values.
  @Test func blocksKeptNativeAreTheGGUFBytes() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("gguf/all_types.gguf")], output: tmp.file("n.ingot")).run()
    var deq = ConvertAction(sources: [Fixtures.path("gguf/all_types.gguf")], output: tmp.file("d.ingot"))
    deq.ggufNative = false
    _ = try deq.run()
    let r = try ContainerReader(path: tmp.file("n.ingot")), d = try ContainerReader(path: tmp.file("d.ingot"))
    let gguf = try GGUFFile(path: Fixtures.path("gguf/all_types.gguf"))
    for info in gguf.tensors where info.type.isBlock && info.shape.count == 2 {
      let t = try #require(r.header.tensors.first { $0.name == info.name })
      #expect(t.encoding.kind == "ggml" && t.encoding.parameters["type"]?.stringValue == info.type.description && t.dtype == .f32)
      let bytes = try #require(gguf.mapped.bytes(info.range))
      #expect(t.digest == Digest.sha256Hex(bytes), "\(info.name): the digest is the GGUF bytes'")
      #expect(try Weights(r).load(info.name).map(\.bitPattern) == Weights(d).load(info.name).map(\.bitPattern), "\(info.name)")
      #expect(d.header.tensors.first { $0.name == info.name }?.encoding.isRaw == true)
    }
    #expect(r.provenance.last?.parameters["gguf_quant"] == "native")
    #expect(d.provenance.last?.parameters["gguf_quant"] == "dequantize")
    #expect(try VerifyAction(path: tmp.file("n.ingot")).run().ok)
  }

  /// Native Q8_0 q/k rows are un-permuted like dequantized ones: both
  /// conversions of a Q8_0 tiny Llama hold the same values, and the model runs.
  @Test func nativeQ8LlamaIsUnpermutedAndRuns() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    try Self.writeLlamaGGUF(tmp.file("q8.gguf"), tmp, q8: true)
    var deq = ConvertAction(sources: [tmp.file("q8.gguf")], output: tmp.file("f.ingot"))
    deq.ggufNative = false
    _ = try deq.run()
    _ = try ConvertAction(sources: [tmp.file("q8.gguf")], output: tmp.file("n.ingot")).run()
    let f = Weights(try ContainerReader(path: tmp.file("f.ingot"))), n = Weights(try ContainerReader(path: tmp.file("n.ingot")))
    let q = try #require(n.source.tensors.first { $0.name == "model.layers.0.self_attn.q_proj.weight" })
    #expect(q.encoding.kind == "ggml")
    for t in f.source.tensors { #expect(try f.load(t.name) == n.load(t.name), "\(t.name)") }
    let tokens = try Npy(path: Fixtures.path("models/tiny-llama/input_ids.npy")).values.map { Int($0) }
    let want = try Npy(path: Fixtures.path("models/tiny-llama/expected_logits.npy"))
    let out = try ForwardAction(input: tmp.file("n.ingot"), tokens: tokens).run()
    let diff = zip(out.values, want.values).reduce(0.0) { max($0, abs(Double($1.0) - $1.1)) }
    // Q8_0 moves the logits a little; a wrong row order would move them a lot.
    #expect(diff < 0.05, "Q8_0 tiny Llama: max abs diff \(diff)")
  }
}
