import Foundation
import IngotArchitectures
import IngotCore
import IngotQuant

/// Which tensors a quantize run leaves alone, besides those the scheme cannot take.
public struct QuantPolicy: Equatable, Sendable {
  public var keepPatterns: [String]
  public var quantizeEmbeddings: Bool
  public var quantizeOutputHead: Bool

  public init(keepPatterns: [String] = [], quantizeEmbeddings: Bool = false, quantizeOutputHead: Bool = false) {
    self.keepPatterns = keepPatterns
    self.quantizeEmbeddings = quantizeEmbeddings
    self.quantizeOutputHead = quantizeOutputHead
  }

  /// Why `name` is kept by policy, or nil.
  public func reason(_ name: String) -> String? {
    if let p = keepPatterns.first(where: { glob($0, name) }) { return "matches --keep '\(p)'" }
    if !quantizeOutputHead && Architectures.isOutputHead(name) { return "output head (--output-head keep)" }
    if !quantizeEmbeddings && Architectures.isEmbedding(name) { return "embedding (--embeddings keep)" }
    return nil
  }

  public var parameters: [String: JSONValue] {
    [
      "keep": .array(keepPatterns.map { .string($0) }),
      "embeddings": .string(quantizeEmbeddings ? "quantize" : "keep"),
      "output_head": .string(quantizeOutputHead ? "quantize" : "keep"),
    ]
  }
}

/// `*` any run of characters, `?` one character; everything else literal.
public func glob(_ pattern: String, _ text: String) -> Bool {
  let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
  var pi = 0, ti = 0, star = -1, mark = 0
  while ti < t.count {
    if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
      pi += 1
      ti += 1
    } else if pi < p.count && p[pi] == "*" {
      star = pi
      mark = ti
      pi += 1
    } else if star >= 0 {
      pi = star + 1
      mark += 1
      ti = mark
    } else {
      return false
    }
  }
  while pi < p.count && p[pi] == "*" { pi += 1 }
  return pi == p.count
}

/// Quantizes the tensors the scheme and policy allow; measures each against
/// its original values and reports the rest, with reasons, as kept.
public struct QuantizeStage: TensorStage {
  public let scheme: QuantScheme
  public let policy: QuantPolicy
  /// A mix of bit widths over the model's layers (mlx schemes only).
  public let recipe: QuantRecipe?
  /// Blocks in the model, for the recipe's layer pattern.
  public let layers: Int
  public var name: String { "quantize" }

  public init(scheme: QuantScheme, policy: QuantPolicy = QuantPolicy(), recipe: QuantRecipe? = nil, layers: Int = 0) {
    self.scheme = scheme
    self.policy = policy
    self.recipe = recipe
    self.layers = layers
  }

  /// Per weight name, its input's E[x²] per column (`ingot calibrate`):
  /// the search weighs each column's error by it, and the report adds the
  /// error so weighted.
  public var importance: [String: [Float]] = [:]

  /// Per weight name, its input's Gram matrix E[xxᵀ] (`calibrate
  /// --hessian`), read as each tensor is quantized: with `gptq` the ggml
  /// types compensate their rounding through it (GPTQ), and either way the
  /// report adds the output error it predicts.
  public var hessians: (any HessianSource)? = nil
  /// Quantize with GPTQ where a tensor's Gram matrix is known.
  public var gptq = false
  public var damping = GPTQ.defaultDamping

  /// AWQ: per weight, the scale s of each input column (quantized as W·diag(s));
  /// per norm, the same s it is divided by, so that the model computes what
  /// it did (AWQPlan). `plusOneNorms`: the norm multiplies by 1 + w (Gemma).
  public var columnScales: [String: [Float]] = [:]
  public var normScales: [String: [Float]] = [:]
  public var plusOneNorms = false

  /// Rows `output_sqnr_db` is measured on, at most.
  static let outputErrorRows = 256

  public func keepsPayload(_ from: SourceTensor, _ to: SourceTensor) -> Bool {
    normScales[from.name] == nil && Pipeline.samePayload(from, to)
  }

