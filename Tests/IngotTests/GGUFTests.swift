import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// GGUF import against gguf-py's dequantized values (fixtures/gguf).
@Suite struct GGUFTests {
  @Test func everyTypeMatchesGGUFPyBitForBit() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("gguf/all_types.gguf")], output: tmp.file("g.ingot")).run()
    let r = try ContainerReader(path: tmp.file("g.ingot"))
    let manifest = try #require(try Fixtures.manifest()["fixtures"]?["gguf/all_types.gguf"])
    let expected = try #require(manifest["tensors"]?.objectValue)
    #expect(r.header.tensors.count == expected.count)
    for (i, t) in r.header.tensors.enumerated() {
      let want = try #require(expected[t.name], "\(t.name) not in the manifest")
      #expect(t.shape == want["shape_numpy_order"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(t.name) shape")
      let npy = try Npy(path: Fixtures.path(try #require(want["dequantized_f32"]?.stringValue)))
      let values = try #require(decodeValues(try r.withPayload(i) { [UInt8]($0) }, dtype: t.dtype))
      // Compare as f32 bit patterns: "bit for bit".
      #expect(values.map { Float($0).bitPattern } == npy.values.map { Float($0).bitPattern }, "\(t.name)")
    }
    #expect(r.header.tensors.first { $0.name == "f16" }?.dtype == .f16)
    #expect(r.header.tensors.first { $0.name == "bf16" }?.dtype == .bf16)
    #expect(r.header.tensors.first { $0.name == "q4_k" }?.dtype == .f32)
    // Metadata, including arrays and a u64 beyond 2^32.
    #expect(r.metadata["gguf/general.architecture"] == "llama")
    #expect(r.metadata["gguf/fixture.big"] == "1099511627776")
    #expect(r.metadata["gguf/tokenizer.ggml.tokens"] == #"["<s>","</s>","a","b"]"#)
    #expect(r.provenance.first?.inputs.first?.format == "gguf")
  }

  @Test(arguments: [
    ("bad_magic.gguf", "unknown format"),
    ("kv_count_huge.gguf", "kv_count"),
    ("tensor_count_huge.gguf", "tensor_count"),
    ("truncated.gguf", "runs past the end"),
    ("version_99.gguf", "version 99"),
  ])
  func badFilesAreRefused(_ name: String, _ reason: String) throws {
    let r = try run(ingotBinary(), ["inspect", Fixtures.path("gguf/bad/\(name)")])
    #expect(r.status == 1)
    #expect(r.stderr.contains(reason) && r.stderr.contains(name), "\(r.stderr)")
  }

  /// Hand-built files for the refusals no fixture covers.
  @Test func unknownTypesNestedArraysAndBadAlignmentAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    func gguf(kvs: [[UInt8]], tensors: [(String, [UInt64], UInt32)]) -> [UInt8] {
      var b = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(tensors.count)) + le(UInt64(kvs.count))
      for kv in kvs { b += kv }
      for (name, dims, type) in tensors { b += str(name) + le(UInt32(dims.count)) + dims.flatMap { le($0) } + le(type) + le(UInt64(0)) }
      while b.count % 32 != 0 { b.append(0) }
      return b + [UInt8](repeating: 0, count: 256)
    }
    let cases: [([UInt8], String)] = [
      (gguf(kvs: [], tensors: [("w", [32], 99)]), "unknown tensor type 99"),
      (gguf(kvs: [str("a") + le(UInt32(9)) + le(UInt32(9)) + le(UInt64(1))], tensors: []), "nested arrays"),
      (gguf(kvs: [str("general.alignment") + le(UInt32(4)) + le(UInt32(48))], tensors: []), "power of two"),
      (gguf(kvs: [str("a") + le(UInt32(9)) + le(UInt32(0)) + le(UInt64(1) << 40)], tensors: []), "runs past the end"),
      (gguf(kvs: [], tensors: [("w", [33], 8)]), "whole number of blocks"),
    ]
    for (bytes, reason) in cases {
      try writeFile(tmp.file("x.gguf"), bytes)
      #expect { _ = try GGUFSource(path: tmp.file("x.gguf")) } throws: { "\($0)".contains(reason) }
    }
  }
}
