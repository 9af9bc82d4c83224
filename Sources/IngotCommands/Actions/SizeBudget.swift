import IngotContainer
import IngotCore
import IngotPipeline
import IngotQuant
import IngotRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// `quantize --target-bpw B` / `--target-size S`: each tensor's type chosen
/// by measurement. Every candidate (a ggml type that fits the tensor, or
/// keeping it) is tried on that tensor alone, quantized as the run will
/// quantize it (same search, calibration and method), with every other
/// tensor as stored; our forward pass on the calibration sequences says how
/// far the output moved (encoders: 1 − cosine of the mean-pooled embedding;
/// decoders: mean KL(base ‖ candidate) per token). Treating those errors as
/// additive, the cheapest mix is upgraded step by step, each time where the
/// predicted error falls most per byte, while the budget allows. The file is
/// then measured the same way and the outcome recorded beside the prediction.
public struct SizeBudget: Sendable {
  public enum Target: Sendable, Equatable {
    /// Bits per weight over the tensors the run quantizes.
    case bitsPerWeight(Double)
    /// Bytes of all tensor payloads.
    case bytes(Int)
  }

  public var target: Target
  /// The types tried (ggml); keeping the tensor is always a candidate.
  public var candidates: [GGMLType] = SizeBudget.defaultCandidates
  /// Calibration sequences the sensitivity is measured on: the first ones,
  /// at most `sequences` of them and at most `tokens` tokens (at least one
  /// sequence). Every candidate costs a forward pass over them.
  public var sequences = 32
  public var tokens = 4096

  /// The sequences measured, of the calibration's.
  public func inputs(_ all: [[Int]]) -> [[Int]] {
    var out: [[Int]] = [], used = 0
    for s in all.prefix(sequences) {
      guard out.isEmpty || used + s.count <= tokens else { break }
      out.append(s)
      used += s.count
    }
    return out
  }

  public static let defaultCandidates: [GGMLType] = [.iq4_xs, .iq4_nl, .q5_0, .q5_K, .q6_K, .q8_0]

  public init(target: Target) { self.target = target }

  /// One candidate for one tensor.
  public struct Option: Sendable {
    /// nil: kept at its precision.
    public var type: GGMLType?
    public var bytes: Int
    /// Measured output error with only this tensor so quantized.
    public var error: Double
    public var label: String { type?.description ?? "keep" }
  }

  /// One tensor's options (cheapest first, dominated ones dropped) and the choice.
  public struct Row: Sendable {
    public var name: String
    public var elements: Int
    public var options: [Option]
    public var chosen: Int
    public var reason: String
    public var choice: Option { options[chosen] }
  }

  public struct Plan: Sendable {
    public var rows: [Row]
    public var metric: String
    /// Bytes of the tensors outside the plan (kept as the run keeps them).
    public var otherBytes: Int
    public var budgetBytes: Int
    public var predicted: Double { rows.reduce(0) { $0 + $1.choice.error } }
    public var plannedBytes: Int { rows.reduce(0) { $0 + $1.choice.bytes } }
    public var bitsPerWeight: Double {
      let n = rows.reduce(0) { $0 + $1.elements }
      return n > 0 ? Double(plannedBytes * 8) / Double(n) : 0
    }
  }

  /// How far `got` moved from `base`, the planner's one number.
  static func error(base: [[Float]], got: [[Float]], dim: Int, encoder: Bool) -> Double {
    var total = 0.0, count = 0
    for (a, b) in zip(base, got) {
      let tokens = a.count / dim
      if encoder {
        let pa = meanPool(a, tokens: tokens, dim: dim).map(Double.init), pb = meanPool(b, tokens: tokens, dim: dim).map(Double.init)
        total += max(0, 1 - Statistics.cosine(pa, pb))
        count += 1
      } else {
        for t in 0..<tokens {
          let p = Statistics.logSoftmax(a[(t * dim)..<((t + 1) * dim)].map(Double.init))
          let q = Statistics.logSoftmax(b[(t * dim)..<((t + 1) * dim)].map(Double.init))
          total += max(0, Statistics.klDivergence(p, q))
          count += 1
        }
      }
    }
    return count > 0 ? total / Double(count) : 0
  }

