import IngotCore

#if canImport(Glibc)
  import Glibc
#endif

/// What a file is, decided from its content; a file name only breaks ties
/// for inputs without a magic number (ONNX, protocol-0 pickles, JSON indexes).
public enum DetectedFormat: String, Sendable {
  case ingot, safetensors, safetensorsModelFolder = "safetensors folder", safetensorsIndex = "safetensors index"
  case gguf, pytorchZip = "PyTorch zip", pickle = "pickle", numpy = "NumPy .npy", zip = "zip", onnx = "ONNX"
}

public enum FormatError: Error, CustomStringConvertible, Equatable {
  case unknown(file: String, hint: String)
  case notSupportedYet(file: String, format: String)

  public var description: String {
    switch self {
    case .unknown(let f, let hint): "\(f): unknown format (\(hint))"
    case .notSupportedYet(let f, let format): "\(f): detected \(format), which this version cannot read yet"
    }
  }
}

public enum FormatDetector {

  public static func detect(_ path: String) throws -> DetectedFormat {
    if isDirectory(path) { return .safetensorsModelFolder }
    let file = try MappedFile(path: path)
    let head = file.bytes(0..<min(file.size, 64)) ?? UnsafeRawBufferPointer(start: nil, count: 0)
    let b = Array(head)
    if b.starts(with: ContainerMagic.bytes) { return .ingot }
    if b.starts(with: Array("GGUF".utf8)) { return .gguf }
    if b.starts(with: [0x93] + Array("NUMPY".utf8)) { return .numpy }
    if b.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .zip }
    if b.count >= 9, let n = head.readLE(0, as: UInt64.self), n >= 2, n <= SafetensorsFile.maxHeaderLength,
      let first = b[8...].first(where: { $0 != 0x20 }), first == UInt8(ascii: "{")
    {
      return .safetensors
    }
    if let first = b.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
      first == UInt8(ascii: "{"), path.hasSuffix(".json")
    {
      return .safetensorsIndex
    }
    if b.first == 0x80 { return .pickle }
    // ONNX has no magic: a ModelProto starts with ir_version (field 1, varint).
    if b.first == 0x08, path.hasSuffix(".onnx") { return .onnx }
    // Protocol 0/1 pickles start with a text opcode; only believe it for
    // the names checkpoints carry (the decoder then refuses what it must).
    let pickleNames = [".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt"]
    if let c = b.first, "(]}cI".utf8.contains(c), pickleNames.contains(where: { path.hasSuffix($0) }) { return .pickle }
    // Not recognisably anything: a small little-endian length up front, or the
    // name, says safetensors, and its reader then names exactly what is wrong.
    if path.hasSuffix(".safetensors") || (b.count >= 8 && b[4..<8].allSatisfy { $0 == 0 }) {
      return .safetensors
    }
    if file.size < 8 { throw FormatError.unknown(file: path, hint: "only \(file.size) bytes") }
    throw FormatError.unknown(file: path, hint: "first bytes \(b.prefix(8).map { String(format2: $0) }.joined(separator: " "))")
  }
}

extension String {
  init(format2 byte: UInt8) {
    let digits = Array("0123456789abcdef")
    self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
  }
}

extension FormatError: ReportableError {}
