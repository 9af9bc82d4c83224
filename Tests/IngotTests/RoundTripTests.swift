import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

@Suite struct RoundTripTests {
  /// safetensors → ingot → safetensors: every tensor's bytes identical, for
  /// every dtype, compared against the original file's bytes.
  @Test func allDtypesRoundTripBitExactly() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let source = Fixtures.path("safetensors/all_dtypes.safetensors")
    _ = try ConvertAction(sources: [source], output: tmp.file("a.ingot")).run()
    _ = try ExportAction(input: tmp.file("a.ingot"), output: tmp.file("back.safetensors")).run()
    let original = try SafetensorsFile(path: source)
    let back = try SafetensorsFile(path: tmp.file("back.safetensors"))
    #expect(original.entries.map(\.name).sorted() == back.entries.map(\.name).sorted())
    let originalBytes = try readFile(source)
    let backBytes = try readFile(tmp.file("back.safetensors"))
    for e in original.entries {
      let b = try #require(back.entries.first { $0.name == e.name })
      #expect(b.dtype == e.dtype && b.shape == e.shape, "\(e.name)")
      let dataA = e.range.lowerBound
      let dataB = b.range.lowerBound
      #expect(Array(originalBytes[dataA..<(dataA + e.range.count)]) == Array(backBytes[dataB..<(dataB + b.range.count)]), "\(e.name)")
    }
    // The reference loader requires format=pt; the exporter also records where it came from.
    let meta = try #require(try exportedMetadata(tmp.file("back.safetensors")))
    #expect(meta["format"] == "pt")
    #expect(meta["note"] == "every dtype")
    #expect(meta["ingot.model_digest"] == (try ContainerReader(path: tmp.file("a.ingot"))).header.modelDigest)
  }

  @Test func reconvertingTheExportGivesTheSameModelDigest() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/sharded-llama")], output: tmp.file("a.ingot")).run()
    _ = try ExportAction(input: tmp.file("a.ingot"), output: tmp.file("out/")).run()
    #expect(FileManager.default.fileExists(atPath: tmp.file("out/config.json")))
    #expect(try readFile(tmp.file("out/config.json")) == readFile(Fixtures.path("safetensors/sharded-llama/config.json")))
    _ = try ConvertAction(sources: [tmp.file("out")], output: tmp.file("b.ingot")).run()
    let a = try ContainerReader(path: tmp.file("a.ingot"))
    let b = try ContainerReader(path: tmp.file("b.ingot"))
    #expect(a.header.tensors.map(\.digest) == b.header.tensors.map(\.digest))
    #expect(a.metadata["files/config.json"] == b.metadata["files/config.json"])
  }

  @Test func twoConversionsAreByteIdentical() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    for source in ["safetensors/all_dtypes.safetensors", "safetensors/sharded-llama"] {
      _ = try ConvertAction(sources: [Fixtures.path(source)], output: tmp.file("1.ingot"), force: true).run()
      _ = try ConvertAction(sources: [Fixtures.path(source)], output: tmp.file("2.ingot"), force: true).run()
      #expect(sha256(try readFile(tmp.file("1.ingot"))) == sha256(try readFile(tmp.file("2.ingot"))), "\(source)")
    }
    // Copying the input elsewhere does not change the output: recorded paths are relative.
    try FileManager.default.copyItem(atPath: Fixtures.path("safetensors/all_dtypes.safetensors"), toPath: tmp.file("copy.safetensors"))
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/all_dtypes.safetensors")], output: tmp.file("x.ingot")).run()
    _ = try ConvertAction(sources: [tmp.file("copy.safetensors")], output: tmp.file("y.ingot")).run()
    let x = try ContainerReader(path: tmp.file("x.ingot"))
    let y = try ContainerReader(path: tmp.file("y.ingot"))
    #expect(x.header.modelDigest == y.header.modelDigest)
    #expect(x.provenance[0].inputs[0].sha256 == y.provenance[0].inputs[0].sha256)
  }

  @Test func ingotToIngotAppendsAChainedProvenanceStep() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/all_dtypes.safetensors")], output: tmp.file("a.ingot")).run()
    _ = try ConvertAction(sources: [tmp.file("a.ingot")], output: tmp.file("b.ingot"), dtype: .bf16).run()
    let a = try ContainerReader(path: tmp.file("a.ingot"))
    let b = try ContainerReader(path: tmp.file("b.ingot"))
    #expect(b.provenance.count == 2)
    #expect(b.provenance[0] == a.provenance[0])
    #expect(b.provenance[1].inputModelDigest == a.header.modelDigest)
    #expect(b.provenance[1].inputs[0].sha256 == sha256(try readFile(tmp.file("a.ingot"))))
    #expect(b.provenance[1].parameters["dtype"] == .string("bf16"))
    #expect(b.header.tensors.first { $0.name == "f32" }?.dtype == .bf16)
    #expect(b.header.tensors.first { $0.name == "i64" }?.dtype == .i64)
  }

  @Test func metadataAndAlignmentFollowTheSpec() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try convertFixture("safetensors/sharded-llama", into: tmp, as: "a.ingot")
    #expect(r.preamble.dataOffset % 4096 == 0)
    for t in r.header.tensors { #expect(t.storage.offset % 64 == 0, "\(t.name)") }
    #expect(r.verifyPadding() == nil)
    #expect(r.header.modelDigest == r.header.computedModelDigest())
  }
}

