import Foundation
import IngotCommands
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotQuant
import IngotTestSupport
import Testing

/// Issue 17: MLX in and out. The references are MLX's own outputs, written by
/// tools/make_mlx_fixtures.py into Fixtures/mlx/ (mx.quantize and
/// mx.dequantize for every width, group and scale dtype; an mlx_lm.convert
/// folder; mlx-lm's mixed recipes). tools/mlx_check.py runs mlx-lm itself.
@Suite struct MLXTests {
  /// A safetensors file's tensors by name: dtype, shape and bytes.
  static func tensors(_ path: String) throws -> [String: (dtype: DType, shape: [Int], bytes: [UInt8])] {
    let file = try SafetensorsFile(path: path)
    var out: [String: (DType, [Int], [UInt8])] = [:]
    for e in file.entries { out[e.name] = (e.dtype, e.shape, Array(file.mapped.bytes(e.range)!)) }
    return out
  }

  static func floats(_ bytes: [UInt8], _ dtype: DType) -> [Float] {
    bytes.withUnsafeBytes { raw in
      switch dtype {
      case .f32: return (0..<(raw.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
      case .f16: return (0..<(raw.count / 2)).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
      default: return (0..<(raw.count / 2)).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
      }
    }
  }

  /// Every width, group size and scale dtype: our decoding of MLX's bytes
  /// equals mx.dequantize, bit for bit.
  @Test func codecEqualsMLXDequantize() throws {
    let all = try Self.tensors(Fixtures.path("mlx/codecs.safetensors"))
    var cases = 0
    for bits in MLXAffineCodec.bitWidths {
      for g in MLXAffineCodec.groupSizes {
        for dtype in MLXAffineCodec.scaleDTypes {
          let c = "b\(bits)_g\(g)_\(dtype.rawValue)"
          let w = try #require(all[c + ".weight"]), s = try #require(all[c + ".scales"]), b = try #require(all[c + ".biases"])
          let want = Self.floats(try #require(all[c + ".dequantized"]).bytes, .f32)
          let rows = w.shape[0], cols = w.shape[1] * 32 / bits
          let codec = try MLXAffineCodec(parameters: ["bits": .int(Int64(bits)), "group_size": .int(Int64(g)), "scale_dtype": .string(dtype.rawValue)], rows: rows, cols: cols)
          let payload = w.bytes + s.bytes + b.bytes
          #expect(payload.count == codec.payloadLength, "\(c)")
          var got = [Float](repeating: 0, count: rows * cols)
          payload.withUnsafeBytes { p in
            got.withUnsafeMutableBufferPointer { out in
              for r in 0..<rows { codec.dequantizeRow(r, payload: p.baseAddress!, into: out.baseAddress! + r * cols) }
            }
          }
          #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(c)")
          cases += 1
        }
      }
    }
    #expect(cases == 63)
  }

  /// Our quantizer, on the values MLX quantized, loses no more than MLX's
  /// own (mx.quantize, round to nearest) at every width and group size.
  @Test func quantizerAtLeastMLXs() throws {
    let all = try Self.tensors(Fixtures.path("mlx/codecs.safetensors"))
    func sqnr(_ x: [Float], _ y: [Float]) -> Double {
      let s = x.reduce(0.0) { $0 + Double($1) * Double($1) }
      let e = zip(x, y).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }
      return 10 * log10(s / e)
    }
    for bits in MLXAffineCodec.bitWidths {
      for g in MLXAffineCodec.groupSizes {
        let c = "b\(bits)_g\(g)_f32"
        let x = try #require(all[c + ".values"])
        let values = Self.floats(x.bytes, .f32)
        let mlx = Self.floats(try #require(all[c + ".dequantized"]).bytes, .f32)
        let codec = MLXAffineCodec(rows: x.shape[0], cols: x.shape[1], bits: bits, groupSize: g, scaleDType: .f32)
        var payload = [UInt8](repeating: 0, count: codec.payloadLength)
        let m = try payload.withUnsafeMutableBytes { out in
          try values.withUnsafeBufferPointer { try Quantizer.quantize($0, codec: codec, search: true, logical: .f32, name: "t", into: out) }
        }
        #expect(m.sqnrDB >= sqnr(values, mlx) - 0.01, "\(c): ours \(m.sqnrDB) dB, MLX's \(sqnr(values, mlx)) dB")
      }
    }
  }

  /// An mlx_lm.convert folder reads natively: each layer's three tensors as
  /// one mlx_affine tensor, with MLX's dequantized values; exported back, the
  /// weights file holds the same tensors byte for byte.
  @Test func folderRoundTrip() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let folder = Fixtures.path("mlx/llama3-q4-f16")
    let source = try MLXSource(folder: folder)
    #expect(source.quantization.defaults == MLXLayerQuant(bits: 4, groupSize: 32))
    let container = tmp.file("m.ingot")
    _ = try ConvertAction(sources: [folder], output: container).run()
    let reader = try ContainerReader(path: container)
    let want = try Self.tensors(Fixtures.path("mlx/dequantized.safetensors"))
    #expect(!want.isEmpty)
    for (name, w) in want {
      let t = try #require(reader.tensors.first { $0.name == name })
      #expect(t.encoding.kind == MLXAffineCodec.kind && t.dtype == .f16, "\(name)")
      let codec = try #require(try QuantCodecs.layout(t.encoding, dtype: t.dtype, shape: t.shape))
      let got = try reader.withPayload(reader.tensors.firstIndex { $0.name == name }!) { p -> [Float] in
        var out = [Float](repeating: 0, count: codec.rows * codec.cols)
        out.withUnsafeMutableBufferPointer { Dequantizer.dequantize(p, codec: codec, into: $0.baseAddress!) }
        return out
      }
      #expect(got.map(\.bitPattern) == Self.floats(w.bytes, .f16).map(\.bitPattern), "\(name)")
    }
    let back = tmp.file("back")
    _ = try ExportAction(input: container, output: back, format: "mlx").run()
    let a = try Self.tensors(folder + "/model.safetensors"), b = try Self.tensors(back + "/model.safetensors")
    #expect(Set(a.keys) == Set(b.keys))
    for (name, t) in a {
      #expect(b[name]?.dtype == t.dtype && b[name]?.shape == t.shape && b[name]?.bytes == t.bytes, "\(name)")
    }
    let config = try JSONParser.parse(try readFile(back + "/config.json"))
    #expect(try MLXQuantization(json: try #require(config["quantization"]), file: "") == source.quantization)
    // To safetensors the weights are float: the block goes, so neither
    // transformers nor convert reads them as quantized.
    let plain = tmp.file("plain/")
    _ = try ExportAction(input: container, output: plain).run()
    let plainConfig = try JSONParser.parse(try readFile(plain + "config.json"))
    #expect(plainConfig["quantization"] == nil && plainConfig["quantization_config"] == nil && plainConfig["model_type"] == "llama")
    #expect(try Inputs.open([plain]).tensors.allSatisfy { $0.encoding.isRaw && ($0.dtype == .f16 || $0.dtype == .f32) })
  }

  /// Our int4 and int8 encodings go out without requantizing: MLX's formula on
  /// the written bytes gives the values our codecs give.
  @Test(arguments: [
    QuantScheme.int4(), QuantScheme.int4(groupSize: 64, symmetric: true), QuantScheme.int4(scales: .q6), QuantScheme.int8Block(),
  ])
  func transcodeKeepsValues(_ scheme: QuantScheme) throws {
    var rng = SplitMix64(seed: 5)
    let rows = 8, cols = 256
    let values = (0..<(rows * cols)).map { _ in Float(rng.normal()) * 0.05 }
    guard case .success(let codec) = scheme.layout(dtype: .f32, shape: [rows, cols]) else { Issue.record("no layout"); return }
    var payload = [UInt8](repeating: 0, count: codec.payloadLength)
    _ = try payload.withUnsafeMutableBytes { out in
      try values.withUnsafeBufferPointer { try Quantizer.quantize($0, codec: codec, search: true, logical: .f32, name: "t", into: out) }
    }
    guard case .success(let target) = MLXTranscode.layout(for: codec, lastDim: cols) else { Issue.record("no MLX layout"); return }
    var out = [UInt8](repeating: 0, count: target.payloadLength)
    try payload.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try MLXTranscode.transcode(codec, p.baseAddress!, to: target, into: $0.baseAddress!) } }
    // MLX's arithmetic written out here: f32 scale·q + bias, q from the bit stream.
    let scales = Self.floats(Array(out[target.scaleSection]), .f32), biases = Self.floats(Array(out[target.biasSection]), .f32)
    var ours = [Float](repeating: 0, count: cols)
    for r in 0..<rows {
      payload.withUnsafeBytes { codec.dequantizeRow(r, payload: $0.baseAddress!, into: &ours) }
      for i in 0..<cols {
        let bit = (r * cols + i) * target.bits
        var q = 0
        for k in 0..<target.bits where out[(bit + k) / 8] & (1 << ((bit + k) % 8)) != 0 { q |= 1 << k }
        let gi = r * target.groupsPerRow + i / target.groupSize
        let mlx = Float(q) * scales[gi] + biases[gi]
        #expect(mlx == ours[i], "\(scheme.name) row \(r) col \(i)")
      }
    }
  }