  /// Measures every candidate and chooses. `stage` is the run's stage (its
  /// scheme, policy, calibration and method); `weights` the input model.
  func plan(weights: Weights, source: any TensorSource, stage: QuantizeStage, sequences all: [[Int]], progress: ProgressBar?) throws -> Plan {
    let model = try Models.load(weights)
    let encoder = model.outputKind != "logits"
    let inputs = self.inputs(all)
    let base = try model.run(inputs)
    weights.verifyDigests = false  // that pass checked every payload
    defer { weights.verifyDigests = true }
    var rows: [Row] = []
    var other = 0
    let tensors = source.tensors
    let planned = tensors.filter { stage.keepReason($0) == nil }
    var done = 0
    for t in tensors {
      guard planned.contains(where: { $0.name == t.name }), let n = elementCount(t.shape), n > 0 else {
        other += (try? stage.plan(t).byteCount) ?? t.byteCount
        continue
      }
      let cols = n / t.shape[0]
      let values = try weights.load(t.name)
      var options = [Option(type: nil, bytes: t.byteCount, error: 0)]
      for type in candidates where cols % type.block.elements == 0 {
        let codec = GGMLBlockCodec(type: type, rows: t.shape[0], cols: cols)
        var payload = [UInt8](repeating: 0, count: codec.payloadLength)
        let gram = stage.gptq ? try stage.hessians?.hessian(for: t.name, cols: cols) : nil
        let importance = stage.importance[t.name].flatMap { $0.count == cols ? $0 : nil }
        try values.withUnsafeBufferPointer { v in
          try payload.withUnsafeMutableBytes { out in
            if let gram {
              _ = try gram.withUnsafeBufferPointer { h in
                try GPTQ.quantize(v, codec: codec, hessian: h, damping: stage.damping, search: stage.scheme.search, logical: t.dtype, name: t.name, into: out)
              }
            } else {
              _ = try Quantizer.quantize(v, codec: codec, search: stage.scheme.search, logical: t.dtype, name: t.name, into: out, importance: importance)
            }
          }
        }
        var deq = [Float](repeating: 0, count: n)
        payload.withUnsafeBytes { p in deq.withUnsafeMutableBufferPointer { Dequantizer.dequantize(p, codec: codec, into: $0.baseAddress!) } }  // audited: n > 0
        weights.overrides[t.name] = deq
        let got = try model.run(inputs)
        weights.overrides[t.name] = nil
        options.append(Option(type: type, bytes: codec.payloadLength, error: Self.error(base: base, got: got, dim: model.outputDim, encoder: encoder)))
      }
      done += 1
      progress?.update(done: done, total: planned.count)
      rows.append(Row(name: t.name, elements: n, options: Self.hull(options), chosen: 0, reason: ""))
    }
    progress?.finish()
    let budget: Int
    switch target {
    case .bitsPerWeight(let b): budget = Int((b * Double(rows.reduce(0) { $0 + $1.elements }) / 8).rounded(.down))
    case .bytes(let s): budget = s - other
    }
    var plan = Plan(rows: rows, metric: encoder ? "1 - pooled cosine" : "mean KL per token", otherBytes: other, budgetBytes: budget)
    try Self.choose(&plan)
    return plan
  }

  /// Cheapest first; an option no better than a cheaper one is dropped, and
  /// so is one above the line between its neighbours (it never pays more per byte).
  static func hull(_ options: [Option]) -> [Option] {
    let sorted = options.sorted { ($0.bytes, $0.error, $0.label) < ($1.bytes, $1.error, $1.label) }
    var kept: [Option] = []
    for o in sorted {
      if let last = kept.last, o.error >= last.error { continue }
      while kept.count >= 2 {
        let a = kept[kept.count - 2], b = kept[kept.count - 1]
        // b is above the segment a → o: drop it.
        let lhs = (b.error - a.error) * Double(o.bytes - a.bytes), rhs = (o.error - a.error) * Double(b.bytes - a.bytes)
        if lhs >= rhs { kept.removeLast() } else { break }
      }
      kept.append(o)
    }
    return kept
  }

