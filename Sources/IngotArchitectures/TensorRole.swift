/// What a tensor does in a model, whatever its architecture calls it
/// (in the manner of gguf-py's MODEL_TENSOR enum).
public enum TensorRole: String, CaseIterable, Sendable {
  case tokenEmbedding, positionEmbedding, tokenTypeEmbedding, embeddingNorm
  case attnNorm, attnQ, attnK, attnV, attnQKV, attnOutput, attnOutputNorm
  /// RMSNorm over each head of q and k before rotary (Qwen3, Gemma 3).
  case attnQNorm, attnKNorm
  /// Gemma's norms after attention and after the MLP, before the residual add.
  case attnPostNorm, ffnPostNorm
  /// ffnUp holds gate and up stacked when the architecture fuses them (Phi-3).
  case ffnNorm, ffnGate, ffnUp, ffnDown, ffnOutputNorm
  case outputNorm, output, ropeFreqs

  /// Looked up by token id, not multiplied: embedding tables.
  public var isEmbedding: Bool { self == .tokenEmbedding || self == .positionEmbedding || self == .tokenTypeEmbedding }
  /// The embedding layer: its tables and the norm applied to their sum
  /// (what `--embeddings keep` keeps).
  public var isEmbeddingLayer: Bool { isEmbedding || self == .embeddingNorm }
  public var isOutputHead: Bool { self == .output }
  /// A norm's scale vector (Gemma stores these as w with the model adding 1).
  public var isNorm: Bool {
    switch self {
    case .embeddingNorm, .attnNorm, .attnOutputNorm, .attnQNorm, .attnKNorm, .attnPostNorm, .ffnNorm, .ffnPostNorm, .ffnOutputNorm, .outputNorm: true
    default: false
    }
  }
  /// Matrices of attention and MLP blocks: the rows that a derivation keeps
  /// (up to permutation) and that go through a product per token.
  public var isBlockMatrix: Bool {
    switch self {
    case .attnQ, .attnK, .attnV, .attnQKV, .attnOutput, .ffnGate, .ffnUp, .ffnDown: true
    default: false
    }
  }
}