  /// mlx-lm's mixed recipes, as its own predicate gives them, for several
  /// depths.
  @Test func recipesMatchMLXLM() throws {
    let json = try JSONParser.parse(try readFile(Fixtures.path("mlx/recipes.json")))
    var n = 0
    for (key, want) in try #require(json.objectValue) {
      let parts = key.split(separator: "/")
      let recipe = try #require(QuantRecipe.named(String(parts[0])))
      let layers = try #require(Int(parts[1]))
      let high = Set(try #require(want["high"]?.arrayValue).compactMap(\.stringValue))
      guard case .mlxBits(let low, let highBits) = recipe.mix else { Issue.record("\(key): not an mlx recipe"); continue }
      #expect(Int(want["low"]?.intValue ?? 0) == low)
      var paths = ["model.embed_tokens", "lm_head"]
      for i in 0..<layers {
        paths += ["q_proj", "k_proj", "v_proj", "o_proj"].map { "model.layers.\(i).self_attn.\($0)" }
        paths += ["gate_proj", "up_proj", "down_proj"].map { "model.layers.\(i).mlp.\($0)" }
      }
      for p in paths {
        #expect(recipe.bits(for: p + ".weight", layers: layers) == (high.contains(p) ? highBits : low), "\(key) \(p)")
      }
      n += 1
    }
    #expect(n == 24)
  }

