import IngotArchitectures
import IngotCore

/// A reference forward pass over a container's weights: chosen from the
/// config's `model_type` through the architecture registry, run layer by
/// layer over all sequences at once so each layer's weights are read (and
/// dequantized) once.
public protocol ForwardModel {
  /// Logits (decoders) or the last hidden state (encoders), per sequence,
  /// row-major [tokens × outputDim].
  func run(_ sequences: [[Int]]) throws -> [[Float]]
  var outputDim: Int { get }
  var vocabSize: Int { get }
  /// "logits" or "last_hidden_state".
  var outputKind: String { get }
  /// Longest sequence the model takes (learned positions), if limited.
  var positionLimit: Int? { get }
}

public enum Models {
  public static func load(_ weights: Weights) throws -> any ForwardModel {
    _ = Heap.tuned
    return try weights.context { try make(weights) }
  }

  static func make(_ weights: Weights) throws -> any ForwardModel {
    let (spec, config) = try weights.config()
    let w = NamedWeights(weights, spec)
    switch (spec.kind, spec.positions) {
    case (.encoder, _): return Bert(w: w, c: config)
    case (.decoder, .learned): return GPT2(w: w, c: config)
    case (.decoder, .rotary): return Decoder(w: w, c: config)
    }
  }

  static func check(_ tokens: [[Int]], vocab: Int, maxPositions: Int?) throws {
    for s in tokens {
      guard !s.isEmpty else { throw RuntimeError.badInput("an input sequence is empty") }
      if let maxPositions, s.count > maxPositions { throw RuntimeError.badInput("a sequence of \(s.count) tokens exceeds the model's \(maxPositions) positions") }
      for t in s where t < 0 || t >= vocab { throw RuntimeError.badInput("token \(t) is outside the vocabulary (0..<\(vocab))") }
    }
  }

  /// Row ranges of each sequence in the stacked [Σ tokens × dim] activations:
  /// every weight multiplies all sequences' rows in one product.
  static func offsets(_ sequences: [[Int]]) -> [Range<Int>] {
    var at = 0
    return sequences.map { s in
      defer { at += s.count }
      return at..<(at + s.count)
    }
  }

  static func split(_ x: [Float], _ ranges: [Range<Int>], dim: Int) -> [[Float]] {
    ranges.map { Array(x[($0.lowerBound * dim)..<($0.upperBound * dim)]) }
  }

  static func embed(_ table: [Float], dim: Int, _ tokens: [Int]) -> [Float] {
    var x = [Float](repeating: 0, count: tokens.count * dim)
    for (i, t) in tokens.enumerated() { for c in 0..<dim { x[i * dim + c] = table[t * dim + c] } }
    return x
  }
}

/// A forward pass built from its weights and its typed config: the
/// properties every architecture answers the same way.
protocol ConfiguredModel: ForwardModel {
  var w: NamedWeights { get }
  var c: ModelConfig { get }
}

extension ConfiguredModel {
  var vocabSize: Int { c.vocabSize }
  var outputDim: Int { w.spec.kind == .encoder ? c.hiddenSize : c.vocabSize }
  var outputKind: String { w.spec.kind == .encoder ? "last_hidden_state" : "logits" }
  /// Learned positions are a hard limit; rotary ones are not.
  var positionLimit: Int? { w.spec.positions == .learned ? c.maxPositions : nil }
  var eps: Float { Float(c.normEps) }
  var dim: Int { c.hiddenSize }
  var heads: Int { c.heads }
  var layers: Int { c.layers }
  var inter: Int { c.intermediateSize }
  var maxPositions: Int { c.maxPositions ?? 0 }

  /// Every sequence non-empty, within the positions and the vocabulary.
  func check(_ sequences: [[Int]]) throws { try Models.check(sequences, vocab: vocabSize, maxPositions: positionLimit) }
}

/// A model's weights by role, through its architecture's names: the one
/// place a forward pass turns roles into tensor names.
struct NamedWeights {
  let w: Weights
  let spec: ArchitectureSpec
  /// The prefix this checkpoint uses ("", "bert.", "transformer.").
  let prefix: String

  init(_ w: Weights, _ spec: ArchitectureSpec) {
    self.w = w
    self.spec = spec
    let probe = spec.hfName(.tokenEmbedding).map { $0 + ".weight" } ?? ""
    prefix = spec.prefixes.first { w.has($0 + probe) } ?? spec.prefixes.first ?? ""
  }

  func name(_ role: TensorRole, _ layer: Int? = nil, _ part: String = "weight") -> String {
    prefix + (spec.hfName(role, layer: layer) ?? role.rawValue) + "." + part
  }

  func has(_ role: TensorRole, _ layer: Int? = nil, _ part: String = "weight") -> Bool { w.has(name(role, layer, part)) }

  func load(_ role: TensorRole, _ layer: Int? = nil, _ part: String = "weight", shape: [Int]) throws -> [Float] {
    try w.load(name(role, layer, part), shape: shape)
  }

  /// x (rows × in) times a role's [out, in] matrix, plus bias: the one
  /// place a forward pass multiplies by a layer's weight, so a calibration
  /// run (Weights.observer) sees every linear layer's input.
  func linear(_ role: TensorRole, _ layer: Int?, _ x: [Float], rows n: Int, out m: Int, in k: Int, bias: [Float]? = nil) throws -> [Float] {
    let matrix = try load(role, layer, shape: [m, k])
    try w.observer?.record(name(role, layer), layer: layer, x, rows: n, cols: k)
    return Ops.linear(x, rows: n, matrix, out: m, in: k, bias: bias)
  }

  /// The untied output head, read by its unprefixed name as checkpoints store it.
  func head(shape: [Int]) throws -> [Float]? {
    guard let n = spec.hfName(.output).map({ $0 + ".weight" }), w.has(n) else { return nil }
    return try w.load(n, shape: shape)
  }
}

/// Mean over tokens (all tokens attended), as sentence-transformers pools.
public func meanPool(_ x: [Float], tokens: Int, dim: Int) -> [Float] {
  var out = [Float](repeating: 0, count: dim)
  for t in 0..<tokens { for c in 0..<dim { out[c] += x[t * dim + c] } }
  return out.map { $0 / Float(tokens) }
}
