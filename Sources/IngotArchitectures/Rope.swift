import Foundation

/// Rotary position angles for one kind of layer: the base, the scaling a
/// long-context model was trained with, and the inverse frequencies both
/// follow (as transformers' modeling_rope_utils computes them, in f32).
public struct Rope: Equatable, Sendable {
  public enum Scaling: Equatable, Sendable {
    case none
    /// Positions divided by `factor`.
    case linear(factor: Double)
    /// Llama 3.x: low frequencies divided by `factor`, high ones kept, a
    /// smooth ramp between (wavelengths against the original context).
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContext: Double)
    /// YaRN: interpolation below the correction range, extrapolation above,
    /// cos/sin scaled by `attentionFactor`.
    case yarn(factor: Double, originalContext: Double, betaFast: Double, betaSlow: Double, attentionFactor: Double, truncate: Bool)
    /// llama.cpp's `rope_freqs.weight`: each frequency divided by the
    /// tensor's value (how its converter stores Llama 3 scaling).
    case frequencyFactors(tensor: String)
  }

  public var theta: Double
  public var scaling: Scaling

  public init(theta: Double, scaling: Scaling = .none) {
    self.theta = theta
    self.scaling = scaling
  }

  /// Inverse frequencies for a head of `dims` and the cos/sin scale.
  /// - Parameter factors: `rope_freqs.weight`, for `.frequencyFactors`.
  public func inverseFrequencies(dims: Int, factors: [Float]? = nil) -> (inv: [Float], attentionFactor: Float) {
    let half = dims / 2
    // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in f32.
    let base = (0..<half).map { i in Float(1) / Float(pow(theta, Double(Float(2 * i) / Float(dims)))) }
    switch scaling {
    case .none: return (base, 1)
    case .linear(let factor): return (base.map { $0 / Float(factor) }, 1)
    case .frequencyFactors:
      guard let factors, factors.count >= half else { return (base, 1) }
      return ((0..<half).map { base[$0] / factors[$0] }, 1)
    case .llama3(let factor, let low, let high, let original):
      let lowWavelength = original / low, highWavelength = original / high
      let out = base.map { f -> Float in
        let wavelength = 2 * Double.pi / Double(f)
        if wavelength < highWavelength { return f }
        if wavelength > lowWavelength { return f / Float(factor) }
        let smooth = Float((original / wavelength - low) / (high - low))
        return (1 - smooth) * f / Float(factor) + smooth * f
      }
      return (out, 1)
    case .yarn(let factor, let original, let betaFast, let betaSlow, let attentionFactor, let truncate):
      func correction(_ rotations: Double) -> Double {
        Double(dims) * log(original / (rotations * 2 * Double.pi)) / (2 * log(theta))
      }
      var low = correction(betaFast), high = correction(betaSlow)
      if truncate { (low, high) = (floor(low), ceil(high)) }
      low = max(low, 0)
      high = min(high, Double(dims - 1))
      if low == high { high += 0.001 }
      let out = (0..<half).map { i -> Float in
        let ramp = min(max((Float(i) - Float(low)) / Float(high - low), 0), 1)
        let extrapolation = 1 - ramp
        let interpolated = base[i] / Float(factor)
        return interpolated * (1 - extrapolation) + base[i] * extrapolation
      }
      return (out, Float(attentionFactor))
    }
  }
}
