import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotTestSupport
import Testing

/// tools/ingot_read.py is written from formats/ingot-v1.md alone; it must
/// agree with the Swift reader, and the Swift binary must agree with numpy.
@Suite(.enabled(if: pythonWithNumpy(), "skipped: python3 with numpy is not installed"))
struct PythonReaderTests {
  @Test func pythonReaderRecomputesTheSameDigests() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let out = tmp.file("m.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/all_dtypes.safetensors")], output: out).run()
    let r = try run("/usr/bin/env", ["python3", Fixtures.repoRoot + "/tools/ingot_read.py", "--verify", "--json", out])
    #expect(r.status == 0, "\(r.stderr)")
    let listing = try JSONParser.parse(Array(r.stdout.utf8))
    let swift = try ContainerReader(path: out)
    #expect(listing["computed_model_digest"]?.stringValue == swift.header.modelDigest)
    #expect(listing["problems"] == .array([]))
    let python = Dictionary(uniqueKeysWithValues: (listing["tensors"]?.arrayValue ?? []).compactMap { t in
      t["name"]?.stringValue.map { ($0, t["computed_digest"]?.stringValue ?? "") }
    })
    #expect(python.count == swift.header.tensors.count)
    for t in swift.header.tensors { #expect(python[t.name] == t.digest, "\(t.name)") }
  }

  @Test func pythonReaderRejectsAFlippedByte() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let reader = try convertFixture("safetensors/all_dtypes.safetensors", into: tmp)
    let out = reader.path
    try damagePayload(reader, tensor: "f64", byte: 0, mask: 0x80)
    let r = try run("/usr/bin/env", ["python3", Fixtures.repoRoot + "/tools/ingot_read.py", "--verify", out])
    #expect(r.status == 1)
    #expect((r.stdout + r.stderr).contains("f64"))
  }

  /// Values against the reference library's .npy files, casts against numpy,
  /// export read back: tools/crosscheck.py (also run by tools/test).
  @Test func crossCheckScriptPasses() throws {
    let r = try run("/usr/bin/env", ["python3", Fixtures.repoRoot + "/tools/crosscheck.py", ingotBinary()])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("checks passed"))
  }
}

func pythonWithNumpy() -> Bool {
  (try? run("/usr/bin/env", ["python3", "-c", "import numpy"]).status) == 0
}
