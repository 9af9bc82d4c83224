import IngotContainer
import IngotCore
import IngotFormats

/// Opens any supported input, `.ingot` included, as a TensorSource: the
/// formats module detects and reads foreign files; this layer adds the
/// container reader, which the formats never depend on.
public enum Inputs {
  /// Opens any supported input as a TensorSource.
  public static func open(_ paths: [String], ggufNames: GGUFNames? = nil, ggufNative: Bool = true) throws -> any TensorSource {
    guard let first = paths.first else { throw FormatError.unknown(file: "", hint: "no input given") }
    let format = try FormatDetector.detect(first)
    for other in paths.dropFirst() {
      let f = try FormatDetector.detect(other)
      guard f == format || (format != .ingot && f != .ingot) else {
        throw FormatError.unknown(file: other, hint: "cannot mix \(f.rawValue) with \(format.rawValue) inputs")
      }
    }
    switch format {
    case .ingot:
      guard paths.count == 1 else {
        throw FormatError.unknown(file: paths[1], hint: "only one .ingot input at a time")
      }
      return try ContainerReader(path: first)
    case .safetensorsModelFolder where paths.count == 1 && MLXSource.quantizationBlock(folder: first) != nil:
      // An mlx-lm quantized folder: its layers are read as MLX stores them.
      return try MLXSource(folder: first)
    case .safetensors, .safetensorsModelFolder, .safetensorsIndex:
      return try SafetensorsSource(paths: paths)
    case .numpy:
      return try NumpySource(paths: paths)
    case .onnx:
      guard paths.count == 1 else { throw FormatError.unknown(file: paths[1], hint: "one ONNX model at a time") }
      return try ONNXModel(path: first)
    case .gguf:
      guard paths.count == 1 else { throw FormatError.unknown(file: paths[1], hint: "one GGUF file at a time") }
      return try GGUFSource(path: first, names: ggufNames, native: ggufNative)
    case .zip:
      // An .npz holds only .npy members; any other zip (PyTorch) is not read yet.
      let archive = try ZipArchive(file: try MappedFile(path: first))
      if !archive.entries.isEmpty, archive.entries.allSatisfy({ $0.name.hasSuffix(".npy") }) {
        return try NumpySource(paths: paths)
      }
      guard paths.count == 1 else { throw FormatError.unknown(file: paths[1], hint: "one PyTorch checkpoint at a time") }
      return try TorchCheckpoint(path: first)
    case .pickle:
      guard paths.count == 1 else { throw FormatError.unknown(file: paths[1], hint: "one PyTorch checkpoint at a time") }
      return try TorchCheckpoint(path: first)
    default:
      throw FormatError.notSupportedYet(file: first, format: format.rawValue)
    }
  }
}
