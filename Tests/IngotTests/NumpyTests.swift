import IngotCore
import IngotPipeline
import Foundation
import IngotCommands
import IngotContainer
import IngotFormats
import IngotTestSupport
import Testing

/// .npy / .npz import against numpy's own files (fixtures/numpy).
@Suite struct NumpyTests {
  func converted(_ file: String, _ tmp: TempDir) throws -> ContainerReader {
    _ = try ConvertAction(sources: [Fixtures.path(file)], output: tmp.file("n.ingot"), force: true).run()
    return try ContainerReader(path: tmp.file("n.ingot"))
  }

  func payload(_ r: ContainerReader, _ name: String) throws -> [UInt8] {
    let i = try #require(r.header.tensors.firstIndex { $0.name == name })
    return try r.withPayload(i) { [UInt8]($0) }
  }

  /// The .npy data section as numpy wrote it (after the header).
  func rawData(_ file: String) throws -> [UInt8] {
    let b = try readFile(Fixtures.path(file))
    let n = Int(b[8]) | Int(b[9]) << 8
    return Array(b[(10 + n)...])
  }

  @Test func littleEndianCOrderIsImportedAsIs() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try converted("numpy/f32_c.npy", tmp)
    let t = try #require(r.header.tensors.first)
    #expect(t.name == "f32_c" && t.dtype == .f32 && t.shape == [5, 7])
    let want = try Fixtures.manifest()["fixtures"]?["numpy"]?["f32_c.npy"]?["sha256_raw_le"]?.stringValue
    #expect(t.digest == want)
    #expect(try payload(r, "f32_c") == rawData("numpy/f32_c.npy"))
    let h = try converted("numpy/f16.npy", tmp)
    #expect(h.header.tensors.first?.dtype == .f16)
    #expect(try payload(h, "f16") == rawData("numpy/f16.npy"))
  }

  @Test func bigEndianIsByteSwapped() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try converted("numpy/i16_bigendian.npy", tmp)
    #expect(r.header.tensors.first?.dtype == .i16 && r.header.tensors.first?.shape == [3, 4])
    let raw = try rawData("numpy/i16_bigendian.npy")
    let swapped = stride(from: 0, to: raw.count, by: 2).flatMap { [raw[$0 + 1], raw[$0]] }
    #expect(try payload(r, "i16_bigendian") == swapped)
  }

  @Test func fortranOrderIsTransposedToCOrder() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let r = try converted("numpy/f64_fortran.npy", tmp)
    #expect(r.header.tensors.first?.shape == [4, 3])
    let raw = try rawData("numpy/f64_fortran.npy")
    // Element (i, j) of a 4×3 Fortran array sits at j·4 + i.
    var want: [UInt8] = []
    for i in 0..<4 { for j in 0..<3 { want += raw[((j * 4 + i) * 8)..<((j * 4 + i) * 8 + 8)] } }
    #expect(try payload(r, "f64_fortran") == want)
  }

  @Test func storedAndDeflatedArchivesGiveTheSameArrays() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let a = try converted("numpy/stored.npz", tmp).header.tensors
    let b = try converted("numpy/compressed.npz", tmp).header.tensors
    #expect(a.map(\.name) == ["bias", "weight"])
    #expect(a.map(\.digest) == b.map(\.digest))
    #expect(a.map(\.shape) == [[7], [5, 7]])
  }

  @Test func aDeflateBombIsRefusedWithoutAllocatingIt() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let start = Date()
    #expect { _ = try NumpySource(paths: [Fixtures.path("pytorch/malicious/deflated_bomb.npz")]) } throws: { error in
      let text = "\(error)"
      return text.contains("deflated_bomb.npz") && (text.contains("16000000000") || text.contains("refusing"))
    }
    #expect(Date().timeIntervalSince(start) < 5)
  }

  @Test func objectArraysAndBrokenFilesAreRefused() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    func npy(_ header: String, data: [UInt8]) throws -> String {
      var h = header
      while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
      h += "\n"
      let path = tmp.file("x.npy")
      try writeFile(path, [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)] + Array(h.utf8) + data)
      return path
    }
    let cases: [(String, [UInt8], @Sendable (NumpyError) -> Bool)] = [
      ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", [UInt8](repeating: 0, count: 16), { if case .objectArray(_, "x") = $0 { true } else { false } }),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", [UInt8](repeating: 0, count: 12), { if case .dataLength(_, "x", 12, 16) = $0 { true } else { false } }),
      ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 4), { if case .structuredDType = $0 { true } else { false } }),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }", [], { if case .shapeOverflow = $0 { true } else { false } }),
      ("{'descr': '<U8', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 32), { if case .unsupportedDType(_, _, "<U8") = $0 { true } else { false } }),
    ]
    for (header, data, matches) in cases {
      let path = try npy(header, data: data)
      #expect { _ = try NumpySource(paths: [path]) } throws: { ($0 as? NumpyError).map(matches) ?? false && "\($0)".contains("x.npy") }
    }
    try writeFile(tmp.file("short.npy"), [0x93, 0x4E, 0x55])
    #expect(throws: (any Error).self) { _ = try Inputs.open([tmp.file("short.npy")]) }
  }
}