/// `__metadata__` of a safetensors file, read with JSONParser.
func exportedMetadata(_ path: String) throws -> [String: String]? {
  let bytes = try readFile(path)
  let n = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
  let header = try JSONParser.parse(Array(bytes[8..<(8 + n)]))
  return header["__metadata__"]?.objectValue?.compactMapValues(\.stringValue)
}

/// Real weights (tools/fetch-models): all-MiniLM-L6-v2 survives the round trip
/// bit for bit, and its tokenizer files travel inside the container.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: miniLM + "/model.safetensors"),
                "skipped: run tools/fetch-models"))
struct MiniLMRoundTripTests {
  @Test func miniLMRoundTripsBitExactlyWithItsTokenizer() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [miniLM], output: tmp.file("m.ingot")).run()
    let reader = try ContainerReader(path: tmp.file("m.ingot"))
    #expect(try VerifyAction(path: tmp.file("m.ingot")).run().ok)
    for name in ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"] {
      #expect(reader.metadata["files/" + name] == (try String(contentsOfFile: miniLM + "/" + name, encoding: .utf8)), "\(name)")
    }
    _ = try ExportAction(input: tmp.file("m.ingot"), output: tmp.file("out/")).run()
    let original = try SafetensorsFile(path: miniLM + "/model.safetensors")
    let back = try SafetensorsFile(path: tmp.file("out/model.safetensors"))
    #expect(original.entries.count == back.entries.count && original.entries.count > 100)
    for e in original.entries {
      let b = try #require(back.entries.first { $0.name == e.name })
      let x = try #require(original.mapped.bytes(e.range))
      let y = try #require(back.mapped.bytes(b.range))
      #expect([UInt8](x) == [UInt8](y), "\(e.name)")
    }
  }
}

let miniLM = Fixtures.repoRoot + "/.models/all-MiniLM-L6-v2"

/// Payloads larger than the writer's 8 MiB buffers, odd sizes and gaps:
/// the output stream must place every byte where the header says.
@Suite struct LargeTensorTests {
  @Test func tensorsSpanningManyOutputBuffersRoundTrip() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    // Written by hand (not by the code under test): F32 [5_000_001], U8 [3], F16 [4_194_305].
    let shapes: [(String, String, Int, Int)] = [("big", "F32", 5_000_001, 4), ("odd", "U8", 3, 1), ("half", "F16", 4_194_305, 2)]
    var header = "{"
    var at = 0
    var data: [UInt8] = []
    var rng = SplitMix64(seed: 42)
    for (k, (name, dtype, n, width)) in shapes.enumerated() {
      header += (k > 0 ? "," : "") + "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(n)],\"data_offsets\":[\(at),\(at + n * width)]}"
      data += (0..<(n * width)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      at += n * width
    }
    header += "}"
    var file = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8) + data
    let src = tmp.file("big.safetensors")
    try writeFile(src, file)
    file = []

    _ = try ConvertAction(sources: [src], output: tmp.file("big.ingot")).run()
    #expect(try VerifyAction(path: tmp.file("big.ingot")).run().ok)
    let reader = try ContainerReader(path: tmp.file("big.ingot"))
    let original = try SafetensorsFile(path: src)
    for e in original.entries {
      let i = try #require(reader.header.tensors.firstIndex { $0.name == e.name })
      let want = try #require(original.mapped.bytes(e.range))
      #expect(reader.header.tensors[i].digest == Digest.sha256Hex(want), "\(e.name)")
      try reader.withPayload(i) { got in #expect([UInt8](got) == [UInt8](want), "\(e.name)") }
    }
    // Cast path (whole-tensor stage) through the same writer.
    _ = try ConvertAction(sources: [src], output: tmp.file("bf16.ingot"), dtype: .bf16).run()
    #expect(try VerifyAction(path: tmp.file("bf16.ingot")).run().ok)
  }
}
