import IngotQuant

/// A named mix of bit widths, as mlx-lm's `--quant-predicate` recipes (its
/// convert.py, after llama.cpp's Q4_K_M): every layer at `low` bits, except
/// `v_proj` and `down_proj` in the layers that matter most (the first and
/// last eighth, and every third layer between) and `lm_head`, at `high`.
/// Module paths are Hugging Face's, which is what MLX folders use.
public struct QuantRecipe: Equatable, Sendable {
  public let name: String
  public let low: Int
  public let high: Int

  public static let mlx: [QuantRecipe] = [
    QuantRecipe(name: "mixed_2_6", low: 2, high: 6), QuantRecipe(name: "mixed_3_4", low: 3, high: 4),
    QuantRecipe(name: "mixed_3_6", low: 3, high: 6), QuantRecipe(name: "mixed_4_6", low: 4, high: 6),
  ]

  public static func named(_ name: String) -> QuantRecipe? { mlx.first { $0.name == name } }

  /// The block index in a tensor name: its first all-digit component.
  public static func layerIndex(_ name: String) -> Int? {
    for part in name.split(separator: ".") where !part.isEmpty && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) { return Int(part) }
    return nil
  }

  /// How many blocks the tensors' names count (highest index + 1).
  public static func layerCount(_ names: [String]) -> Int { (names.compactMap(layerIndex).max() ?? -1) + 1 }

  /// The bit width for tensor `name` in a model of `layers` blocks.
  public func bits(for name: String, layers: Int) -> Int {
    let i = Self.layerIndex(name) ?? 0
    let more = i < layers / 8 || i >= 7 * layers / 8 || (i - layers / 8) % 3 == 2
    if more && (name.contains("v_proj") || name.contains("v_a_proj") || name.contains("v_b_proj") || name.contains("down_proj")) { return high }
    if name.contains("lm_head") { return high }
    return low
  }

  /// The run's scheme with this tensor's bit width.
  public func scheme(for name: String, base: QuantScheme, layers: Int) -> QuantScheme {
    var s = base
    s.options.bits = bits(for: name, layers: layers)
    return s
  }
}