  /// Greedy on the hulls: start each tensor at its cheapest option; take the
  /// upgrade with the largest error drop per byte that still fits (ties: by
  /// name), until none fits.
  static func choose(_ plan: inout Plan) throws {
    var spent = plan.plannedBytes
    guard spent <= plan.budgetBytes else {
      let n = plan.rows.reduce(0) { $0 + $1.elements }
      throw PipelineError.usage("the budget is below the cheapest mix: \(formatBytes(spent + plan.otherBytes)) of tensors, \(formatFixed(Double(spent * 8) / Double(max(n, 1)), 3)) bits per weight over the quantized matrices")
    }
    func gain(_ r: Row) -> (ratio: Double, bytes: Int)? {
      guard r.chosen + 1 < r.options.count else { return nil }
      let a = r.options[r.chosen], b = r.options[r.chosen + 1]
      return ((a.error - b.error) / Double(max(1, b.bytes - a.bytes)), b.bytes - a.bytes)
    }
    var lastRatio = [Double?](repeating: nil, count: plan.rows.count)
    while true {
      var best: (index: Int, ratio: Double, bytes: Int)? = nil
      for (i, r) in plan.rows.enumerated() {
        guard let g = gain(r), spent + g.bytes <= plan.budgetBytes else { continue }
        if best == nil || g.ratio > best!.ratio { best = (i, g.ratio, g.bytes) }  // audited: checked for nil first
      }
      guard let b = best else { break }
      plan.rows[b.index].chosen += 1
      spent += b.bytes
      lastRatio[b.index] = b.ratio
    }
    for i in plan.rows.indices {
      let r = plan.rows[i]
      var why = r.chosen == 0 ? "cheapest candidate" : "upgraded: error down \(sci(lastRatio[i] ?? 0)) per byte on its last step"
      if let g = gain(r) {
        why += spent + g.bytes > plan.budgetBytes
          ? "; \(r.options[r.chosen + 1].label) (\(sci(g.ratio)) per byte) does not fit the budget"
          : "; \(r.options[r.chosen + 1].label) would gain less per byte than what was chosen"
      }
      plan.rows[i].reason = why
    }
  }

  static func sci(_ v: Double) -> String { QuantizeAction.sci(.number(v)) }
}

extension SizeBudget.Plan {
  /// Per tensor: the choice, every option's measured error, the reason.
  public var json: JSONValue {
    .object([
      "metric": .string(metric), "predicted_error": .number(predicted), "planned_bytes": .int(Int64(plannedBytes)),
      "budget_bytes": .int(Int64(budgetBytes)), "other_bytes": .int(Int64(otherBytes)), "bits_per_weight": .number(bitsPerWeight),
      "tensors": .array(rows.map { r in
        .object([
          "name": .string(r.name), "choice": .string(r.choice.label), "predicted_error": .number(r.choice.error), "reason": .string(r.reason),
          "options": .array(r.options.map { .object(["type": .string($0.label), "bytes": .int(Int64($0.bytes)), "error": .number($0.error)]) }),
        ])
      }),
    ])
  }

  /// The policy table: one line per tensor.
  public var table: String {
    var lines = ["policy (\(metric), measured with only that tensor quantized; predicted total \(SizeBudget.sci(predicted))):"]
    let width = rows.map(\.name.count).max() ?? 0
    for r in rows {
      let opts = r.options.map { "\($0.label) \(SizeBudget.sci($0.error))" }.joined(separator: ", ")
      lines.append("  " + r.name + String(repeating: " ", count: width - r.name.count) + "  " + r.choice.label + "  [" + opts + "]  " + r.reason)
    }
    lines.append("  \(formatBytes(plannedBytes)) for \(rows.count) tensors (\(formatFixed(bitsPerWeight, 3)) bits per weight); budget \(formatBytes(budgetBytes))")
    return lines.map { terminalSafe($0) }.joined(separator: "\n")
  }
}
