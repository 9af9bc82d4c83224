import IngotCore
import IngotPipeline
import Foundation
import IngotContainer
import IngotTestSupport
import Testing

/// The binary as users run it: exit codes 0 / 1 / 64, stdout for results,
/// stderr for one-line errors, `--json` parseable.
@Suite struct CLITests {
  let ingot = ingotBinary()

  @Test func convertInspectVerifyExportSucceed() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let src = Fixtures.path("safetensors/all_dtypes.safetensors")
    let convert = try run(ingot, ["convert", src, "-o", tmp.file("a.ingot"), "--json"])
    #expect(convert.status == 0, "\(convert.stderr)")
    let result = try JSONParser.parse(Array(convert.stdout.utf8))
    #expect(result["model_digest"]?.stringValue?.count == 64)

    let inspect = try run(ingot, ["inspect", tmp.file("a.ingot"), "--json"])
    #expect(inspect.status == 0)
    let header = try JSONParser.parse(Array(inspect.stdout.utf8))["header"]
    #expect(header?["tensors"]?.arrayValue?.count == 14)

    let text = try run(ingot, ["inspect", tmp.file("a.ingot")])
    #expect(text.status == 0 && text.stdout.contains("f8_e4m3"))

    let foreign = try run(ingot, ["inspect", src, "--json"])
    #expect(foreign.status == 0, "\(foreign.stderr)")

    let verify = try run(ingot, ["verify", tmp.file("a.ingot"), "--json"])
    #expect(verify.status == 0)
    #expect(try JSONParser.parse(Array(verify.stdout.utf8))["ok"] == .bool(true))

    let export = try run(ingot, ["export", tmp.file("a.ingot"), "--to", "safetensors", "-o", tmp.file("b.safetensors")])
    #expect(export.status == 0, "\(export.stderr)")
    #expect(convert.stderr.isEmpty, "no progress bar without a TTY: \(convert.stderr)")
  }

  @Test func usageErrorsExit64() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let src = Fixtures.path("safetensors/all_dtypes.safetensors")
    for args in [
      ["convert", src],  // missing -o
      ["convert", src, "-o", tmp.file("x.ingot"), "--dtype", "f12"],
      ["frobnicate"],
      ["export", src, "--to", "pickle", "-o", tmp.file("x")],
    ] {
      let r = try run(ingot, args)
      #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
      #expect(r.stdout.isEmpty)
    }
  }

  @Test func failuresExit1WithOneLine() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let bad = Fixtures.path("safetensors/bad/overlap.safetensors")
    for args in [
      ["convert", bad, "-o", tmp.file("x.ingot")],
      ["verify", Fixtures.path("safetensors/all_dtypes.safetensors")],
      ["inspect", tmp.file("missing.ingot")],
    ] {
      let r = try run(ingot, args)
      #expect(r.status == 1, "\(args): \(r.status)")
      #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: tmp.file("x.ingot")))
  }

  @Test func existingOutputNeedsForceAndTheInputIsNeverOverwritten() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let src = Fixtures.path("safetensors/all_dtypes.safetensors")
    #expect(try run(ingot, ["convert", src, "-o", tmp.file("a.ingot")]).status == 0)
    let again = try run(ingot, ["convert", src, "-o", tmp.file("a.ingot")])
    #expect(again.status == 1 && again.stderr.contains("--force"), "\(again.stderr)")
    #expect(try run(ingot, ["convert", src, "-o", tmp.file("a.ingot"), "--force"]).status == 0)

    // Even with --force, converting a file onto itself (or a hard link to it) is refused.
    let before = try readFile(tmp.file("a.ingot"))
    let onto = try run(ingot, ["convert", tmp.file("a.ingot"), "-o", tmp.file("a.ingot"), "--force"])
    #expect(onto.status == 1, "\(onto.stderr)")
    try FileManager.default.linkItem(atPath: tmp.file("a.ingot"), toPath: tmp.file("link.ingot"))
    let viaLink = try run(ingot, ["convert", tmp.file("a.ingot"), "-o", tmp.file("link.ingot"), "--force"])
    #expect(viaLink.status == 1, "\(viaLink.stderr)")
    #expect(try readFile(tmp.file("a.ingot")) == before)
  }

  /// SIGKILL partway through an in-place rewrite (`sign`) leaves the file
  /// as it was and nothing beside it.
  @Test func killedSignLeavesTheFileAsItWas() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let input = TempDir()
    defer { input.cleanup() }
    let header = Array(#"{"w":{"dtype":"F32","shape":[134217728],"data_offsets":[0,536870912]}}"#.utf8)
    try writeFile(input.file("big.safetensors"), withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header)
    let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: input.file("big.safetensors")))
    try fh.truncate(atOffset: UInt64(8 + header.count) + (1 << 29))
    try fh.close()
    let model = tmp.file("m.ingot")
    #expect(try run(ingot, ["convert", input.file("big.safetensors"), "-o", model]).status == 0)
    #expect(try run(ingot, ["keygen", "-o", input.file("k.key")]).status == 0)
    let before = try FileHasher.sha256(path: model)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ingot)
    process.arguments = ["sign", model, "--key", input.file("k.key")]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    usleep(150_000)
    let killed = process.isRunning
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["m.ingot"])
    if killed && process.terminationReason == .uncaughtSignal {
      #expect(try FileHasher.sha256(path: model) == before, "a killed sign changed the file")
    } else {
      // Finished before the kill: then it must be whole and signed.
      #expect(try run(ingot, ["verify", model]).status == 0)
    }
  }

  /// SIGKILL partway through a conversion leaves nothing at the target path
  /// and no stray temporary file in the folder.
  @Test func killedConversionLeavesNoFile() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let out = tmp.file("killed.ingot")
    // A 1 GiB tensor in a sparse file: instant to make, about a second to
    // hash and write, so the kill lands partway (no test hook in the binary).
    let input = TempDir()
    defer { input.cleanup() }
    let header = Array(#"{"w":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}}"#.utf8)
    var head = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
    head += []
    try writeFile(input.file("big.safetensors"), head)
    let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: input.file("big.safetensors")))
    try fh.truncate(atOffset: UInt64(head.count) + (1 << 30))
    try fh.close()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ingot)
    process.arguments = ["convert", input.file("big.safetensors"), "-o", out]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    usleep(300_000)
    #expect(process.isRunning, "conversion finished before it could be killed")
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    #expect(process.terminationReason == .uncaughtSignal)
    #expect(!FileManager.default.fileExists(atPath: out))
    #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)

    // The same command, left alone, produces the file.
    #expect(try run(ingot, ["convert", Fixtures.path("safetensors/sharded-llama"), "-o", out]).status == 0)
    #expect(try run(ingot, ["verify", out]).status == 0)
  }

  @Test func demoRuns() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try run(ingot, ["demo", "--dir", tmp.path])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("byte-identical") || r.stderr.contains("byte-identical"), "\(r.stdout)")
  }
}