  /// The quantization block: what mlx-lm would not read is refused by key.
  @Test func quantizationBlockRefusals() throws {
    func parse(_ text: String) throws(MLXError) -> MLXQuantization {
      try MLXQuantization(json: (try? JSONParser.parse(Array(text.utf8))) ?? .null, file: "c")
    }
    #expect(throws: MLXError.badQuantization(file: "c", key: "mode", reason: "only affine is read (mxfp4, nvfp4 and mxfp8 have no ingot encoding yet)")) {
      try parse(#"{"group_size": 32, "bits": 4, "mode": "mxfp4"}"#)
    }
    #expect { try parse(#"{"group_size": 32, "bits": 7}"#) } throws: { ($0 as? MLXError).map { if case .badQuantization(_, "bits", _) = $0 { true } else { false } } ?? false }
    #expect { try parse(#"{"group_size": 16, "bits": 4}"#) } throws: { ($0 as? MLXError).map { if case .badQuantization(_, "group_size", _) = $0 { true } else { false } } ?? false }
    #expect { try parse(#"{"bits": 4}"#) } throws: { ($0 as? MLXError).map { if case .badQuantization(_, "group_size", _) = $0 { true } else { false } } ?? false }
    #expect { try parse(#"{"group_size": 64, "bits": 4, "model.layers.0.mlp.down_proj": 8}"#) } throws: {
      ($0 as? MLXError).map { if case .badQuantization(_, "model.layers.0.mlp.down_proj", _) = $0 { true } else { false } } ?? false
    }
    let q = try parse(#"{"group_size": 64, "bits": 4, "a": {"bits": 6}, "b": false}"#)
    #expect(q.entry("a") == .some(MLXLayerQuant(bits: 6, groupSize: 64)) && q.entry("b") == .some(nil) && q.entry("c") == nil)
  }

