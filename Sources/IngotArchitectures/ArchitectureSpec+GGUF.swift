import Foundation
import IngotCore

extension ArchitectureSpec {
  /// A config as llama.cpp's `{arch}.*` keys, with the wire types its
  /// loader checks (u32 counts, f32 epsilons and bases): the converse of
  /// `config(gguf:)`, so that reading the keys back gives the same config.
  /// Llama 3 rope scaling has no key: it travels as `ropeFrequencyFactors`.
  public func ggufKeyValues(_ c: ModelConfig) throws(ConfigError) -> [(key: String, value: GGUFValue)] {
    guard let arch = ggufArchitecture else { throw .unknownArchitecture(name + " (no llama.cpp layout in the registry)", known: Architectures.all.compactMap(\.ggufArchitecture)) }
    var out: [(String, GGUFValue)] = []
    func u32(_ suffix: String, _ v: Int) { out.append((arch + "." + suffix, .u32(UInt32(clamping: v)))) }
    func f32(_ suffix: String, _ v: Double) { out.append((arch + "." + suffix, .f32(Float(v)))) }
    let values: [Field: Int?] = [
      .hiddenSize: c.hiddenSize, .layers: c.layers, .heads: c.heads, .kvHeads: c.kvHeads, .headDim: c.headDim,
      .intermediateSize: c.intermediateSize, .vocabSize: c.vocabSize, .maxPositions: c.maxPositions,
    ]
    for field in Field.allCases {
      guard let suffix = ggufKeys[field], let v = values[field] ?? nil else { continue }
      u32(suffix, v)
      // llama.cpp reads the value head size beside the key one.
      if field == .headDim { u32("attention.value_length", v) }
    }
    f32(ggufEpsKey, c.normEps)
    if kind == .encoder { out.append((arch + ".attention.causal", .bool(false))) }
    if positions == .rotary {
      f32("rope.freq_base", c.rope.theta)
      u32("rope.dimension_count", c.headDim)
      switch c.rope.scaling {
      case .none, .llama3, .frequencyFactors: break
      case .linear(let factor):
        out.append((arch + ".rope.scaling.type", .string("linear")))
        f32("rope.scaling.factor", factor)
      case .yarn(let factor, let original, let betaFast, let betaSlow, _, _):
        out.append((arch + ".rope.scaling.type", .string("yarn")))
        f32("rope.scaling.factor", factor)
        u32("rope.scaling.original_context_length", Int(original))
        f32("rope.scaling.yarn_beta_fast", betaFast)
        f32("rope.scaling.yarn_beta_slow", betaSlow)
      }
      if let window = c.slidingWindow, let pattern = slidingPattern {
        u32("attention.sliding_window", window)
        // The layer flags only where they differ from llama.cpp's fixed pattern.
        let fixed = (0..<c.layers).map { l in l % pattern < pattern - 1 }
        if c.slidingLayers.count == c.layers && c.slidingLayers != fixed {
          out.append((arch + ".attention.sliding_window_pattern", .array(element: 7, c.slidingLayers.map { .bool($0) })))
        }
        if let local = c.localRope, local.theta != c.rope.theta { f32("rope.freq_base_swa", local.theta) }
      }
      if let cap = c.attentionSoftcap { f32("attn_logit_softcapping", cap) }
      if let cap = c.finalSoftcap { f32("final_logit_softcapping", cap) }
    }
    return out
  }

  /// Llama 3 scaling as llama.cpp's converter stores it: `rope_freqs.weight`,
  /// one factor per frequency (1 for short wavelengths, `factor` for long
  /// ones, a smooth ramp between), each frequency computed in f32.
  public static func ropeFrequencyFactors(_ rope: Rope, headDim: Int) -> [Float]? {
    guard case .llama3(let factor, let low, let high, let original) = rope.scaling, headDim >= 2 else { return nil }
    let lowWavelength = original / low, highWavelength = original / high
    return (0..<(headDim / 2)).map { i in
      let freq = Double(1 / Float(pow(rope.theta, Double(2 * i) / Double(headDim))))
      let wavelength = 2 * Double.pi / freq
      if wavelength < highWavelength { return 1 }
      if wavelength > lowWavelength { return Float(factor) }
      let smooth = (original / wavelength - low) / (high - low)
      return Float(1 / ((1 - smooth) / factor + smooth))
    }
  }
}
