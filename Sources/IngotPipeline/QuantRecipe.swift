import IngotArchitectures
import IngotQuant

/// A named mix of schemes over a model's tensors, both after llama.cpp's
/// layer pattern (its llama_tensor_get_type): the attention value matrix
/// and the MLP down matrix of the layers that matter most (the first and
/// last eighth, and every third layer between) get more bits.
///
/// - mlx-lm's `--quant-predicate` recipes (its convert.py): every layer at
///   `low` bits, those and `lm_head` at `high`. Module paths are Hugging
///   Face's, which is what MLX folders use.
/// - llama-quantize's Q4_K_M and Q5_K_M: Q4_K (Q5_K) everywhere, those two
///   (a fused qkv counts as attn_v, as llama.cpp's llama-quant.cpp
///   category_is_attn_v has it) and the output head at Q6_K; the token
///   embedding at the base type (Q6_K when it is also the output head).
///   A row that does not hold whole 256-value blocks falls back as
///   llama.cpp does: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, and each
///   fallback is named with its reason in the report.
public struct QuantRecipe: Equatable, Sendable {
  public enum Mix: Equatable, Sendable {
    case mlxBits(low: Int, high: Int)
    case ggml(base: GGMLType, more: GGMLType)
  }

  public let name: String
  public let mix: Mix

  public static let mlx: [QuantRecipe] = [(2, 6), (3, 4), (3, 6), (4, 6)].map { QuantRecipe(name: "mixed_\($0)_\($1)", mix: .mlxBits(low: $0, high: $1)) }
  public static let ggml: [QuantRecipe] = [
    QuantRecipe(name: "q4_k_m", mix: .ggml(base: .q4_K, more: .q6_K)),
    QuantRecipe(name: "q5_k_m", mix: .ggml(base: .q5_K, more: .q6_K)),
  ]
  public static var all: [QuantRecipe] { mlx + ggml }

  public static func named(_ name: String) -> QuantRecipe? { all.first { $0.name == name } }

  public var isGGML: Bool { if case .ggml = mix { true } else { false } }

  /// The block index in a tensor name: its first all-digit component.
  public static func layerIndex(_ name: String) -> Int? {
    for part in name.split(separator: ".") where !part.isEmpty && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) { return Int(part) }
    return nil
  }

  /// How many blocks the tensors' names count (highest index + 1).
  public static func layerCount(_ names: [String]) -> Int { (names.compactMap(layerIndex).max() ?? -1) + 1 }

  /// llama.cpp's use_more_bits: layer i of n gets the higher width.
  public static func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }

  /// The bit width for tensor `name` in a model of `layers` blocks (mlx).
  public func bits(for name: String, layers: Int) -> Int {
    guard case .mlxBits(let low, let high) = mix else { return 0 }
    let more = Self.moreBits(Self.layerIndex(name) ?? 0, layers)
    if more && (name.contains("v_proj") || name.contains("v_a_proj") || name.contains("v_b_proj") || name.contains("down_proj")) { return high }
    if name.contains("lm_head") { return high }
    return low
  }

  /// What the recipe gives one tensor: a scheme, with the reason for a
  /// fallback when there is one, or why the tensor keeps its precision.
  public enum Choice: Equatable, Sendable {
    case quantize(QuantScheme, fallback: String?)
    case keep(String)
  }

  /// - Parameter tiedOutput: the token embedding is also the output head.
  public func choice(for name: String, shape: [Int], base: QuantScheme, layers: Int, tiedOutput: Bool) -> Choice {
    switch mix {
    case .mlxBits:
      var s = base
      s.options.bits = bits(for: name, layers: layers)
      return .quantize(s, fallback: nil)
    case .ggml(let baseType, let more):
      let role = Architectures.role(of: name)
      var type = baseType
      switch role?.role {
      case .positionEmbedding?, .tokenTypeEmbedding?: return .keep("\(role!.role) (llama.cpp keeps position and token-type embeddings)")  // audited: matched
      case .output?: type = more
      case .tokenEmbedding?: type = tiedOutput ? more : baseType
      case .attnV?, .attnQKV?, .ffnDown?: if Self.moreBits(role?.layer ?? 0, layers) { type = more }
      default: break
      }
      let cols = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 0
      var fallback: String? = nil
      if cols % type.block.elements != 0, let f = Self.fallback[type] {
        fallback = "row length \(cols) is not a multiple of \(type)'s \(type.block.elements): \(f) (llama.cpp's fallback)"
        type = f
      }
      guard let s = try? QuantScheme(family: type.description.lowercased(), options: QuantOptions(), search: base.search) else {
        return .keep("no scheme for \(type)")
      }
      return .quantize(s, fallback: fallback)
    }
  }

  /// llama.cpp's types for rows that do not hold whole super-blocks.
  /// (llama-quant.cpp's tensor_type_fallback.)
  static let fallback: [GGMLType: GGMLType] = [.q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0, .iq4_xs: .iq4_nl, .q2_K: .q4_0, .q3_K: .q4_0]
}