  /// A folder whose words do not fit its config, or whose layer lacks a
  /// part, is refused by the weight's name.
  @Test func folderRefusals() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let src = Fixtures.path("mlx/llama3-q4-f16")
    func copy(_ name: String, config: (inout [String: JSONValue]) -> Void) throws -> String {
      let dir = tmp.file(name)
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try writeFile(dir + "/model.safetensors", try readFile(src + "/model.safetensors"))
      var c = try #require(try JSONParser.parse(try readFile(src + "/config.json")).objectValue)
      config(&c)
      try writeFile(dir + "/config.json", CanonicalJSON.encode(.object(c)))
      return dir
    }
    let wrongBits = try copy("bits") { $0["quantization"] = ["group_size": 32, "bits": 8, "mode": "affine"] }
    #expect { _ = try MLXSource(folder: wrongBits) } throws: {
      ($0 as? MLXError).map { if case .badLayer(_, let t, _) = $0 { t.hasSuffix(".weight") } else { false } } ?? false
    }
    let notQuantized = try copy("false") {
      var q = $0["quantization"]!.objectValue!
      q["model.layers.0.self_attn.q_proj"] = .bool(false)
      $0["quantization"] = .object(q)
    }
    #expect { _ = try MLXSource(folder: notQuantized) } throws: {
      ($0 as? MLXError).map { if case .badLayer(_, "model.layers.0.self_attn.q_proj.weight", _) = $0 { true } else { false } } ?? false
    }
  }

  /// Export refuses what mlx-lm could not load as the same model, and leaves
  /// no folder behind.
  @Test func exportRefusals() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    // No config.json.
    let bare = tmp.file("bare.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3/model.safetensors")], output: bare).run()
    #expect { _ = try ExportAction(input: bare, output: tmp.file("out1"), format: "mlx").run() } throws: {
      ($0 as? MLXError).map { if case .noConfig = $0 { true } else { false } } ?? false
    }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("out1")))
    // Gemma 2's sliding window: mlx-lm's gemma2 has none.
    let gemma = tmp.file("gemma2.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/gemma2")], output: gemma).run()
    #expect { _ = try ExportAction(input: gemma, output: tmp.file("out2"), format: "mlx").run() } throws: {
      ($0 as? MLXError).map { if case .noConfig(let r) = $0 { r.hasPrefix("sliding_window") } else { false } } ?? false
    }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("out2")))
    var allowed = ExportAction(input: gemma, output: tmp.file("out3"), format: "mlx")
    allowed.fullAttention = true
    #expect(try allowed.run().files.count >= 2)
    // int8 per channel: f32 scales whose products MLX rounds differently.
    let llama = tmp.file("llama.ingot"), q = tmp.file("q.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("arch/llama3")], output: llama).run()
    _ = try QuantizeAction(sources: [llama], output: q, scheme: .int8Channel()).run()
    #expect { _ = try ExportAction(input: q, output: tmp.file("out4"), format: "mlx").run() } throws: {
      ($0 as? MLXError).map { if case .noMLXForm(let t, _) = $0 { t.hasSuffix(".weight") } else { false } } ?? false
    }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("out4")))
    var again = ExportAction(input: q, output: tmp.file("out5"), format: "mlx")
    again.requantize = true
    let r = try again.run()
    #expect(!r.requantized.isEmpty && r.requantized.allSatisfy { ($0["sqnr_db"]?.doubleValue ?? 0) > 40 })
  }
}
