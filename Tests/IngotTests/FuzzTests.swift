import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// Every reader on mutated fixtures: byte flips, truncations and runs of
/// 0x00/0xFF/0x7F/0x80 (huge counts). Each variant must end in an error or a
/// valid result: a trap would kill this process, a hang would time out.
@Suite struct FuzzTests {
  static let seeds = [
    "gguf/all_types.gguf", "pytorch/state_dict_zip.pt", "pytorch/state_dict_legacy.pt", "numpy/compressed.npz",
    "numpy/f64_fortran.npy", "safetensors/all_dtypes.safetensors", "onnx/inline.onnx",
  ]

  @Test(arguments: seeds)
  func mutatedInputsNeverTrap(_ seed: String) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let original = try readFile(Fixtures.path(seed))
    // A fixed seed per fixture (FNV-1a of its path), printed with every
    // failure so a case can be replayed; `hashValue` changed every process.
    let fixedSeed = seed.utf8.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    var rng = SplitMix64(seed: fixedSeed)
    let ext = String(seed[seed.lastIndex(of: ".")!...])  // audited: every seed has an extension
    let path = tmp.file("case" + ext)
    var accepted = 0
    for round in 0..<400 {
      var bytes = original
      let mode = rng.next() % 4
      if mode < 2 {
        for _ in 0..<(1 + rng.next() % 8) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
      } else if mode == 2 {
        bytes = Array(bytes[0..<Int(rng.next() % UInt64(bytes.count))])
      } else {
        let at = Int(rng.next() % UInt64(bytes.count))
        let value: UInt8 = [0x00, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)]
        for i in at..<min(bytes.count, at + [1, 2, 4, 8][Int(rng.next() % 4)]) { bytes[i] = value }
      }
      try writeFile(path, bytes)
      do {
        let source = try Inputs.open([path])
        for i in source.tensors.indices { _ = try source.withPayload(i) { Digest.sha256Hex($0) } }
        accepted += 1
      } catch {
        // A refusal is one of the typed, one-line errors the CLI prints,
        // never an untyped or empty one.
        #expect(error is any ReportableError && !"\(error)".isEmpty, "seed \(fixedSeed) round \(round): \(type(of: error)) \(error)")
      }
      // Every tenth variant is converted too: it either gives a file that
      // verifies or an error and no file at all.
      if round % 10 == 0 {
        let out = tmp.file("case.ingot")
        do {
          _ = try ConvertAction(sources: [path], output: out, force: true).run()
          #expect(try VerifyAction(path: out).run().ok, "seed \(fixedSeed) round \(round): converted but does not verify")
          try? FileManager.default.removeItem(atPath: out)
        } catch {
          #expect(error is any ReportableError, "seed \(fixedSeed) round \(round): \(type(of: error)) \(error)")
          #expect(!FileManager.default.fileExists(atPath: out), "seed \(fixedSeed) round \(round): a refused conversion left a file")
        }
      }
    }
    #expect(accepted < 400, "no variant was refused: the mutations did nothing")
  }
}
