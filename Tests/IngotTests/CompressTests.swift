import IngotCore
import Foundation
import IngotCodec
import IngotCommands
import IngotContainer
import IngotPipeline
import IngotQuant
import IngotTestSupport
import Testing

@Suite struct CompressTests {
  /// Payload bytes of every tensor, by name.
  func payloads(_ path: String) throws -> [String: [UInt8]] {
    let r = try ContainerReader(path: path)
    var out: [String: [UInt8]] = [:]
    for (i, t) in r.header.tensors.enumerated() { out[t.name] = try r.withPayload(i) { [UInt8]($0) } }
    return out
  }

  @Test func bytePlanesFollowTheSpec() {
    func split<T>(_ values: [T], width: Int, rotate: Int) -> [UInt8] {
      var planes = [UInt8](repeating: 0, count: values.count * width)
      values.withUnsafeBytes { src in planes.withUnsafeMutableBytes { BytePlanes.split(src.baseAddress!, $0.baseAddress!, count: values.count, width: width, rotate: rotate) } }
      var back = [T](repeating: values[0], count: values.count)
      planes.withUnsafeBytes { src in back.withUnsafeMutableBytes { BytePlanes.join(src.baseAddress!, $0.baseAddress!, count: values.count, width: width, rotate: rotate) } }
      #expect(back.withUnsafeBytes { Array($0) } == values.withUnsafeBytes { Array($0) })
      return planes
    }
    // The rotations writers use: the exponent's low six bits and the
    // mantissa's top two lead in f32 and f64; 16-bit floats rotate by one.
    #expect(BytePlanes.rotation(width: 4) == 3 && BytePlanes.rotation(width: 8) == 6 && BytePlanes.rotation(width: 2) == 1)
    // f32 1.0 = 0x3F800000 → rotated by 3: 0xFC000001 (e5..e0 = 111111,
    // m22 m21 = 00 | m4..m0, s = 0, e7 e6 = 01); −2.0 = 0xC0000000 → 0x00000006.
    let f32: [UInt32] = [0x3F80_0000, 0xC000_0000]
    #expect(split(f32, width: 4, rotate: 3) == [0xFC, 0x00, 0, 0, 0, 0, 0x01, 0x06])
    // Rotated by one (files written before "rotate" existed): 0x7F000000, 0x80000001.
    #expect(split(f32, width: 4, rotate: 1) == [0x7F, 0x80, 0, 0, 0, 0, 0, 0x01])
    // bf16 1.0 = 0x3F80 → 0xFC01; −1.0 = 0xBF80 → 0xFC05. f16 1.0 = 0x3C00 → by one 0x7800.
    #expect(split([UInt16(0x3F80), 0xBF80], width: 2, rotate: 3) == [0xFC, 0xFC, 0x01, 0x05])
    #expect(split([UInt16(0x3C00), 0xBC00], width: 2, rotate: 1) == [0x78, 0x78, 0x00, 0x01])
    // Longer than one vector, odd counts, every rotation: the inverse holds.
    var rng = SplitMix64(seed: 9)
    let many32 = (0..<37).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
    let many16 = (0..<37).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
    let many64 = (0..<5).map { _ in rng.next() }
    for k in 0..<16 { _ = split(many16, width: 2, rotate: k) }
    for k in 0..<32 { _ = split(many32, width: 4, rotate: k) }
    for k in [0, 1, 6, 63] { _ = split(many64, width: 8, rotate: k) }
  }

