import Foundation
import IngotArchitectures
import IngotCommands
import IngotContainer
import IngotCore
import IngotRuntime
import IngotTestSupport
import Testing

/// Issue 11: every architecture in the registry, from a Hugging Face folder
/// and from the GGUF that llama.cpp's convert_hf_to_gguf.py wrote for it,
/// against transformers' logits and (when the fixture has them) llama.cpp's.
/// Fixtures: tools/make_arch_fixtures.py (Fixtures/arch/<name>/).
@Suite struct ArchitectureTests {
  static let names = ["llama3", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "bert"]

  struct Fixture {
    let folder: String
    let sequences: [[Int]]
    let hf: [Double]
    let llama: [Double]?
    let dim: Int

    init(_ name: String) throws {
      folder = Fixtures.path("arch/" + name)
      let ids = try Npy(path: folder + "/input_ids.npy").values.map { Int($0) }
      var at = 0
      sequences = try Npy(path: folder + "/lengths.npy").values.map { n in
        defer { at += Int(n) }
        return Array(ids[at..<(at + Int(n))])
      }
      let logits = try Npy(path: folder + "/hf_logits.npy")
      hf = logits.values
      dim = logits.shape[1]
      llama = FileManager.default.fileExists(atPath: folder + "/llama_logits.npy") ? try Npy(path: folder + "/llama_logits.npy").values : nil
    }

    /// Our pass over every sequence, stacked like the fixture's logits.
    func run(_ container: String) throws -> [Float] {
      try sequences.flatMap { try ForwardAction(input: container, tokens: $0).run().values }
    }

    /// Rows (token positions, over all sequences) where `keep` holds.
    func rows(_ keep: (Int) -> Bool) -> [Int] {
      sequences.flatMap { s in s.indices }.enumerated().compactMap { keep($0.element) ? $0.offset : nil }
    }
  }

  /// max |a − b| over the chosen rows, as a fraction of the reference's range.
  static func relativeError(_ a: [Float], _ ref: [Double], dim: Int, rows: [Int]) -> Double {
    let range = (ref.max() ?? 0) - (ref.min() ?? 0)
    var worst = 0.0
    for r in rows { for c in 0..<dim { worst = max(worst, abs(Double(a[r * dim + c]) - ref[r * dim + c])) } }
    return worst / range
  }