  /// Whether the token embedding doubles as the output head (no separate
  /// head tensor): a ggml recipe then gives it the head's type.
  public var tiedOutput = false

  /// Per tensor, a choice made before the run (`--target-bpw`), over the
  /// scheme and recipe; and the policy it came from, for the report.
  public var assignments: [String: QuantRecipe.Choice] = [:]
  public var budgetPlan: JSONValue? = nil

  /// What a tensor gets: an assignment, the run's scheme, or the recipe's choice.
  func choice(_ t: SourceTensor) -> QuantRecipe.Choice {
    if let a = assignments[t.name] { return a }
    return recipe?.choice(for: t.name, shape: t.shape, base: scheme, layers: layers, tiedOutput: tiedOutput) ?? .quantize(scheme, fallback: nil)
  }

  /// The scheme tensor `name` gets (for reports; shape-independent choices).
  public func scheme(for t: SourceTensor) -> QuantScheme {
    if case .quantize(let s, _) = choice(t) { return s }
    return scheme
  }

  /// Why a tensor keeps its precision; nil when it is quantized.
  public func keepReason(_ t: SourceTensor) -> String? {
    // A ggml recipe quantizes embeddings and the head as llama-quantize does.
    if recipe?.isGGML == true {
      if let p = policy.keepPatterns.first(where: { glob($0, t.name) }) { return "matches --keep '\(p)'" }
    } else if let r = policy.reason(t.name) { return r }
    if t.shape.count < 2 { return "rank \(t.shape.count): norms, biases and vectors keep their precision" }
    switch choice(t) {
    case .keep(let why): return why
    case .quantize(let s, _):
      switch s.layout(dtype: t.dtype, shape: t.shape) {
      case .success: return nil
      case .failure(let r): return r.reason
      }
    }
  }

  public func plan(_ t: SourceTensor) throws -> SourceTensor {
    // Refused rather than requantized: quantizing twice compounds error silently.
    guard t.encoding.isRaw else { throw QuantError.alreadyQuantized(tensor: t.name, kind: t.encoding.kind) }
    guard keepReason(t) == nil, case .success(let codec) = scheme(for: t).layout(dtype: t.dtype, shape: t.shape) else { return t }
    var out = t
    out.encoding = codec.encoding
    out.byteCount = codec.payloadLength
    return out
  }

