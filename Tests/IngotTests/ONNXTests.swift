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
    _ = try ConvertAction(sources: [Fixtures.path(file)], output: tmp.file("o.ingot")).run()
    let r = try ContainerReader(path: tmp.file("o.ingot"))
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
    for (location, reason) in [("../../../etc/passwd", "leaves the model's folder"), ("/etc/../etc/passwd", "absolute")] {
      let path = try variant(location.padding(toLength: 18, withPad: "x", startingAt: 0))
      #expect { _ = try ONNXModel(path: path) } throws: { "\($0)".contains(reason) }
    }
    try FileManager.default.createSymbolicLink(atPath: tmp.file("escape.onnx.dataxx"), withDestinationPath: "/etc/passwd")
    #expect { _ = try ONNXModel(path: try variant("escape.onnx.dataxx")) } throws: { "\($0)".contains("outside") }
  }
}
