import IngotCore

/// Why an MLX folder was refused, or could not be written. Each check has its
/// own case; every case names the tensor or config key it is about.
public enum MLXError: Error, CustomStringConvertible, Equatable {
  /// config.json's `quantization` block is not what mlx-lm reads.
  case badQuantization(file: String, key: String, reason: String)
  /// A quantized layer's weight, scales and biases do not fit together.
  case badLayer(file: String, tensor: String, reason: String)
  /// A tensor that has no exact MLX form (export).
  case noMLXForm(tensor: String, reason: String)
  /// The container cannot be described as an mlx-lm model (export).
  case noConfig(reason: String)

  public var description: String {
    switch self {
    case .badQuantization(let f, let k, let r): "\(f): quantization.\(k): \(r)"
    case .badLayer(let f, let t, let r): "\(f): \(t): \(r)"
    case .noMLXForm(let t, let r): "\(t): no exact MLX form: \(r)"
    case .noConfig(let r): "cannot write an mlx-lm folder: \(r)"
    }
  }
}
