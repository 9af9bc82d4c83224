import IngotCore

import Foundation
import IngotContainer

/// Paths and helpers shared by the test suites.
public enum Fixtures {
  /// Tests/IngotTests/Fixtures, found from this file's location.
  public static let root: String = {
    let here = URL(fileURLWithPath: #filePath)
    return here.deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("IngotTests/Fixtures").path
  }()

  public static func path(_ relative: String) -> String { root + "/" + relative }

  /// The repository root (for tools/ingot_read.py).
  public static let repoRoot: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
  }()

  public static func manifest() throws -> JSONValue {
    let data = try Data(contentsOf: URL(fileURLWithPath: path("MANIFEST.json")))
    return try JSONParser.parse([UInt8](data))
  }
}

/// A fresh folder under the system temp directory, removed by `cleanup()`.
public struct TempDir: Sendable {
  public let path: String
  public init() {
    path = NSTemporaryDirectory() + "ingot-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  public func file(_ name: String) -> String { path + "/" + name }
  public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

public func readFile(_ path: String) throws -> [UInt8] {
  [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

public func writeFile(_ path: String, _ bytes: [UInt8]) throws {
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

public func sha256(_ bytes: [UInt8]) -> String { Digest.sha256Hex(bytes) }

/// Result of running a program.
public struct RunResult: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String
}

/// Runs `executable` with `arguments`; stdout and stderr are captured.
public func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> RunResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  if let environment { process.environment = environment }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read before waiting so a large output cannot fill the pipe and block.
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return RunResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// The `ingot` binary built next to the test bundle.
public func ingotBinary() -> String {
  let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
  // swift-testing may run from inside the .xctest bundle folder.
  for _ in 0..<3 {
    let candidate = dir.appendingPathComponent("ingot").path
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    dir = dir.deletingLastPathComponent()
  }
  return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ingot").path
}

/// A minimal .npy reader for the reference values (little-endian f8/f4/i8/bool,
/// C order): enough for fixtures, independent of the code under test.
public struct Npy: Sendable {
  public var shape: [Int]
  public var values: [Double]

  public init(path: String) throws {
    let b = try readFile(path)
    guard b.count > 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else { throw NpyError.bad(path) }
    let major = b[6]
    let (hlen, start) = major == 1 ? (Int(b[8]) | Int(b[9]) << 8, 10) : (Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24, 12)
    let header = String(decoding: b[start..<(start + hlen)], as: UTF8.self)
    let data = Array(b[(start + hlen)...])
    guard let descrRange = header.range(of: "'descr': '") else { throw NpyError.bad(path) }
    let descr = String(header[descrRange.upperBound...].prefix(while: { $0 != "'" }))
    guard let shapeStart = header.range(of: "'shape': (") else { throw NpyError.bad(path) }
    let dims = header[shapeStart.upperBound...].prefix(while: { $0 != ")" })
    shape = dims.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    let fortran = header.contains("'fortran_order': True")
    values = try data.withUnsafeBytes { raw -> [Double] in
      switch descr {
      case "<f8": return (0..<(data.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
      case "<f4": return (0..<(data.count / 4)).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)) }
      case "<i8": return (0..<(data.count / 8)).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
      case "<i4": return (0..<(data.count / 4)).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
      case "|b1", "|u1": return data.map { Double($0) }
      default: throw NpyError.unsupported(descr)
      }
    }
    if fortran && shape.count > 1 {
      // Element (i0, i1, …) of a Fortran-order array sits at i0 + d0·(i1 + d1·(…)).
      let source = values
      // C-order element i has digits (i₀ … iₙ) in the mixed radix of the
      // shape; its Fortran offset reads the same digits first-fastest.
      var strides = [Int](repeating: 1, count: shape.count)
      for d in shape.indices.dropFirst() { strides[d] = strides[d - 1] * shape[d - 1] }
      for i in 0..<source.count {
        var rest = i, from = 0
        for d in shape.indices.reversed() {
          from += (rest % shape[d]) * strides[d]
          rest /= shape[d]
        }
        values[i] = source[from]
      }
    }
  }
}

public enum NpyError: Error { case bad(String), unsupported(String) }

/// Decodes raw little-endian tensor bytes to doubles, written independently of
/// the library (bit manipulation from the IEEE / OCP FP8 definitions).
public func decodeValues(_ bytes: [UInt8], dtype: DType) -> [Double]? {
  func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
  func u32(_ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * $1) } }
  func u64(_ i: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * $1) } }
  func half(_ h: UInt16) -> Double {
    let s: Double = h & 0x8000 != 0 ? -1 : 1
    let e = Int((h >> 10) & 0x1F)
    let m = Double(h & 0x3FF)
    if e == 0 { return s * m / 1024 * pow(2, -14) }
    if e == 31 { return m == 0 ? s * .infinity : .nan }
    return s * (1 + m / 1024) * pow(2, Double(e - 15))
  }
  switch dtype {
  case .f32: return stride(from: 0, to: bytes.count, by: 4).map { Double(Float(bitPattern: u32($0))) }
  case .f64: return stride(from: 0, to: bytes.count, by: 8).map { Double(bitPattern: u64($0)) }
  case .f16: return stride(from: 0, to: bytes.count, by: 2).map { half(u16($0)) }
  case .bf16: return stride(from: 0, to: bytes.count, by: 2).map { Double(Float(bitPattern: UInt32(u16($0)) << 16)) }
  case .i8: return bytes.map { Double(Int8(bitPattern: $0)) }
  case .u8: return bytes.map { Double($0) }
  case .bool: return bytes.map { Double($0) }
  case .i16: return stride(from: 0, to: bytes.count, by: 2).map { Double(Int16(bitPattern: u16($0))) }
  case .i32: return stride(from: 0, to: bytes.count, by: 4).map { Double(Int32(bitPattern: u32($0))) }
  case .i64: return stride(from: 0, to: bytes.count, by: 8).map { Double(Int64(bitPattern: u64($0))) }
  case .f8_e5m2: return bytes.map { half(UInt16($0) << 8) }
  case .f8_e4m3:
    return bytes.map { b in
      let s: Double = b & 0x80 != 0 ? -1 : 1
      let e = Int((b >> 3) & 0xF)
      let m = Double(b & 0x7)
      if e == 15 && b & 7 == 7 { return .nan }
      return e == 0 ? s * m / 8 * pow(2, -6) : s * (1 + m / 8) * pow(2, Double(e - 7))
    }
  default: return nil
  }
}

