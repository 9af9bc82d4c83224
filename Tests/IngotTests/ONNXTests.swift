import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// ONNX initializers against the manifest; external data stays in its folder.
@Suite struct ONNXTests {
  @Test(arguments: ["onnx/inline.onnx", "onnx/external.onnx"])
  func initializersMatchTheManifest(_ file: String) throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try convertFixture(file, into: tmp, as: "o.ingot")
    let expected = try #require(try Fixtures.manifest()["fixtures"]?["onnx"]?["tensors"]?.objectValue)
    #expect(Set(r.header.tensors.map(\.name)) == Set(expected.keys))
    for t in r.header.tensors {
      #expect(t.digest == expected[t.name]?["sha256_raw_le"]?.stringValue, "\(t.name)")
      #expect(t.shape == expected[t.name]?["shape"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }, "\(t.name)")
    }
    if file.hasSuffix("external.onnx") {
      let inputs = r.provenance[0].inputs
      #expect(inputs.map(\.path) == ["external.onnx", "external.onnx.data"])
      #expect(inputs[1].sha256 == sha256(try readFile(Fixtures.path("onnx/external.onnx.data"))))
    }
  }

  /// Locations with '..', absolute paths and symlinks out of the folder are refused.
  @Test func externalLocationsCannotLeaveTheModelFolder() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let model = try readFile(Fixtures.path("onnx/external.onnx"))
    let original = Array("external.onnx.data".utf8)
    func variant(_ location: String) throws -> String {
      let replacement = Array(location.utf8)
      precondition(replacement.count == original.count)
      var bytes = model
      var i = 0
      while i + original.count <= bytes.count {
        if Array(bytes[i..<(i + original.count)]) == original { bytes.replaceSubrange(i..<(i + original.count), with: replacement) }
        i += 1
      }
      try writeFile(tmp.file("m.onnx"), bytes)
      return tmp.file("m.onnx")
    }
    try FileManager.default.copyItem(atPath: Fixtures.path("onnx/external.onnx.data"), toPath: tmp.file("external.onnx.data"))
    #expect(throws: Never.self) { _ = try ONNXModel(path: try variant("external.onnx.data")) }
    for location in ["../../../etc/passwd", "/etc/../etc/passwd"] {
      let path = try variant(location.padding(toLength: 18, withPad: "x", startingAt: 0))
      #expect { _ = try ONNXModel(path: path) } throws: { if case .externalEscapes? = $0 as? ONNXError { true } else { false } }
    }
    try FileManager.default.createSymbolicLink(atPath: tmp.file("escape.onnx.dataxx"), withDestinationPath: "/etc/passwd")
    #expect { _ = try ONNXModel(path: try variant("escape.onnx.dataxx")) } throws: { if case .externalUnresolved? = $0 as? ONNXError { true } else { false } }
  }
}

/// Typed float data as ONNX writers may emit it (issue 15 #6).
@Suite struct ONNXTypedDataTests {
  func varint(_ v: UInt64) -> [UInt8] { Wire.varint(v) }
  func field(_ n: UInt64, _ bytes: [UInt8]) -> [UInt8] { Wire.field(n, bytes) }
  func f32(_ x: Float) -> [UInt8] { withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }

  /// A ModelProto whose graph holds one initializer.
  func model(_ tensor: [UInt8]) -> [UInt8] { varint(1 << 3) + varint(8) + field(7, field(5, tensor)) }

  @Test func packedAndUnpackedFloatDataKeepWireOrder() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    // dims [3], FLOAT, float_data: 1.0 unpacked, then 2.0 and 3.0 packed.
    let tensor = varint(1 << 3) + varint(3) + varint(2 << 3) + varint(1) + varint(4 << 3 | 5) + f32(1) + field(4, f32(2) + f32(3)) + field(8, Array("w".utf8))
    try writeFile(tmp.file("m.onnx"), model(tensor))
    let source = try ONNXModel(path: tmp.file("m.onnx"))
    let values = try source.withPayload(0) { p in (0..<3).map { p.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
    #expect(values == [1, 2, 3])
  }

  @Test func floatDataInADoubleTensorIsRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    // dims [2], DOUBLE (11), but the values are in float_data (4 bytes each: 8 in all, what one double needs... twice over).
    let tensor = varint(1 << 3) + varint(2) + varint(2 << 3) + varint(11) + field(4, f32(1) + f32(2) + f32(3) + f32(4)) + field(8, Array("d".utf8))
    try writeFile(tmp.file("m.onnx"), model(tensor))
    #expect { _ = try ONNXModel(path: tmp.file("m.onnx")) } throws: { error in
      guard case .typedDataMismatch(_, "d", "float_data", "f64")? = error as? ONNXError else { return false }
      return true
    }
  }
}
