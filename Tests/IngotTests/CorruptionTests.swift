import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotRuntime
import IngotTestSupport
import Testing

/// Damaged `.ingot` files: every kind of damage gives a specific error, and
/// `verify` names the tensor whose bytes changed.
@Suite struct CorruptionTests {
  func converted(_ tmp: TempDir) throws -> (path: String, reader: ContainerReader) {
    let reader = try convertFixture("safetensors/sharded-llama", into: tmp)
    return (reader.path, reader)
  }

  func mutate(_ path: String, _ body: (inout [UInt8]) -> Void) throws { try mutateFile(path, body) }

  @Test func aFlippedDataByteIsPinnedToItsTensor() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (path, reader) = try converted(tmp)
    try damagePayload(reader, tensor: "model.layers.1.mlp.up_proj.weight", byte: 1234, mask: 0x01)

    let report = try VerifyAction(path: path).run()
    #expect(!report.ok)
    #expect(report.failures.count == 1)
    #expect(report.failures.first?.description.contains("model.layers.1.mlp.up_proj.weight") == true)

    let cli = try run(ingotBinary(), ["verify", path])
    #expect(cli.status == 1)
    #expect(cli.stdout.contains("model.layers.1.mlp.up_proj.weight") || cli.stderr.contains("model.layers.1.mlp.up_proj.weight"))
  }

  @Test func exportRefusesADamagedTensorAndWritesNothing() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (path, reader) = try converted(tmp)
    try damagePayload(reader, tensor: "model.embed_tokens.weight", byte: 7, mask: 0x40)
    let cli = try run(ingotBinary(), ["export", path, "--to", "safetensors", "-o", tmp.file("out.safetensors")])
    #expect(cli.status == 1)
    #expect(cli.stderr.contains("model.embed_tokens.weight") && cli.stderr.contains("digest mismatch"), "\(cli.stderr)")
    #expect(!FileManager.default.fileExists(atPath: tmp.file("out.safetensors")))
  }

  @Test func aChangedPaddingByteIsReported() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let path = tmp.file("all.ingot")
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/all_dtypes.safetensors")], output: path).run()
    let reader = try ContainerReader(path: path)
    // A tensor whose length is not a multiple of 64 is followed by zero padding.
    let padded = try #require(reader.header.tensors.first { $0.storage.length % 64 != 0 })
    try mutate(path) { $0[Int(reader.preamble.dataOffset) + padded.storage.offset + padded.storage.length] = 0xAA }
    #expect(try VerifyAction(path: path).run().ok == false)
  }

  @Test func aCorruptedHeaderFailsItsChecksum() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (path, _) = try converted(tmp)
    // Change a digit inside the JSON header: still valid JSON, wrong checksum.
    try mutate(path) { bytes in
      let start = Preamble.size
      if let i = bytes[start...].firstIndex(of: UInt8(ascii: "7")) { bytes[i] = UInt8(ascii: "8") }
    }
    #expect(throws: ContainerError.headerChecksumMismatch(file: path)) { try ContainerReader(path: path) }
    let cli = try run(ingotBinary(), ["verify", path])
    #expect(cli.status == 1)
    #expect(cli.stderr.hasPrefix("error: ") && cli.stderr.contains("header"))
    #expect(cli.stderr.split(separator: "\n").count == 1)
  }

  @Test func aTruncatedFileIsRefusedAtOpen() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (path, _) = try converted(tmp)
    let full = try readFile(path)
    for cut in [0, 10, 71, 72, 200, full.count / 2, full.count - 1] {
      try writeFile(path, Array(full[0..<cut]))
      do {
        _ = try ContainerReader(path: path)
        Issue.record("truncated at \(cut) was accepted")
      } catch {
        let text = "\(error)"
        #expect(text.contains(path) && !text.contains("\n"), "\(cut): \(text)")
      }
    }
  }

  @Test func badMagicAndFutureVersionsAreNamed() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (path, _) = try converted(tmp)
    let good = try readFile(path)
    var bytes = good
    bytes[1] = UInt8(ascii: "X")
    try writeFile(path, bytes)
    #expect(throws: ContainerError.badMagic(file: path)) { try ContainerReader(path: path) }
    bytes = good
    bytes[8] = 2  // major version 2
    try writeFile(path, bytes)
    #expect(throws: ContainerError.unsupportedVersion(file: path, major: 2, minor: 0)) { try ContainerReader(path: path) }
  }

  /// A header with a consistent checksum but lying offsets must still be
  /// refused before any data is touched.
  @Test func consistentButLyingHeadersAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let (path, reader) = try converted(tmp)
    struct NotAnObject: Error {}
    func rewrite(_ edit: (inout [String: JSONValue]) -> Void) throws -> ContainerError? {
      guard case .object(var h) = reader.header.json else { throw NotAnObject() }
      edit(&h)
      return try reopenWithHeader(reader, .object(h), at: tmp.file("lie.ingot"))
    }
    func tensor0(_ h: inout [String: JSONValue], _ key: String, _ value: JSONValue) {
      guard case .array(var ts) = h["tensors"], case .object(var t) = ts[0], case .object(var d) = t["data"] else { return }
      d[key] = value
      t["data"] = .object(d)
      ts[0] = .object(t)
      h["tensors"] = .array(ts)
    }
    #expect(try rewrite { tensor0(&$0, "offset", .int(Int64.max - 10)) } != nil)
    #expect(try rewrite { tensor0(&$0, "length", .int(1 << 40)) } != nil)
    #expect(try rewrite { tensor0(&$0, "offset", .int(3)) } != nil)  // misaligned
    #expect(try rewrite { tensor0(&$0, "offset", .int(Int64(reader.header.tensors[1].storage.offset))) } != nil)  // overlap
    #expect(try rewrite { $0["model_digest"] = .string(String(repeating: "0", count: 64)) } != nil)
    #expect(try rewrite { $0["required_features"] = .array([.string("time-travel")]) }
      == .unknownRequiredFeature(file: tmp.file("lie.ingot"), feature: "time-travel"))
  }
}

