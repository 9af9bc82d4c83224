/// A small, well-known PRNG (Steele et al.): demo weights, validate's
/// default inputs and the tests' data are the same everywhere.
public struct SplitMix64: Sendable {
  var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// Uniform in (0, 1).
  public mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
  /// Approximately standard normal (Irwin–Hall: 12 uniforms − 6). Plain
  /// arithmetic, so the bits do not depend on a platform's libm.
  public mutating func normal() -> Double {
    var sum = 0.0
    for _ in 0..<12 { sum += uniform() }
    return sum - 6
  }
}