  /// Every dtype, a quantized container and incompressible bytes survive
  /// compress → read and compress → decompress bit for bit, with the same digests.
  @Test func roundTripsAreBitExact() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var rng = SplitMix64(seed: 4)
    // Random bits (no Inf/NaN): the worst case, which must not grow.
    let noise = (0..<(3 * 4096 + 100)).map { _ -> Float in
      let b = UInt32(truncatingIfNeeded: rng.next())
      return Float(bitPattern: (b >> 23) & 0xFF == 0xFF ? b & 0xBFFF_FFFF : b)
    }
    let smooth = (0..<20000).map { i in Float(rng.normal() * 0.02) + Float(i % 7) * 1e-3 }
    try writeSafetensorsF32(tmp.file("x.safetensors"), [("noise", [noise.count], noise), ("smooth.weight", [100, 200], smooth)])
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/all_dtypes.safetensors")], output: tmp.file("a.ingot")).run()
    _ = try ConvertAction(sources: [tmp.file("x.safetensors")], output: tmp.file("x.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("x.ingot")], output: tmp.file("q.ingot"), scheme: .int4()).run()
    for name in ["a", "x", "q"] {
      let original = tmp.file("\(name).ingot")
      let z = try CompressAction(sources: [original], output: tmp.file("\(name)z.ingot"), compression: Compression(chunkSize: 4096)).run()
      let reader = try ContainerReader(path: tmp.file("\(name)z.ingot"))
      #expect(reader.header.requiredFeatures.contains("zstd"))
      #expect(try VerifyAction(path: tmp.file("\(name)z.ingot")).run().ok)
      let before = try ContainerReader(path: original)
      #expect(z.header.modelDigest == before.header.modelDigest)
      #expect(z.header.tensors.map(\.digest) == before.header.tensors.map(\.digest))
      #expect(try payloads(tmp.file("\(name)z.ingot")) == payloads(original))
      _ = try CompressAction(sources: [tmp.file("\(name)z.ingot")], output: tmp.file("\(name)d.ingot"), compression: nil).run()
      #expect(try payloads(tmp.file("\(name)d.ingot")) == payloads(original))
      #expect(try ContainerReader(path: tmp.file("\(name)d.ingot")).header.tensors.allSatisfy { $0.storage.chunks == nil })
      #expect(try ContainerReader(path: tmp.file("\(name)d.ingot")).provenance.map(\.operation).suffix(2) == ["compress", "decompress"])
    }
    // Random mantissas do not shrink: those chunks are stored raw, and flagged.
    let x = try ContainerReader(path: tmp.file("xz.ingot"))
    let table = try #require(x.header.tensors.first { $0.name == "noise" }?.storage.chunks)
    #expect(table.chunks.count == (noise.count * 4 + 4095) / 4096 && table.chunks.allSatisfy(\.raw))
    #expect(table.transform == .byteplane && table.rotate == 3)
    // The rotation each float dtype gets (BytePlanes.rotation), as recorded.
    let all = try ContainerReader(path: tmp.file("az.ingot")).header.tensors
    var rotations: [DType: Int] = [:]
    for t in all { if let c = t.storage.chunks { rotations[t.dtype] = c.rotate } }
    #expect(rotations[.f32] == 3 && rotations[.bf16] == 1 && rotations[.f16] == 1 && rotations[.f64] == 6 && rotations[.i32] == 0)
    let smoothTable = try #require(x.header.tensors.first { $0.name == "smooth.weight" }?.storage.chunks)
    #expect(smoothTable.chunks.contains { !$0.raw })
    // Export of a compressed container equals export of the original.
    _ = try ExportAction(input: tmp.file("az.ingot"), output: tmp.file("az.safetensors")).run()
    _ = try ExportAction(input: tmp.file("a.ingot"), output: tmp.file("a.safetensors")).run()
    #expect(try readFile(tmp.file("az.safetensors")).count == readFile(tmp.file("a.safetensors")).count)
  }

  @Test func compressionIsDeterministicAcrossThreadCounts() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/sharded-llama")], output: tmp.file("m.ingot")).run()
    _ = try CompressAction(sources: [tmp.file("m.ingot")], output: tmp.file("1.ingot"), compression: Compression(chunkSize: 8192, threads: 1)).run()
    _ = try CompressAction(sources: [tmp.file("m.ingot")], output: tmp.file("n.ingot"), compression: Compression(chunkSize: 8192)).run()
    #expect(try readFile(tmp.file("1.ingot")) == readFile(tmp.file("n.ingot")))
    // convert --compress in one pass gives the same tensors and storage.
    var one = ConvertAction(sources: [Fixtures.path("safetensors/sharded-llama")], output: tmp.file("c.ingot"))
    one.compression = Compression(chunkSize: 8192)
    let c = try one.run()
    #expect(c.header.tensors == (try ContainerReader(path: tmp.file("n.ingot"))).header.tensors)
  }

  /// The sharded Llama fixture compressed in 8 KiB chunks (many chunks a tensor), as z.ingot.
  func compressedLlama(_ tmp: TempDir) throws -> ContainerReader {
    _ = try ConvertAction(sources: [Fixtures.path("safetensors/sharded-llama")], output: tmp.file("m.ingot")).run()
    _ = try CompressAction(sources: [tmp.file("m.ingot")], output: tmp.file("z.ingot"), compression: Compression(chunkSize: 8192)).run()
    return try ContainerReader(path: tmp.file("z.ingot"))
  }

