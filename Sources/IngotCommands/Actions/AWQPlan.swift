import IngotArchitectures
import IngotCore
import IngotPipeline
import IngotQuant
import IngotRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// `quantize --method awq` (Lin et al., 2023): the weights that read one
/// norm's output (q, k, v; gate and up) are quantized as W·diag(s), and the
/// norm's weight is divided by s, so the model computes what it did while
/// the channels the activations lean on get finer steps. s = aᵅ with a the
/// input's RMS per channel (√E[x²]), normalized so that max·min = 1; α is
/// searched on 0, 0.05 … 1 by the group's output error on the calibration
/// inputs, Σ tr(Δ H Δᵀ) with Δ = W − Q(W·diag(s))·diag(1/s) and H the
/// input's Gram matrix (so no activations need keeping). α = 0 is plain
/// quantization: AWQ never predicts worse. Only where the norm feeds
/// nothing else: pre-norm decoders (BERT's post-norm LayerNorm also feeds
/// the residual, so scaling it would change the model).
struct AWQPlan {
  struct Group {
    var norm: String
    var members: [String]
    var alpha: Double
    var scales: [Float]
    /// Σ tr(ΔHΔᵀ) at α = 0 and at the chosen α.
    var before: Double
    var after: Double
  }

  static let alphas: [Double] = (0...20).map { Double($0) / 20 }

  static func plan(weights: Weights, source: any TensorSource, stage: QuantizeStage) throws -> [Group] {
    let (spec, _) = try weights.config()
    guard spec.hfNames[.attnNorm] != nil, spec.hfNames[.ffnNorm] != nil, spec.hfNames[.attnOutputNorm] == nil else {
      throw PipelineError.usage("--method awq folds its scales into the norm before q/k/v and gate/up: pre-norm decoders only (in \(spec.name), a norm's output also feeds the residual)")
    }
    let tensors = Dictionary(source.tensors.map { ($0.name, $0) }) { a, _ in a }
    let prefix = ([""] + spec.prefixes).first { p in spec.hfName(.attnNorm, layer: 0).map { tensors[p + $0 + ".weight"] != nil } ?? false } ?? ""
    func name(_ role: TensorRole, _ l: Int) -> String? { spec.hfName(role, layer: l).map { prefix + $0 + ".weight" } }
    var groups: [Group] = []
    for l in 0..<QuantRecipe.layerCount(source.tensors.map(\.name)) {
      let attention: [TensorRole] = spec.fusedQKV ? [.attnQKV] : [.attnQ, .attnK, .attnV]
      let mlp: [TensorRole] = spec.mlp == .fused ? [.ffnUp] : [.ffnGate, .ffnUp]
      for (norm, roles) in [(TensorRole.attnNorm, attention), (.ffnNorm, mlp)] {
        guard let n = name(norm, l), let nt = tensors[n], nt.shape.count == 1 else { continue }
        let members = roles.compactMap { name($0, l) }.filter { m in
          guard let t = tensors[m], t.shape.count == 2, t.shape[1] == nt.shape[0] else { return false }
          return stage.keepReason(t) == nil
        }
        guard members.count == roles.count, let g = try search(norm: n, members: members.map { tensors[$0]! }, weights: weights, stage: stage) else { continue }  // audited: filtered above
        groups.append(g)
      }
    }
    return groups
  }

  /// The α search for one group; nil without the stats it needs.
  static func search(norm: String, members: [SourceTensor], weights: Weights, stage: QuantizeStage) throws -> Group? {
    guard let first = members.first else { return nil }
    let cols = first.shape[1]
    guard let h = try stage.hessians?.hessian(for: first.name, cols: cols), let imp = stage.importance[first.name], imp.count == cols else { return nil }
    let rms = imp.map { max(0, $0).squareRoot() }
    let floor = (rms.max() ?? 0) * 1e-4
    let a = rms.map { max($0, floor, Float.leastNormalMagnitude) }
    let values = try members.map { try weights.load($0.name) }
    func error(_ alpha: Double) throws -> (Double, [Float]) {
      var s = a.map { Float(pow(Double($0), alpha)) }
      let norm = Float((Double(s.max() ?? 1) * Double(s.min() ?? 1)).squareRoot())
      s = s.map { $0 / norm }
      var total = 0.0
      for (t, w) in zip(members, values) {
        let rows = t.shape[0]
        guard case .success(let codec) = stage.scheme(for: t).layout(dtype: t.dtype, shape: t.shape) else { return (.infinity, s) }
        var scaled = w
        for r in 0..<rows { for c in 0..<cols { scaled[r * cols + c] *= s[c] } }
        let weighted = (0..<cols).map { imp[$0] / (s[$0] * s[$0]) }
        var payload = [UInt8](repeating: 0, count: codec.payloadLength)
        _ = try scaled.withUnsafeBufferPointer { v in
          try payload.withUnsafeMutableBytes { try Quantizer.quantize(v, codec: codec, search: stage.scheme.search, logical: t.dtype, name: t.name, into: $0, importance: weighted) }
        }
        var d = [Float](repeating: 0, count: rows * cols)
        payload.withUnsafeBytes { p in d.withUnsafeMutableBufferPointer { Dequantizer.dequantize(p, codec: codec, into: $0.baseAddress!) } }  // audited: rows·cols > 0
        for r in 0..<rows { for c in 0..<cols { d[r * cols + c] = w[r * cols + c] - d[r * cols + c] / s[c] } }
        var scratch = [Float](repeating: 0, count: rows * cols)
        total += d.withUnsafeBufferPointer { db in
          h.withUnsafeBufferPointer { hb in
            scratch.withUnsafeMutableBufferPointer { OutputError.quadratic(db.baseAddress!, rows: rows, cols: cols, hessian: hb.baseAddress!, scratch: $0.baseAddress!) }  // audited: sized above
          }
        }
      }
      return (total, s)
    }
    let (before, _) = try error(0)
    var best = (alpha: 0.0, error: before, scales: [Float](repeating: 1, count: cols))
    for alpha in alphas.dropFirst() {
      let (e, s) = try error(alpha)
      if e < best.error { best = (alpha, e, s) }
    }
    return Group(norm: norm, members: members.map(\.name), alpha: best.alpha, scales: best.scales, before: before, after: best.error)
  }
}

extension AWQPlan.Group {
  var json: JSONValue {
    .object([
      "norm": .string(norm), "members": .array(members.map { .string($0) }), "alpha": .number(alpha),
      "output_error_before": .number(before), "output_error_after": .number(after),
    ])
  }
}
