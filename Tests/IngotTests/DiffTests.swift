import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// `ingot diff` on synthetic variants of the tiny Llama with known answers.
@Suite struct DiffTests {
  static let folder = Fixtures.path("models/tiny-llama")

  /// The original tensors by name.
  func original() throws -> [(String, [Int], [Float])] {
    let f = try SafetensorsFile(path: Self.folder + "/model.safetensors")
    return try f.entries.map { e in
      let raw = try #require(f.mapped.bytes(e.range))
      return (e.name, e.shape, (0..<(e.range.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) })
    }
  }

  /// A model folder (config.json copied) holding `tensors`.
  func write(_ tmp: TempDir, _ name: String, _ tensors: [(String, [Int], [Float])]) throws -> String {
    let dir = tmp.file(name)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: Self.folder + "/config.json", toPath: dir + "/config.json")
    try writeSafetensorsF32(dir + "/model.safetensors", tensors)
    return dir
  }

  func verdict(_ a: String, _ b: String, control: String? = nil) throws -> JSONValue {
    try DiffAction(a: [a], b: [b], control: control.map { [$0] }).run()
  }

  @Test func aModelAgainstItselfIsIdentical() throws {
    #expect(try verdict(Self.folder, Self.folder)["verdict"] == "identical")
  }

  @Test func aFineTunedCopyIsDerived() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 11)
    let tuned = try original().map { (n, s, v) in (n, s, v.map { $0 + Float(rng.normal()) * 0.002 }) }
    let r = try verdict(Self.folder, try write(tmp, "tuned", tuned))
    #expect(r["verdict"] == "derived", "\(r["decided_by"] ?? .null)")
  }

  @Test func aQuantizedCopyIsDerived() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Self.folder], output: tmp.file("f.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("f.ingot")], output: tmp.file("q.ingot"), scheme: .int4()).run()
    #expect(try verdict(tmp.file("f.ingot"), tmp.file("q.ingot"))["verdict"] == "derived")
  }

  /// Hidden units permuted (rows of gate/up, columns of down, the same
  /// permutation per layer): the function is unchanged, the flattened MLP
  /// matrices no longer correlate, and the row-matching test still finds them.
  @Test func permutedHiddenUnitsAreCaughtByThePermutationTest() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 5)
    let inter = 160, hidden = 64
    var perms: [Int: [Int]] = [:]
    for l in 0..<2 {
      var p = Array(0..<inter)
      for i in stride(from: inter - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
      perms[l] = p
    }
    let permuted = try original().map { (n, s, v) -> (String, [Int], [Float]) in
      guard n.contains(".mlp."), let l = Int(n.split(separator: ".")[2]), let p = perms[l] else { return (n, s, v) }
      if n.hasSuffix("down_proj.weight") {  // [hidden, inter]: permute columns
        return (n, s, (0..<(hidden * inter)).map { k in v[(k / inter) * inter + p[k % inter]] })
      }
      return (n, s, (0..<(inter * hidden)).map { k in v[p[k / hidden] * hidden + k % hidden] })  // [inter, hidden]: rows
    }
    let r = try verdict(Self.folder, try write(tmp, "perm", permuted))
    #expect(r["verdict"] == "derived")
    let pairs = r["pairs"]?.arrayValue ?? []
    let up = try #require(pairs.first { $0["name"]?.stringValue == "model.layers.0.mlp.up_proj.weight" })
    #expect(abs(up["pearson"]?.doubleValue ?? 1) < 0.2, "plain correlation should not see a permuted copy")
    let test = r["permutation_test"]?["matrices"]?.arrayValue ?? []
    let upTest = try #require(test.first { $0["name"]?.stringValue == "model.layers.0.mlp.up_proj.weight" })
    #expect((upTest["log10_p"]?.doubleValue ?? 0) < -6 && (upTest["median_matched_abs_cosine"]?.doubleValue ?? 0) > 0.999)
  }

  /// The Solar/GLM trap: an independently initialised model whose norm gains
  /// are all ≈ 1 has raw norm cosines ≈ 0.99 with any other such model, and
  /// must still be "no evidence of derivation".
  @Test func solarGLMTrapIndependentModelWithUnitNormsIsNoEvidence() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 2026)
    func fresh() throws -> [(String, [Int], [Float])] {
      try original().map { (n, s, v) in
        s.count == 1 ? (n, s, v.map { _ in 1 + Float(rng.normal()) * 0.01 }) : (n, s, v.map { _ in Float(rng.normal()) * 0.02 })
      }
    }
    let a = try write(tmp, "a", try fresh()), b = try write(tmp, "b", try fresh()), c = try write(tmp, "c", try fresh())
    let r = try verdict(a, b, control: c)
    #expect(r["verdict"] == "no-evidence", "\(r["decided_by"] ?? .null)")
    let norm = try #require((r["pairs"]?.arrayValue ?? []).first { $0["name"]?.stringValue == "model.norm.weight" })
    #expect((norm["cosine"]?.doubleValue ?? 0) > 0.99, "the trap: raw cosine of norm gains is high")
    #expect(abs(norm["pearson"]?.doubleValue ?? 1) < 0.5)
    #expect(norm["raw_cosine"]?.stringValue?.hasPrefix("uninformative") == true)
    #expect(r["baselines"]?["control_pearson_median"] != nil)
  }

  @Test func differentArchitecturesAreNotComparable() throws {
    #expect(try verdict(Self.folder, Fixtures.path("models/tiny-bert"))["verdict"] == "not-comparable")
  }
}