  @Test(arguments: names) func folderAndGGUFMatchTransformers(_ name: String) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let f = try Fixture(name)
    _ = try ConvertAction(sources: [f.folder], output: tmp.file("hf.ingot")).run()
    _ = try ConvertAction(sources: [f.folder + "/model.gguf"], output: tmp.file("gguf.ingot")).run()
    // The same model from either format: validate compares them (and, but
    // for Mistral's window, finds no difference).
    let v = try ValidateAction(base: tmp.file("hf.ingot"), candidate: tmp.file("gguf.ingot")).run()
    #expect(name == "mistral" || v.passed, "\(name): folder-born and GGUF-born containers validate alike")
    let fromHF = try f.run(tmp.file("hf.ingot"))
    let fromGGUF = try f.run(tmp.file("gguf.ingot"))
    #expect(fromHF.count == f.hf.count && fromGGUF.count == f.hf.count)
    let all = f.rows { _ in true }
    let hfError = Self.relativeError(fromHF, f.hf, dim: f.dim, rows: all)
    print("\(name): folder \(hfError), GGUF \(Self.relativeError(fromGGUF, f.hf, dim: f.dim, rows: f.rows { $0 < (name == "mistral" ? 8 : Int.max) })) of transformers' logit range")
    #expect(hfError <= 1e-4, "\(name) from its folder: \(hfError) of the logit range")
    // llama.cpp's `llama` architecture has no sliding window and its
    // converter drops Mistral's: the GGUF-born model attends to everything,
    // as llama.cpp does, so it equals transformers only within the window.
    let window = name == "mistral" ? 8 : Int.max
    let ggufError = Self.relativeError(fromGGUF, f.hf, dim: f.dim, rows: f.rows { $0 < window })
    #expect(ggufError <= 1e-4, "\(name) from GGUF: \(ggufError) of the logit range")
    if name == "mistral" {
      let beyond = Self.relativeError(fromGGUF, f.hf, dim: f.dim, rows: f.rows { $0 >= window })
      #expect(beyond > 1e-3, "the window must matter in the fixture (\(beyond))")
    }
  }

  /// Against llama.cpp running the same GGUF (llama-cpp-python, recorded by
  /// tools/make_arch_fixtures.py): mean KLD and top-1 agreement for
  /// decoders, relative error for the encoder's hidden states.
  @Test(arguments: names) func ggufMatchesLlamaCpp(_ name: String) throws {
    let f = try Fixture(name)
    guard let llama = f.llama else {
      print("skipped: \(name) has no llama.cpp logits (run tools/make_arch_fixtures.py with llama-cpp-python installed)")
      return
    }
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [f.folder + "/model.gguf"], output: tmp.file("gguf.ingot")).run()
    let ours = try f.run(tmp.file("gguf.ingot"))
    #expect(ours.count == llama.count)
    if name == "bert" {
      let e = Self.relativeError(ours, llama, dim: f.dim, rows: f.rows { _ in true })
      print("bert against llama.cpp: hidden states within \(e) of their range")
      #expect(e <= 1e-3, "bert hidden states against llama.cpp: \(e)")
      return
    }
    let rows = ours.count / f.dim
    var kld = 0.0, same = 0
    for r in 0..<rows {
      let p = softmax(llama[(r * f.dim)..<((r + 1) * f.dim)].map { $0 })
      let q = softmax(ours[(r * f.dim)..<((r + 1) * f.dim)].map { Double($0) })
      kld += zip(p, q).reduce(0.0) { $0 + ($1.0 > 0 ? $1.0 * log($1.0 / max($1.1, 1e-300)) : 0) }
      if p.indices.max(by: { p[$0] < p[$1] }) == q.indices.max(by: { q[$0] < q[$1] }) { same += 1 }
    }
    kld /= Double(rows)
    let top1 = Double(same) / Double(rows)
    print("\(name) against llama.cpp: mean KLD \(kld), top-1 \(top1)")
    #expect(kld <= 0.03 && top1 >= 0.9, "\(name) against llama.cpp: mean KLD \(kld), top-1 \(top1)")
  }

  func softmax(_ x: [Double]) -> [Double] {
    let m = x.max() ?? 0
    let e = x.map { Foundation.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
  }

  /// GGUF keys that describe something the pass does not implement, or
  /// values that cannot be a model, are refused naming the key.
  @Test func ggufKeysOutsideThePassAreRefusedByName() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let source = Fixtures.path("arch/qwen2/model.gguf")
    let cases: [(String, JSONValue, (ConfigError) -> Bool)] = [
      ("general.architecture", .string("mamba"), { if case .unknownArchitecture(let a, _) = $0 { a.contains("mamba") } else { false } }),
      ("qwen2.expert_count", .int(8), { if case .unsupported("qwen2.expert_count", "8", _) = $0 { true } else { false } }),
      ("qwen2.rope.scaling.type", .string("longrope"), { if case .unsupported("qwen2.rope.scaling.type", "longrope", _) = $0 { true } else { false } }),
      ("qwen2.attention.head_count_kv", .int(3), { if case .inconsistent(_, _) = $0 { true } else { false } }),
      ("qwen2.rope.dimension_count", .int(4), { if case .unsupported("qwen2.rope.dimension_count", "4", _) = $0 { true } else { false } }),
      ("qwen2.rope.freq_base", .double(-1e30), { if case .outOfRange("qwen2.rope.freq_base", _, _) = $0 { true } else { false } }),
      ("qwen2.rope.freq_base", .double(.nan), { if case .outOfRange("qwen2.rope.freq_base", _, _) = $0 { true } else { false } }),
      ("qwen2.rope.scaling.factor", .double(0.5), { if case .outOfRange("qwen2.rope.scaling.factor", _, _) = $0 { true } else { false } }),
    ]
    for (key, value, matches) in cases {
      let edited = tmp.file("e.gguf")
      try GGUFEdit.set(key, value, in: source, to: edited)
      let converted: Bool = (try? ConvertAction(sources: [edited], output: tmp.file("e.ingot"), force: true).run()) != nil
      if !converted {
        // Refused already on import (e.g. a head count that cannot un-permute): also by key.
        #expect(throws: (any Error).self) { _ = try ConvertAction(sources: [edited], output: tmp.file("e.ingot"), force: true).run() }
        continue
      }
      #expect { _ = try ForwardAction(input: tmp.file("e.ingot"), tokens: [1, 2]).run() } throws: { error in
        guard case .inFile(_, .config(let inner))? = error as? RuntimeError else { return false }
        return matches(inner)
      }
    }
  }

  /// Published checkpoints mostly carry transformers 4's keys (`rope_theta`,
  /// `rope_scaling` with `type` or `rope_type`, Gemma 3's
  /// `rope_local_base_freq` and `sliding_window_pattern`, no `layer_types`):
  /// they decode to the same typed config as the fixtures' transformers 5 form.
  @Test func transformers4ConfigsDecodeLikeTransformers5() throws {
    func config(_ name: String, _ edit: (inout [String: JSONValue]) -> Void) throws -> (ModelConfig, ModelConfig) {
      let text = try readFile(Fixtures.path("arch/\(name)/config.json"))
      let json = try JSONParser.parse(text)
      guard case .object(var members) = json, let type = json["model_type"]?.stringValue, let spec = Architectures.spec(modelType: type) else {
        throw RuntimeError.unsupported(name)
      }
      edit(&members)
      return (try spec.config(json), try spec.config(.object(members)))
    }
    let pairs = [
      try config("gemma3") { c in
        c["layer_types"] = nil
        c["rope_parameters"] = nil
        c["rope_theta"] = .double(1_000_000)
        c["rope_local_base_freq"] = .double(10000)
        c["rope_scaling"] = .object(["rope_type": .string("linear"), "factor": .double(8)])
        c["sliding_window_pattern"] = .int(6)
      },
      try config("llama3") { c in
        c["rope_parameters"] = nil
        c["rope_theta"] = .double(500_000)
        c["rope_scaling"] = .object([
          "rope_type": .string("llama3"), "factor": .double(8), "low_freq_factor": .double(1), "high_freq_factor": .double(4),
          "original_max_position_embeddings": .int(64),
        ])
      },
      try config("qwen2") { c in
        c["rope_parameters"] = nil
        c["layer_types"] = nil
        c["rope_theta"] = .double(1_000_000)
        c["rope_scaling"] = .object(["type": .string("yarn"), "factor": .double(4), "original_max_position_embeddings": .int(64)])
      },
      try config("gemma2") { c in
        c["layer_types"] = nil
        c["rope_parameters"] = nil
        c["rope_theta"] = .double(10000)
      },
    ]
    for (v5, v4) in pairs { #expect(v5 == v4, "\(v5.architecture)") }
    // And what they say, for the record: Gemma 3's sixth layer is global.
    let g3 = pairs[0].0
    #expect(g3.slidingLayers == [true, true, true, true, true, false] && g3.slidingWindow == 8)
    #expect(g3.localRope == Rope(theta: 10000) && g3.rope == Rope(theta: 1_000_000, scaling: .linear(factor: 8)))
    #expect(pairs[3].0.slidingLayers == [true, false] && pairs[3].0.attentionSoftcap == 50 && pairs[3].0.finalSoftcap == 30)
  }

  /// llama.cpp's sliding-window keys in a GGUF: a window, a layer pattern
  /// (a period here), the local rope base; and what a file leaves out.
  @Test func ggufSlidingWindowKeysAreReadAsLlamaCppReadsThem() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    func config(_ edits: [(String, JSONValue)], _ fixture: String = "gemma3") throws -> ModelConfig {
      var source = Fixtures.path("arch/\(fixture)/model.gguf")
      for (i, (key, value)) in edits.enumerated() {
        try GGUFEdit.set(key, value, in: source, to: tmp.file("e\(i).gguf"))
        source = tmp.file("e\(i).gguf")
      }
      _ = try ConvertAction(sources: [source], output: tmp.file("e.ingot"), force: true).run()
      return try Weights(try ContainerReader(path: tmp.file("e.ingot"))).config().1
    }
    let asWritten = try config([])
    #expect(asWritten.slidingWindow == 8 && asWritten.slidingLayers == [true, true, true, true, true, false])
    #expect(asWritten.localRope == Rope(theta: 10000) && asWritten.rope == Rope(theta: 1_000_000, scaling: .linear(factor: 8)))
    let period3 = try config([("gemma3.attention.sliding_window_pattern", .int(3)), ("gemma3.rope.freq_base_swa", .double(20000))])
    #expect(period3.slidingLayers == [true, true, false, true, true, false] && period3.localRope == Rope(theta: 20000))
    let noWindow = try config([("gemma3.attention.sliding_window", .int(0))])
    #expect(noWindow.slidingWindow == nil)
    // A window that is not a number is refused by its key.
    #expect { _ = try config([("gemma3.attention.sliding_window", .string("eight"))]) } throws: { error in
      guard case .inFile(_, .config(.notAnInteger("gemma3.attention.sliding_window")))? = error as? RuntimeError else { return false }
      return true
    }
  }

  /// Multimodal and mixture-of-experts model types stay refused by name.
  @Test func unimplementedModelTypesAreRefusedByName() throws {
    for type in ["gemma3", "mixtral", "qwen2_moe", "mamba", "phi3small"] {
      #expect(Architectures.spec(modelType: type) == nil, "\(type)")
    }
    #expect(Architectures.spec(modelType: "gemma3_text")?.name == "gemma3")
    #expect(Architectures.spec(gguf: "bert")?.name == "bert")
  }
}