/// A payload changed under an intact header is caught by every consumer, not
/// only by `verify`: it is never passed on under a new digest.
@Suite struct TamperedPayloadTests {
  @Test func everyConsumerRefusesATamperedPayload() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let reader = try convertFixture("models/tiny-llama", into: tmp)
    try damagePayload(reader, tensor: "model.layers.0.mlp.up_proj.weight", byte: 5, mask: 0x10)
    func pipelineRefusal(_ body: () throws -> Void) -> Bool {
      do { try body() } catch let e as PipelineError { if case .digestMismatch(_, "model.layers.0.mlp.up_proj.weight", _, _) = e { return true } } catch {}
      return false
    }
    #expect(pipelineRefusal { _ = try CompressAction(sources: [reader.path], output: tmp.file("z.ingot"), compression: Compression()).run() })
    #expect(pipelineRefusal { _ = try ConvertAction(sources: [reader.path], output: tmp.file("c.ingot"), dtype: .bf16).run() })
    #expect(pipelineRefusal { _ = try QuantizeAction(sources: [reader.path], output: tmp.file("q.ingot"), scheme: .int8Channel()).run() })
    #expect(pipelineRefusal { _ = try ExportAction(input: reader.path, output: tmp.file("e.safetensors")).run() })
    for name in ["z.ingot", "c.ingot", "q.ingot", "e.safetensors"] { #expect(!FileManager.default.fileExists(atPath: tmp.file(name))) }
    #expect { _ = try ForwardAction(input: reader.path, tokens: [1, 2, 3]).run() } throws: { error in
      guard case .inFile(_, .digestMismatch("model.layers.0.mlp.up_proj.weight"))? = error as? RuntimeError else { return false }
      return true
    }
    // --no-verify is the explicit way past the check.
    var unchecked = CompressAction(sources: [reader.path], output: tmp.file("z.ingot"), compression: Compression())
    unchecked.verify = false
    _ = try unchecked.run()
    #expect(!(try VerifyAction(path: reader.path).run().ok))
  }
}
