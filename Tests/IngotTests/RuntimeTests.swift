import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotRuntime
import IngotTestSupport
import Testing

/// The reference forward pass against the outputs transformers computed.
@Suite struct RuntimeTests {
  func tokens(_ model: String) throws -> [Int] {
    try Npy(path: Fixtures.path("models/\(model)/input_ids.npy")).values.map { Int($0) }
  }

  func forward(_ model: String, _ tmp: TempDir) throws -> (values: [Float], dim: Int) {
    _ = try ConvertAction(sources: [Fixtures.path("models/\(model)")], output: tmp.file("\(model).ingot")).run()
    let r = try ForwardAction(input: tmp.file("\(model).ingot"), tokens: try tokens(model)).run()
    return (r.values, r.dim)
  }

  func maxDiff(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
  }

  @Test(arguments: [("tiny-llama", "expected_logits.npy"), ("tiny-gpt2", "expected_logits.npy"), ("tiny-bert", "expected_last_hidden_state.npy")])
  func matchesTransformers(_ model: String, _ expected: String) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let out = try forward(model, tmp)
    let want = try Npy(path: Fixtures.path("models/\(model)/\(expected)"))
    #expect(want.shape == [try tokens(model).count, out.dim])
    #expect(out.values.count == want.values.count)
    #expect(maxDiff(out.values, want.values) <= 1e-4, "\(model): max abs diff \(maxDiff(out.values, want.values))")
    if model == "tiny-bert" {
      let pooled = meanPool(out.values, tokens: try tokens(model).count, dim: out.dim)
      let wantPooled = try Npy(path: Fixtures.path("models/tiny-bert/expected_mean_pooled.npy"))
      #expect(maxDiff(pooled, wantPooled.values) <= 1e-4)
    }
  }

  @Test func unknownModelTypesAndRopeScalingAreRefusedByName() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let folder = Fixtures.path("models/tiny-llama")
    try FileManager.default.createDirectory(atPath: tmp.file("m"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: folder + "/model.safetensors", toPath: tmp.file("m/model.safetensors"))
    let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
    func set(_ key: String, _ value: String) -> String {
      config.replacingOccurrences(of: #"("\#(key)": )[^,}]+"#, with: "$1" + value, options: .regularExpression)
    }
    let cases: [(String, @Sendable (RuntimeError) -> Bool)] = [
      (config.replacingOccurrences(of: "\"llama\"", with: "\"mamba\""), { if case .config(.unknownArchitecture("mamba", _)) = $0 { true } else { false } }),
      (config.replacingOccurrences(of: "\"rope_type\": \"default\"", with: "\"rope_type\": \"longrope\""), { if case .config(.unsupported(_, "longrope", _)) = $0 { true } else { false } }),
      (config.replacingOccurrences(of: "\"rope_type\": \"default\"", with: "\"rope_type\": \"llama3\""), { if case .config(.missing(_)) = $0 { true } else { false } }),
      (set("vocab_size", "320, \"num_local_experts\": 8"), { if case .config(.unsupported("num_local_experts", "8", _)) = $0 { true } else { false } }),
      (set("vocab_size", "320, \"partial_rotary_factor\": 0.5"), { if case .config(.unsupported("partial_rotary_factor", _, _)) = $0 { true } else { false } }),
      (set("vocab_size", "320, \"sliding_window\": 4, \"layer_types\": [\"full_attention\"]"), { if case .config(.inconsistent("layer_types", _)) = $0 { true } else { false } }),
      (set("num_attention_heads", "0"), { if case .config(.outOfRange("num_attention_heads", 0, _)) = $0 { true } else { false } }),
      (set("num_key_value_heads", "0"), { if case .config(.outOfRange("num_key_value_heads", 0, _)) = $0 { true } else { false } }),
      (set("num_key_value_heads", "3"), { if case .config(.inconsistent("num_key_value_heads", _)) = $0 { true } else { false } }),
      (set("hidden_size", "-5"), { if case .config(.outOfRange("hidden_size", -5, _)) = $0 { true } else { false } }),
      (set("vocab_size", "0"), { if case .config(.outOfRange("vocab_size", 0, _)) = $0 { true } else { false } }),
      (set("head_dim", "2305843009213693952"), { if case .config(.outOfRange("head_dim", _, _)) = $0 { true } else { false } }),
      // A config that disagrees with the stored weights never reaches BLAS.
      (set("intermediate_size", "4096"), { if case .shapeMismatch = $0 { true } else { false } }),
      // head_dim sizes the rotary tables: checked against q before any is made.
      (set("head_dim", "1099511628"), { if case .shapeMismatch = $0 { true } else { false } }),
    ]
    for (edit, matches) in cases {
      try edit.write(toFile: tmp.file("m/config.json"), atomically: true, encoding: .utf8)
      _ = try ConvertAction(sources: [tmp.file("m")], output: tmp.file("m.ingot"), force: true).run()
      #expect(edit != config)
      #expect { _ = try ForwardAction(input: tmp.file("m.ingot"), tokens: [1, 2]).run() } throws: { error in
        guard case .inFile(_, let inner)? = error as? RuntimeError else { return false }
        return matches(inner)
      }
    }
    _ = try ConvertAction(sources: [folder], output: tmp.file("l.ingot")).run()
    #expect { _ = try ForwardAction(input: tmp.file("l.ingot"), tokens: [1, 99999]).run() } throws: { "\($0)".contains("outside the vocabulary") }
  }

  @Test func forwardCommandWritesNpy() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("models/tiny-gpt2")], output: tmp.file("g.ingot")).run()
    let r = try run(ingotBinary(), ["forward", tmp.file("g.ingot"), "--tokens", "1,17,42", "-o", tmp.file("o.npy")])
    #expect(r.status == 0, "\(r.stderr)")
    let out = try Npy(path: tmp.file("o.npy"))
    #expect(out.shape == [3, 320])
    let want = try Npy(path: Fixtures.path("models/tiny-gpt2/expected_logits.npy"))
    // Causal: the first three positions equal those of the longer fixture sequence.
    #expect(zip(out.values, want.values.prefix(3 * 320)).allSatisfy { abs($0 - $1) <= 1e-4 })
  }

  /// The vectorized exp and erf against float64 libm on dense grids: exp
  /// within 2 ulp (relative 2.4e-7), erf within 1.5e-7 absolute.
  @Test func vectorMathIsAccurate() {
    func check(_ from: Double, _ to: Double, _ steps: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>, _ reference: (Double) -> Double) -> (abs: Double, rel: Double) {
      var worst = (abs: 0.0, rel: 0.0)
      for i in stride(from: 0, to: steps, by: 8) {
        var x = SIMD8<Float>()
        for l in 0..<8 { x[l] = Float(from + (to - from) * Double(i + l) / Double(steps)) }
        let y = f(x)
        for l in 0..<8 {
          let want = reference(Double(x[l])), err = abs(Double(y[l]) - want)
          worst = (max(worst.abs, err), max(worst.rel, want == 0 ? 0 : err / abs(want)))
        }
      }
      return worst
    }
    let e = check(-87, 88, 400_000, VectorMath.exp, Foundation.exp)
    #expect(e.rel <= 2.4e-7, "exp: relative error \(e.rel)")
    let r = check(-6, 6, 400_000, VectorMath.erf, Foundation.erf)
    #expect(r.abs <= 1.5e-7, "erf: absolute error \(r.abs)")
    // The edges: far below the range is 0, erf is odd and saturates at ±1.
    #expect(VectorMath.exp(SIMD8(repeating: -200)) == .zero && VectorMath.exp(.zero) == SIMD8(repeating: 1))
    #expect(VectorMath.erf(SIMD8(repeating: -9)) == SIMD8(repeating: -1) && VectorMath.erf(.zero) == .zero)
    #expect(VectorMath.erf(SIMD8(repeating: .nan))[0].isNaN && VectorMath.exp(SIMD8(repeating: .nan))[0].isNaN)
  }
}