/// Writes an f32 safetensors file by hand (header JSON + little-endian data),
/// independently of the code under test.
public func writeSafetensorsF32(_ path: String, _ tensors: [(String, [Int], [Float])]) throws {
  var header = "{"
  var data: [UInt8] = []
  for (k, (name, shape, values)) in tensors.enumerated() {
    let start = data.count
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
    header += (k > 0 ? "," : "") + "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(start),\(data.count)]}"
  }
  header += "}"
  while header.utf8.count % 8 != 0 { header += " " }
  var bytes: [UInt8] = []
  withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
  try writeFile(path, bytes + Array(header.utf8) + data)
}

/// IEEE binary16 → Double, from the bit layout.
public func halfToDouble(_ h: UInt16) -> Double {
  decodeValues([UInt8(h & 0xFF), UInt8(h >> 8)], dtype: .f16)?.first ?? .nan
}

/// Protocol-buffer wire bytes for hand-built ONNX files.
public enum Wire {
  public static func varint(_ v: UInt64) -> [UInt8] {
    var v = v, out: [UInt8] = []
    repeat {
      out.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0))
      v >>= 7
    } while v > 0
    return out
  }
  /// A length-delimited field.
  public static func field(_ n: UInt64, _ bytes: [UInt8]) -> [UInt8] { varint(n << 3 | 2) + varint(UInt64(bytes.count)) + bytes }
}
