import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// safetensors → .ingot against the values the reference library wrote
/// (fixtures/MANIFEST.json and the expected .npy files).
@Suite struct SafetensorsImportTests {
  static let allDtypes = Fixtures.path("safetensors/all_dtypes.safetensors")

  @Test func everyDtypeMatchesManifestDigestsAndReferenceValues() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let out = tmp.file("all.ingot")
    _ = try ConvertAction(sources: [Self.allDtypes], output: out).run()
    let reader = try ContainerReader(path: out)
    let manifest = try Fixtures.manifest()
    guard let expected = manifest["fixtures"]?["safetensors/all_dtypes.safetensors"]?["tensors"]?.objectValue else {
      Issue.record("manifest entry missing")
      return
    }
    #expect(Set(reader.header.tensors.map(\.name)) == Set(expected.keys))
    for (i, entry) in reader.header.tensors.enumerated() {
      let want = try #require(expected[entry.name])
      #expect(entry.digest == want["sha256_raw_le"]?.stringValue, "\(entry.name) digest")
      #expect(entry.shape == want["shape"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(entry.name) shape")
      #expect(entry.storage.offset % 64 == 0)
      #expect(reader.verifyTensor(i) == nil)
      let bytes = try reader.withPayload(i) { [UInt8]($0) }
      let npy = try Npy(path: Fixtures.path(try #require(want["values_as_f64"]?.stringValue)))
      let values = try #require(decodeValues(bytes, dtype: entry.dtype), "\(entry.dtype) not decodable")
      #expect(values.count == npy.values.count, "\(entry.name) count")
      for (a, b) in zip(values, npy.values) {
        #expect(a == b || (a.isNaN && b.isNaN), "\(entry.name): \(a) != \(b)")
      }
    }
    // Rank-0 and empty tensors survive with their shapes.
    #expect(reader.header.tensors.first { $0.name == "scalar" }?.shape == [])
    #expect(reader.header.tensors.first { $0.name == "empty" }?.shape == [0, 4])
    #expect(reader.metadata["safetensors/note"] == "every dtype")
  }

  @Test func shardedModelFolderKeepsEveryTensorConfigAndProvenance() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let folder = Fixtures.path("safetensors/sharded-llama")
    let out = tmp.file("llama.ingot")
    _ = try ConvertAction(sources: [folder], output: out).run()
    let reader = try ContainerReader(path: out)
    let manifest = try Fixtures.manifest()["fixtures"]?["safetensors/sharded-llama"]
    let expected = try #require(manifest?["tensors"]?.objectValue)
    #expect(reader.header.tensors.count == expected.count)
    for entry in reader.header.tensors {
      #expect(entry.digest == expected[entry.name]?["sha256_raw_le"]?.stringValue, "\(entry.name)")
    }
    let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
    #expect(reader.metadata["files/config.json"] == config)
    #expect(reader.metadata["files/generation_config.json"] != nil)

    // One provenance step, naming every shard with its real SHA-256.
    let step = try #require(reader.provenance.first)
    #expect(reader.provenance.count == 1)
    #expect(step.operation == "convert")
    #expect(step.inputModelDigest == nil)
    #expect(step.modelDigest == reader.header.modelDigest)
    let shards = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".safetensors") }
    #expect(shards.count == 10)
    for shard in shards {
      let input = try #require(step.inputs.first { $0.path == shard }, "\(shard) not in provenance")
      #expect(input.sha256 == sha256(try readFile(folder + "/" + shard)))
    }
    #expect(step.inputs.contains { $0.path == "model.safetensors.index.json" })
  }

  @Test func theIndexFileAndTheFolderGiveTheSameModel() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let folder = Fixtures.path("safetensors/sharded-llama")
    _ = try ConvertAction(sources: [folder], output: tmp.file("a.ingot")).run()
    _ = try ConvertAction(sources: [folder + "/model.safetensors.index.json"], output: tmp.file("b.ingot")).run()
    let a = try ContainerReader(path: tmp.file("a.ingot"))
    let b = try ContainerReader(path: tmp.file("b.ingot"))
    #expect(a.header.tensors.map(\.digest) == b.header.tensors.map(\.digest))
  }

  /// Each bad file fails with a one-line error naming its problem.
  @Test(arguments: [
    ("header_len_huge", "header length"),
    ("metadata_not_string", "__metadata__"),
    ("not_json", "JSON"),
    ("offset_out_of_file", "past the end"),
    ("overlap", "overlap"),
    ("shape_mismatch", "shape"),
    ("shape_overflow", "overflow"),
    ("too_short", "needs at least 8"),
    ("trailing_bytes", "trailing"),
    ("truncated_data", "past the end"),
    ("truncated_header", "header length 928 runs past"),
    ("unknown_dtype", "unknown dtype 'F33'"),
  ])
  func badFixtureIsRefused(name: String, keyword: String) throws {
    let path = Fixtures.path("safetensors/bad/\(name).safetensors")
    do {
      _ = try SafetensorsFile(path: path)
      Issue.record("\(name) was accepted")
    } catch {
      let message = "\(error)"
      #expect(!message.contains("\n"), "multi-line error: \(message)")
      #expect(message.contains("\(name).safetensors"), "no file name: \(message)")
      #expect(message.localizedCaseInsensitiveContains(keyword), "\(name): \(message)")
    }
  }

  @Test func everyBadFixtureIsListedInTheManifestAndTested() throws {
    let listed = try Fixtures.manifest()["fixtures"]?["safetensors/bad"]?["files"]?.arrayValue?.compactMap(\.stringValue)
    let present = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("safetensors/bad")).sorted()
    #expect(listed?.sorted() == present)
    #expect(present.count == 12)
  }
}
