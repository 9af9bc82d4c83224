import IngotCore

/// A model's configuration, decoded once from config.json or from GGUF keys
/// (in the manner of mlx-swift-lm's configuration structs), and checked for
/// consistency before any kernel sees it.
public struct ModelConfig: Equatable, Sendable {
  public var architecture: String
  public var modelType: String
  public var hiddenSize: Int
  public var layers: Int
  public var heads: Int
  public var kvHeads: Int
  public var headDim: Int
  public var intermediateSize: Int
  public var vocabSize: Int
  /// Learned positions (BERT, GPT-2) or the trained context.
  public var maxPositions: Int?
  public var normEps: Double
  /// Rotary angles of full-attention layers (all layers unless `localRope`).
  public var rope: Rope
  public var activation: String?
  public var tieWordEmbeddings: Bool
  /// Tokens a sliding-window layer looks back over (itself included).
  public var slidingWindow: Int? = nil
  /// Per layer: does it use the sliding window?
  public var slidingLayers: [Bool] = []
  /// Rotary angles of sliding layers, when they differ (Gemma 3's local base).
  public var localRope: Rope? = nil
  /// Multiplies q·k (1/√head_dim unless the model says otherwise).
  public var queryScale: Double = 0
  /// cap·tanh(x / cap) on attention scores and on the final logits (Gemma 2).
  public var attentionSoftcap: Double? = nil
  public var finalSoftcap: Double? = nil

  public func isSliding(_ layer: Int) -> Bool { slidingWindow != nil && layer < slidingLayers.count && slidingLayers[layer] }
  public func rope(layer: Int) -> Rope { isSliding(layer) ? localRope ?? rope : rope }
}

/// A config that cannot describe a model: one case per check, naming the key.
public enum ConfigError: Error, Equatable, Sendable, ReportableError {
  case missing(key: String)
  case notAnInteger(key: String)
  case outOfRange(key: String, value: Int64, reason: String)
  case inconsistent(key: String, reason: String)
  case unsupported(key: String, value: String, supported: String)
  case unknownArchitecture(String, known: [String])
  case notJSON(String)

  public var description: String {
    switch self {
    case .missing(let k): "config: no integer '\(k)'"
    case .notAnInteger(let k): "config: '\(k)' is not an integer"
    case .outOfRange(let k, let v, let r): "config: \(k) = \(v): \(r)"
    case .inconsistent(let k, let r): "config: \(k): \(r)"
    case .unsupported(let k, let v, let s): "config: \(k) '\(v)' is not implemented (\(s))"
    case .unknownArchitecture(let a, let known): "model_type '\(a)' has no reference forward pass (\(known.joined(separator: ", ")) do)"
    case .notJSON(let r): "config.json: \(r)"
    }
  }
}