  /// A flipped byte in a compressed chunk is pinned to its tensor and never
  /// decompressed into garbage; other tensors stay readable.
  @Test func corruptedChunksAreDetectedByTensor() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try compressedLlama(tmp)
    let victim = try #require(r.header.tensors.firstIndex { $0.name == "model.layers.0.mlp.up_proj.weight" })
    let entry = r.header.tensors[victim]
    let table = try #require(entry.storage.chunks)
    let k = try #require(table.chunks.firstIndex { !$0.raw })
    var bytes = try readFile(tmp.file("z.ingot"))
    let at = Int(r.preamble.dataOffset) + entry.storage.offset + table.storedOffsets[k] + table.chunks[k].stored / 2
    bytes[at] ^= 0x5A
    try writeFile(tmp.file("bad.ingot"), bytes)
    let bad = try ContainerReader(path: tmp.file("bad.ingot"))
    #expect { try bad.withPayload(victim) { _ in } } throws: { "\($0)".contains(entry.name) && "\($0)".contains("chunk \(k)") }
    let report = try VerifyAction(path: tmp.file("bad.ingot")).run()
    #expect(report.failures.count == 1 && report.failures[0].description.contains(entry.name))
    let other = try #require(r.header.tensors.firstIndex { $0.name == "lm_head.weight" })
    #expect(try bad.withPayload(other) { Digest.sha256Hex($0) } == r.header.tensors[other].digest)
    let cli = try run(ingotBinary(), ["verify", tmp.file("bad.ingot")])
    #expect(cli.status == 1 && (cli.stdout + cli.stderr).contains(entry.name))
    // Partial read: slices of one compressed tensor, chunk by chunk.
    var streamed: [UInt8] = []
    try r.forEachSlice(other, size: 1 << 20) { part, at in
      #expect(at == streamed.count)
      streamed += part
    }
    #expect(Digest.sha256Hex(streamed) == r.header.tensors[other].digest)
  }

  /// Chunk tables that lie are refused when the file is opened, before any
  /// allocation; a frame declaring more bytes than its chunk is refused
  /// before it is decompressed.
  @Test func lyingChunkTablesAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let reader = try compressedLlama(tmp)
    /// What the reader says of the file with tensor 0's storage edited:
    /// nil when it accepts it, the refusal otherwise. A header this helper
    /// cannot edit is a test failure, never an "accepted".
    struct CannotEdit: Error {}
    func storageField(_ e: ContainerError) -> String? {
      if case .invalidStorage(_, _, let field, _) = e { return field }
      return nil
    }
    func rewrite(_ edit: (inout [String: JSONValue]) -> Void) throws -> ContainerError? {
      guard case .object(var h) = reader.header.json, case .array(var ts) = h["tensors"], case .object(var t) = ts[0],
        case .object(var d) = t["data"]
      else { throw CannotEdit() }
      let before = d
      edit(&d)
      guard d != before else { throw CannotEdit() }
      t["data"] = .object(d)
      ts[0] = .object(t)
      h["tensors"] = .array(ts)
      return try reopenWithHeader(reader, .object(h), at: tmp.file("lie.ingot"))
    }
    #expect(try rewrite { $0["encoded_length"] = .int(1 << 40) }.flatMap(storageField) == "encoded_length")
    #expect(try rewrite { $0["chunk_size"] = .int(16) }.flatMap(storageField) == "chunk_size")
    #expect(try rewrite { $0["chunks"] = .array([.array([.int(1 << 40), .int(0)])]) }.flatMap(storageField) == "chunks")
    #expect(try rewrite { d in
      guard case .array(var c) = d["chunks"] else { return }
      c[0] = .array([.int(7), .int(1)])
      d["chunks"] = .array(c)
    }.flatMap(storageField) == "chunks")
    #expect(try rewrite { $0["transform"] = .string("magic") }.flatMap(storageField) == "transform")
    #expect(try rewrite { $0["rotate"] = .int(32) }.flatMap(storageField) == "rotate")
    #expect(try rewrite { $0["rotate"] = .int(-1) }.flatMap(storageField) == "rotate")
    // Without the field (files written before it existed), the rotation is one.
    #expect(try rewrite { $0["rotate"] = nil } == nil)

    let big = [UInt8](repeating: 7, count: 8192)
    let frame = try big.withUnsafeBytes { try ChunkCodec.compress($0, width: 0, rotate: 0, level: 1) }
    #expect(!frame.raw)
    var small = [UInt8](repeating: 0, count: 4096)
    #expect(throws: ChunkCodec.Failure.self) {
      try frame.bytes.withUnsafeBytes { src in try small.withUnsafeMutableBytes { try ChunkCodec.decompress(src, raw: false, width: 0, rotate: 0, into: $0) } }
    }
  }
}
