import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// torch.save files, read by a pickle decoder that never runs anything.
@Suite(.serialized) struct PyTorchTests {
  @Test(arguments: ["pytorch/state_dict_zip.pt", "pytorch/state_dict_legacy.pt"])
  func stateDictsMatchTheReferenceValues(_ file: String) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try convertFixture(file, into: tmp, as: "t.ingot")
    let expected = try #require(try Fixtures.manifest()["fixtures"]?[file]?["tensors"]?.objectValue)
    #expect(Set(r.header.tensors.map(\.name)) == Set(expected.keys))
    for (i, t) in r.header.tensors.enumerated() {
      let want = try #require(expected[t.name])
      #expect(t.shape == want["shape"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(t.name)")
      if let digest = want["sha256_raw_le"]?.stringValue { #expect(t.digest == digest, "\(t.name) digest") }
      if let npy = want["values_as_f64"]?.stringValue {
        let values = try #require(decodeValues(try r.withPayload(i) { [UInt8]($0) }, dtype: t.dtype))
        #expect(values == (try Npy(path: Fixtures.path(npy))).values, "\(t.name) values")
      }
    }
    // Tied weights are two tensors with equal bytes; views come out row-major.
    let tiedA = r.header.tensors.first { $0.name == "tied_a" }, tiedB = r.header.tensors.first { $0.name == "tied_b" }
    #expect(tiedA?.digest == tiedB?.digest)
    #expect(r.header.tensors.first { $0.name == "transposed_view" }?.shape == [8, 6])
    #expect(r.provenance.first?.inputs.first?.format == "pytorch")
  }

  @Test func nestedDictsBecomeDottedNames() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try convertFixture("pytorch/nested_checkpoint.pt", into: tmp, as: "n.ingot")
    #expect(r.header.tensors.map(\.name) == ["model.b", "model.w"])
    #expect(r.header.tensors.map(\.shape) == [[6], [6, 8]])
    #expect(r.metadata["pytorch/epoch"] == "3")
  }

  /// Every malicious file is refused, naming what it tried, and nothing runs.
  @Test(arguments: [
    ("inst_opcode.pkl", "INST 'os.system'"),
    ("no_tensors.pt", "no tensors"),
    ("protocol4_stack_global.pkl", "protocol 4"),
    ("raw_pickle_os_system.pkl", "refused global 'posix.system'"),
    ("reduce_eval.pt", "refused global '__builtin__.eval'"),
    ("reduce_os_system.pt", "refused global 'posix.system'"),
    ("deflated_bomb.npz", "16000000000"),
  ])
  func maliciousFilesAreRefusedAndNothingRuns(_ name: String, _ reason: String) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let before = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp"))?.filter { $0.hasPrefix("ingot-pwned-") } ?? []
    let r = try run(ingotBinary(), ["convert", Fixtures.path("pytorch/malicious/\(name)"), "-o", tmp.file("x.ingot")])
    #expect(r.status == 1)
    #expect(r.stderr.contains(reason) && r.stderr.contains(name), "\(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1)
    #expect(!FileManager.default.fileExists(atPath: tmp.file("x.ingot")))
    let after = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp"))?.filter { $0.hasPrefix("ingot-pwned-") } ?? []
    #expect(after == before, "a payload ran: \(after)")
    #expect(!after.contains { $0.contains(name.split(separator: ".").first.map(String.init) ?? name) })
  }

  /// The same files through the library: each refusal is its own error case.
  @Test func maliciousFilesAreRefusedByTheirCase() throws {
    func refusal(_ name: String) -> Error? {
      do { _ = try Inputs.open([Fixtures.path("pytorch/malicious/\(name)")]) } catch { return error }
      return nil
    }
    func torch(_ name: String) -> PyTorchError? { refusal(name) as? PyTorchError }
    if case .refusedOpcode(_, _, _, let op, let then)? = torch("inst_opcode.pkl") { #expect(op.hasPrefix("STRING") && then.contains("INST 'os.system'")) } else { Issue.record("inst_opcode.pkl") }
    #expect(torch("no_tensors.pt") == .noTensors(file: Fixtures.path("pytorch/malicious/no_tensors.pt")))
    if case .refusedProtocol(_, _, 4)? = torch("protocol4_stack_global.pkl") {} else { Issue.record("protocol4_stack_global.pkl") }
    for (name, global) in [("raw_pickle_os_system.pkl", "posix.system"), ("reduce_eval.pt", "__builtin__.eval"), ("reduce_os_system.pt", "posix.system")] {
      if case .refusedGlobal(_, _, _, global)? = torch(name) {} else { Issue.record("\(name): \(String(describing: refusal(name)))") }
    }
    // Its member's header claims 16 GB of array data that is not there.
    if case .dataLength(_, _, _, 16_000_000_000)? = refusal("deflated_bomb.npz") as? NumpyError {} else { Issue.record("deflated_bomb.npz: \(String(describing: refusal("deflated_bomb.npz")))") }
  }

  @Test func everyMaliciousFixtureIsCovered() throws {
    let listed = try Fixtures.manifest()["fixtures"]?["pytorch/malicious"]?["files"]?.arrayValue?.compactMap(\.stringValue)
    #expect(listed?.count == 7)
  }
}