  public func apply(from: SourceTensor, to: SourceTensor, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws -> JSONValue? {
    if let s = normScales[from.name], to.encoding.isRaw, s.count == from.byteCount / max(1, from.dtype.bits / 8) {
      // The norm AWQ folded its scales into: w/s (or (1 + w)/s − 1), in the tensor's dtype.
      var v = [Float](repeating: 0, count: s.count)
      v.withUnsafeMutableBytes { FloatConversion.convert(count: s.count, from: from.dtype, to: .f32, input: input, output: $0) }
      for i in v.indices { v[i] = plusOneNorms ? (1 + v[i]) / s[i] - 1 : v[i] / s[i] }
      v.withUnsafeBytes { FloatConversion.convert(count: s.count, from: .f32, to: to.dtype, input: $0, output: output) }
      return nil
    }
    guard let stored = try QuantCodecs.layout(to.encoding, dtype: to.dtype, shape: to.shape) else {
      // A raw tensor passed through (a norm whose scales did not fit it): as it was.
      if output.count == input.count, let dst = output.baseAddress, let src = input.baseAddress { dst.copyMemory(from: src, byteCount: input.count) }
      return nil
    }
    // The scheme's own codec: it may carry fit options the header does not store (HQQ).
    let planned = try? scheme(for: from).layout(dtype: from.dtype, shape: from.shape).get()
    let codec = planned.flatMap { $0.encoding == stored.encoding ? $0 : nil } ?? stored
    let n = codec.rows * codec.cols
    let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
    defer { values.deallocate() }
    FloatConversion.convert(count: n, from: from.dtype, to: .f32, input: input, output: UnsafeMutableRawBufferPointer(values))
    var weights = importance[from.name].flatMap { $0.count == codec.cols ? $0 : nil }
    var gram = try hessians?.hessian(for: from.name, cols: codec.cols)
    let scales = columnScales[from.name].flatMap { $0.count == codec.cols ? $0 : nil }
    if let scales {
      // AWQ: W·diag(s) is what is stored; its input is x/s, so E[x²]/s² and H/(sᵢsⱼ).
      let cols = codec.cols
      for r in 0..<codec.rows { for c in 0..<cols { values[r * cols + c] *= scales[c] } }
      weights = weights.map { w in (0..<cols).map { w[$0] / (scales[$0] * scales[$0]) } }
      if var g = gram {
        for i in 0..<cols { for j in 0..<cols { g[i * cols + j] /= scales[i] * scales[j] } }
        gram = g
      }
    }
    let m: ErrorMetrics
    var method = scales != nil ? "awq" : weights == nil ? "plain" : "imatrix"
    if gptq, let gram, let ggml = codec as? GGMLBlockCodec {
      m = try gram.withUnsafeBufferPointer { h throws(QuantError) in
        try GPTQ.quantize(UnsafeBufferPointer(values), codec: ggml, hessian: h, damping: damping, search: scheme.search, logical: to.dtype,
                          name: from.name, into: output)
      }
      method = scales != nil ? "awq+gptq" : "gptq"
    } else {
      m = try Quantizer.quantize(UnsafeBufferPointer(values), codec: codec, search: scheme.search, logical: to.dtype, name: from.name, into: output,
                                 importance: weights)
    }
    let row = QuantReport.tensorJSON(name: from.name, shape: from.shape, scheme: scheme(for: from), codec: codec, metrics: m)
    guard var o = row.objectValue else { return row }
    if case .quantize(_, let fallback?) = choice(from) { o["fallback"] = .string(fallback) }
    if hessians != nil || weights != nil { o["method"] = .string(method) }
    guard weights != nil || gram != nil else { return .object(o) }
    let deq = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
    defer { deq.deallocate() }
    Dequantizer.dequantize(UnsafeRawBufferPointer(output), codec: codec, into: deq.baseAddress!)  // audited: n > 0 for a codec
    if let weights {
      // Σ w·x² / Σ w·(x − x̂)² over the tensor, in f64: the output error
      // the importances predict, beside the plain one.
      var signal = 0.0, noise = 0.0
      for r in 0..<codec.rows {
        for c in 0..<codec.cols {
          let x = Double(values[r * codec.cols + c]), e = x - Double(deq[r * codec.cols + c]), w = Double(weights[c])
          signal += w * x * x
          noise += w * e * e
        }
      }
      o["weighted_sqnr_db"] = noise > 0 ? .number(10 * log10(signal / noise)) : .null
    }
    if let gram {
      // The full quadratic form: what the layer's output moves by on the
      // calibration inputs. It costs rows·cols² (as much as GPTQ itself), so
      // on at most `outputErrorRows` evenly spaced rows.
      let cols = codec.cols, picked = min(codec.rows, Self.outputErrorRows)
      var w = [Float](repeating: 0, count: picked * cols), q = w
      for k in 0..<picked {
        let r = k * codec.rows / picked
        for c in 0..<cols {
          w[k * cols + c] = values[r * cols + c]
          q[k * cols + c] = deq[r * cols + c]
        }
      }
      let db = gram.withUnsafeBufferPointer { h in
        OutputError.sqnr(original: w, quantized: q, rows: picked, cols: cols, hessian: h.baseAddress!)  // audited: sized cols²
      }
      o["output_sqnr_db"] = db.map { .number($0) } ?? .null
    }
    return .object(o)
  }

  public func summary(_ tensors: [(input: SourceTensor, output: SourceTensor, measured: JSONValue?)]) -> JSONValue? {
    let report = QuantReport.report(scheme: scheme, policy: policy, tensors: tensors, keepReason: keepReason)
    guard let plan = budgetPlan, var o = report.objectValue else { return report }
    o["policy"] = plan
    return .object(o)
  }
}
