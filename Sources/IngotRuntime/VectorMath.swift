/// exp and erf on eight floats at a time, for the forward pass's
/// element-wise work (GELU, SiLU, softmax), which libm's scalar expf/erff
/// made a quarter of MiniLM's forward time. Accuracy, checked against
/// float64 in RuntimeTests: exp within 2 ulp, erf within 1.3e-7 absolute
/// (about 2 ulp near 1) — float32 rounding level, well inside the 1e-4 the
/// outputs are held to against transformers.
public enum VectorMath {
  public typealias V = SIMD8<Float>

  /// e^x = 2^n · e^r with n = round(x / ln 2) and r = x − n·ln 2 (ln 2 in a
  /// high and a low part, so r keeps full precision), |r| ≤ ln 2 / 2, where
  /// the Taylor series to r⁷/7! is within 2e-9 relative. Inputs below −87.33
  /// give 0 (the result would be subnormal); above 88 they saturate at e^88,
  /// which no caller can tell from infinity (they use 1/(1 + e^x) or feed
  /// values ≤ 0).
  public static func exp(_ x: V) -> V {
    let lowest: Float = -87.33
    // (replacing(with:where:) rather than clamped(), which does not vectorize.)
    let c = x.replacing(with: lowest, where: x .< lowest).replacing(with: 88, where: x .> 88)
    // Adding 1.5·2²³ rounds to an integer (to nearest even) and leaves it
    // in the low mantissa bits: n as a float and as an integer, both without
    // a conversion instruction Swift's SIMD types lack.
    let magic: Float = 12_582_912
    let t = c * 1.442_695_04 + magic
    let n = t - magic
    let r = c - n * 0.693_145_752 - n * 1.428_606_82e-6
    // Scalar constants: written as `1.0 / 720` in a vector expression, the
    // division was done on vectors at run time (four divps per call).
    let c5040: Float = 1.0 / 5040, c720: Float = 1.0 / 720, c120: Float = 1.0 / 120, c24: Float = 1.0 / 24, c6: Float = 1.0 / 6
    var p = V(repeating: c5040)
    p = p * r + c720
    p = p * r + c120
    p = p * r + c24
    p = p * r + c6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let scale = float((bits(t) &- magic.bitPattern &+ 127) &<< 23)
    return (p * scale).replacing(with: 0, where: x .< lowest)
  }

  /// erf from three polynomials on |x| (ErfPolynomials, fitted by
  /// tools/fit_erf.py): x·P(x²) below 0.875, 1 − Q and 1 − R (erfc, small
  /// there) up to 4, and 1 beyond, where erfc is under half an ulp of 1.
  public static func erf(_ x: V) -> V {
    let a = float(bits(x) & 0x7FFF_FFFF)
    var y = V(repeating: 1)
    // Each polynomial only where some lane needs it (the later ones
    // overwrite the earlier ones' lanes, so the result is the same).
    let inSmall = a .< 0.875, inMiddle = a .< 2.25, inTail = a .< 4
    if any(inTail .& .!inMiddle) { y.replace(with: 1 - ErfPolynomials.tail(a - 3.125), where: inTail) }
    if any(inMiddle .& .!inSmall) { y.replace(with: 1 - ErfPolynomials.middle(a - 1.5625), where: inMiddle) }
    if any(inSmall) { y.replace(with: a * ErfPolynomials.small(a * a), where: inSmall) }
    // erf is odd: give y the sign of x. NaN stays NaN.
    return float(bits(y) | (bits(x) & 0x8000_0000)).replacing(with: x, where: x .!= x)
  }

  @inline(__always) static func bits(_ x: V) -> SIMD8<UInt32> { unsafeBitCast(x, to: SIMD8<UInt32>.self) }
  @inline(__always) static func float(_ b: SIMD8<UInt32>) -> V { unsafeBitCast(b, to: V.self) }

  /// BERT's GELU: x · Φ(x) = ½x(1 + erf(x/√2)).
  static func geluErf(_ x: V) -> V { 0.5 * x * (1 + erf(x * 0.707_106_781)) }

  /// GPT-2's GELU: ½x(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³), written
  /// as x / (1 + e^(−2u)), the same function without tanh's cancellation.
  static func geluTanh(_ x: V) -> V {
    let u = 0.797_884_561 * (x + 0.044_715 * x * x * x)
    return x / (1 + exp(-2 * u))
  }

  /// SiLU: x · σ(x) = x / (1 + e^(−x)).
  static func silu(_ x: V) -> V { x / (1 + exp(-x)) }
}

/// The polynomials of VectorMath.erf in Horner form; tools/fit_erf.py fits
/// them and prints these coefficients.
enum ErfPolynomials {
  typealias V = SIMD8<Float>

  /// erf(x)/x on [0, 0.875), in u = x².
  static let smallCoefficients: [Float] = [
    -1.074051493e-05, 1.157326470e-04, -8.518664943e-04, 5.222961524e-03,
    -2.686598284e-02, 1.128379000e-01, -3.761263885e-01, 1.128379167e+00,
  ]
  @inline(__always) static func small(_ u: V) -> V { horner(u, smallCoefficients) }

  /// erfc on [0.875, 2.25), in u = x − 1.5625.
  static let middleCoefficients: [Float] = [
    1.382296144e-04, -1.359807239e-03, 1.481966943e-03, 5.575022322e-03,
    -1.704051207e-02, 8.060291094e-03, 4.815646846e-02, -1.271152410e-01,
    1.534566310e-01, -9.821223483e-02, 2.712538656e-02,
  ]
  @inline(__always) static func middle(_ u: V) -> V { horner(u, middleCoefficients) }

  /// erfc on [2.25, 4), in u = x − 3.125.
  static let tailCoefficients: [Float] = [
    -9.463444564e-06, -1.124764154e-05, 1.158719152e-04, -2.775118865e-04,
    4.505280458e-04, -5.732450726e-04, 5.578899928e-04, -4.005294006e-04,
    2.023503506e-04, -6.473914042e-05, 9.896951404e-06,
  ]
  @inline(__always) static func tail(_ u: V) -> V { horner(u, tailCoefficients) }

  /// Σ cᵢ·u^(n−i), highest power first: r = r·u + c, one rounding per step
  /// (no fused multiply-add, so the bits match tools/fit_erf.py's check).
  @inline(__always) static func horner(_ u: V, _ c: [Float]) -> V {
    var r = V(repeating: c[0])
    for k in 1..<c.count { r = r * u + V(repeating: c[k]) }
    return r
  }
}
