import IngotRuntime
import IngotArchitectures
import IngotCore
import IngotContainer
import IngotFormats
import IngotPipeline
import IngotQuant

/// How `quantize --calibration` uses the stats.
public enum CalibrationMethod: String, CaseIterable, Sendable {
  /// Each column's error weighed by its input's E[x²] in the scale search.
  case imatrix
  /// That, and each rounding error compensated through the input's Gram matrix.
  case gptq
  /// Data-free: HQQ's zero-point fit (no stats).
  case hqq
  /// Per-channel scales folded into the preceding norm (AWQPlan), then the imatrix search.
  case awq
}

/// `ingot quantize`: int8 / int4 with every tensor's error measured.
public struct QuantizeAction: Sendable {
  public var sources: [String]
  public var output: String
  public var scheme: QuantScheme
  public var policy: QuantPolicy
  public var force = false
  /// Check payloads from an `.ingot` input against their digests.
  public var verify = true
  public var note: String?
  public var timestamp: String?
  /// A named mix of bit widths (mlx schemes: mixed_4_6 …).
  public var recipe: QuantRecipe?
  /// A stats container from `ingot calibrate` on the same model.
  public var calibration: String?
  /// How the stats are used.
  public var method: CalibrationMethod = .imatrix
  /// GPTQ's damping (fraction of the Hessian's mean diagonal).
  public var damping = GPTQ.defaultDamping
  /// `--target-bpw` / `--target-size`: per-tensor types chosen by measured sensitivity.
  public var budget: SizeBudget?

  public init(sources: [String], output: String, scheme: QuantScheme, policy: QuantPolicy = QuantPolicy(), force: Bool = false,
              note: String? = nil, timestamp: String? = nil) {
    self.sources = sources
    self.output = output
    self.scheme = scheme
    self.policy = policy
    self.force = force
    self.note = note
    self.timestamp = timestamp
  }

  /// What a run wrote, with the size budget's plan and its check when there was one.
  public struct Planned {
    public var outcome: Pipeline.Outcome
    public var plan: SizeBudget.Plan?
    /// The plan's metric measured on the written file (same sequences).
    public var measured: Double?
  }

  public func run(progress: ProgressBar? = nil) throws -> Pipeline.Outcome { try runPlanned(progress: progress).outcome }

  public func runPlanned(progress: ProgressBar? = nil) throws -> Planned {
    let source = try Inputs.open(sources)
    if let recipe, !recipe.isGGML, scheme.kind != MLXAffineCodec.kind {
      throw PipelineError.usage("--recipe \(recipe.name) mixes MLX bit widths: it needs --scheme mlx (or --for mlx)")
    }
    if let recipe, recipe.isGGML, scheme.kind != GGMLBlockCodec.kind {
      throw PipelineError.usage("--recipe \(recipe.name) mixes ggml types: give no --scheme, or a ggml one (q4_k …)")
    }
    if calibration == nil && (method == .gptq || method == .awq) { throw PipelineError.usage("--method \(method.rawValue) needs --calibration STATS") }
    var scheme = self.scheme
    if method == .hqq {
      guard calibration == nil else { throw PipelineError.usage("--method hqq is data-free: give no --calibration") }
      guard scheme.kind == GGMLBlockCodec.kind, recipe == nil, budget == nil else {
        throw PipelineError.usage("--method hqq fits the ggml affine types (--scheme q4_1, q5_1, q4_k or q5_k), without --recipe or a size budget")
      }
      scheme.options.hqq = true
      do { try scheme.codec.validate(scheme.options) } catch { throw PipelineError.usage(error.description) }
    }
    var stage = QuantizeStage(scheme: scheme, policy: policy, recipe: recipe, layers: QuantRecipe.layerCount(source.tensors.map(\.name)))
    var calibrationParameters: JSONValue? = nil

    if let calibration {
      guard scheme.codec.weighsImportance(scheme.options) else {
        throw PipelineError.usage("--calibration weighs the search of the ggml types (--scheme q4_k …, --recipe q4_k_m) and of int4 with f16 scales; \(scheme.name) does not use it yet")
      }
      let stats = try ContainerReader(path: calibration)
      guard let measured = stats.metadata["calibration/model_digest"] else { throw PipelineError.usage("\(calibration): not a stats container from ingot calibrate") }
      guard let digest = source.inputModelDigest, digest == measured else {
        throw PipelineError.usage("\(calibration) was measured on model \(measured.prefix(16))…, not on this input (\(source.inputModelDigest?.prefix(16) ?? "not an .ingot")…)")
      }
      let w = Weights(stats)
      var table: [String: [Float]] = [:]
      for t in stats.tensors where t.name.hasSuffix(".input_sq_mean") {
        table[String(t.name.dropLast(".input_sq_mean".count)) + ".weight"] = try w.load(t.name)
      }
      stage.importance = table
      let grams = StatsHessians(stats)
      if method == .awq {
        guard !grams.isEmpty else { throw PipelineError.usage("--method awq needs Gram matrices: \(calibration) was made without `ingot calibrate --hessian`") }
        guard budget == nil else { throw PipelineError.usage("--method awq and a size budget do not combine yet") }
      }
      if method == .gptq {
        guard scheme.kind == GGMLBlockCodec.kind else { throw PipelineError.usage("--method gptq writes the ggml types (--scheme q4_0 …, --recipe q4_k_m), not \(scheme.name)") }
        guard !grams.isEmpty else { throw PipelineError.usage("--method gptq needs Gram matrices: \(calibration) was made without `ingot calibrate --hessian`") }
        guard damping > 0, damping < 1 else { throw PipelineError.usage("--damping must be in (0, 1)") }
        stage.gptq = true
        stage.damping = damping
      }
      if !grams.isEmpty { stage.hessians = grams }
      var named: [String: JSONValue] = [
        "method": .string(method.rawValue), "stats_model_digest": .string(stats.header.modelDigest),
        "stats_sha256": .string(try FileHasher.sha256(path: calibration)),
        "text_sha256": .string(stats.metadata["calibration/text_sha256"] ?? ""), "tokens": .string(stats.metadata["calibration/tokens"] ?? ""),
      ]
      if method == .gptq { named["damping"] = .number(damping) }
      if method == .awq { named["alphas"] = .string("0, 0.05 … 1") }
      calibrationParameters = .object(named)
    }
    stage.tiedOutput = !source.tensors.contains { Architectures.isOutputHead($0.name) }
    var awqGroups: [AWQPlan.Group] = []
    if method == .awq {
      let weights = Weights(source)
      weights.verifyDigests = verify
      awqGroups = try AWQPlan.plan(weights: weights, source: source, stage: stage).filter { $0.alpha > 0 }
      for g in awqGroups {
        stage.normScales[g.norm] = g.scales
        for m in g.members { stage.columnScales[m] = g.scales }
      }
      stage.plusOneNorms = try weights.config().0.normWeight == .plusOne
    }
    var plan: SizeBudget.Plan? = nil
    var sequences: [[Int]] = []
    if let budget {
      guard let calibration else { throw PipelineError.usage("--target-bpw and --target-size measure on the calibration sequences: give --calibration STATS") }
      guard scheme.kind == GGMLBlockCodec.kind, recipe == nil else { throw PipelineError.usage("--target-bpw and --target-size choose among ggml types: give no --recipe, and a ggml --scheme or none") }
      guard let s = try CalibrationTokens.read(try ContainerReader(path: calibration)) else {
        throw PipelineError.usage("\(calibration) holds no token sequences: make it again with this version of `ingot calibrate`")
      }
      sequences = s
      let weights = Weights(source)
      weights.verifyDigests = verify
      let p = try budget.plan(weights: weights, source: source, stage: stage, sequences: sequences, progress: ProgressBar.make("measure"))
      for row in p.rows {
        if let t = row.choice.type {
          stage.assignments[row.name] = .quantize(try QuantScheme(family: t.description.lowercased(), options: QuantOptions(), search: scheme.search), fallback: nil)
        } else {
          stage.assignments[row.name] = .keep("kept by the size budget: \(row.reason)")
        }
      }
      stage.budgetPlan = p.json
      plan = p
    }
    var parameters = scheme.parameters.merging(policy.parameters) { a, _ in a }
    if let budget, let plan {
      var b: [String: JSONValue] = [
        "candidates": .array(budget.candidates.map { .string($0.description) }), "sequences": .int(Int64(budget.inputs(sequences).count)), "tokens": .int(Int64(budget.inputs(sequences).reduce(0) { $0 + $1.count })),
        "metric": .string(plan.metric), "predicted_error": .number(plan.predicted),
      ]
      switch budget.target {
      case .bitsPerWeight(let v): b["target_bits_per_weight"] = .number(v)
      case .bytes(let v): b["target_bytes"] = .int(Int64(v))
      }
      parameters["budget"] = .object(b)
    }
    if let recipe { parameters["recipe"] = .string(recipe.name) }
    if var c = calibrationParameters?.objectValue, method == .awq {
      c["awq"] = .array(awqGroups.map(\.json))
      calibrationParameters = .object(c)
    }
    if let calibrationParameters { parameters["calibration"] = calibrationParameters }
    var options = Pipeline.Options(operation: "quantize", parameters: parameters, force: force, note: note, timestamp: timestamp)
    options.verifyInputs = verify
    let outcome = try Pipeline(source: source, stages: [stage], options: options).run(to: output, progress: progress)
    guard let plan, let budget else { return Planned(outcome: outcome, plan: nil, measured: nil) }
    // The check: the written file, measured as the plan measured each
    // tensor, recorded as a validate step beside the prediction.
    let inputs = budget.inputs(sequences)
    let bw = Weights(source), cw = Weights(try ContainerReader(path: output))
    bw.verifyDigests = false
    let bm = try Models.load(bw), cm = try Models.load(cw)
    let measured = SizeBudget.error(base: try bm.run(inputs), got: try cm.run(inputs), dim: bm.outputDim, encoder: bm.outputKind != "logits")
    var step = Pipeline.Options(
      operation: "validate",
      parameters: [
        "base_model_digest": .string(source.inputModelDigest ?? ""), "inputs_sha256": .string(Validation.digest(inputs)),
        "sequences": .int(Int64(inputs.count)), "metric": .string(plan.metric),
        "predicted_error": .number(plan.predicted), "measured_error": .number(measured),
      ])
    step.extraMetrics = ["validate": .object(["predicted_error": .number(plan.predicted), "measured_error": .number(measured)])]
    let recorded = try Pipeline(source: try ContainerReader(path: output), stages: [], options: step).run(replacing: output)
    var final = outcome
    final.header = recorded.header
    return Planned(outcome: final, plan: plan, measured: measured)
  }

  /// The report (also in the provenance step).
  public static func report(_ outcome: Pipeline.Outcome) -> JSONValue { outcome.metrics["quantize"] ?? .null }

  /// An aligned table of every tensor's error, then the kept list and the summary.
  public static func table(_ report: JSONValue) -> String {
    let header = ["tensor", "scheme", "shape", "bpw", "SQNR dB", "cosine", "rel err", "max abs", "RMSE"]
    var rows: [[String]] = []
    for t in report["tensors"]?.arrayValue ?? [] {
      rows.append([
        t["name"]?.stringValue ?? "", t["scheme"]?.stringValue ?? "",
        "[" + (t["shape"]?.arrayValue ?? []).compactMap { $0.intValue.map(String.init) }.joined(separator: ", ") + "]",
        fixed(t["bits_per_weight"], 3), fixed(t["sqnr_db"], 2), fixed(t["cosine"], 6), sci(t["relative_error"]),
        sci(t["max_abs_error"]), sci(t["rmse"]),
      ])
    }
    var lines = align([header] + rows, right: [false, false, false, true, true, true, true, true, true])
    // A recipe's fallbacks, each with its reason (never silent).
    let fallbacks = (report["tensors"]?.arrayValue ?? []).filter { $0["fallback"] != nil }
    if !fallbacks.isEmpty {
      lines.append("fallbacks (\(fallbacks.count)):")
      for t in fallbacks { lines.append("  \(t["name"]?.stringValue ?? ""): \(t["fallback"]?.stringValue ?? "")") }
    }
    let kept = report["kept"]?.arrayValue ?? []
    if !kept.isEmpty {
      lines.append("kept at original precision (\(kept.count)):")
      for k in kept { lines.append("  \(k["name"]?.stringValue ?? ""): \(k["reason"]?.stringValue ?? "")") }
    }
    if let s = report["summary"] {
      lines.append(
        "\(report["scheme"]?.stringValue ?? ""): \(s["tensors_quantized"]?.intValue ?? 0) tensors quantized, "
          + "SQNR median \(fixed(s["sqnr_db_median"], 2)) dB, min \(fixed(s["sqnr_db_min"], 2)) dB; "
          + "\(fixed(s["quantized_bits_per_weight"], 3)) bits/weight on them; model "
          + "\(formatBytes(Int(s["bytes_before"]?.intValue ?? 0))) → \(formatBytes(Int(s["bytes_after"]?.intValue ?? 0))) "
          + "(\(fixed(s["bits_per_weight"], 2)) bits/weight overall)")
    }
    return lines.map { terminalSafe($0) }.joined(separator: "\n")
  }

  static func fixed(_ v: JSONValue?, _ digits: Int) -> String {
    guard let d = v?.doubleValue else { return v == .null ? "exact" : "-" }
    return formatFixed(d, digits)
  }

  static func sci(_ v: JSONValue?) -> String {
    guard let d = v?.doubleValue else { return "-" }
    guard d != 0 else { return "0" }
    var e = 0
    var m = abs(d)
    while m >= 10 { m /= 10; e += 1 }
    while m < 1 { m *= 10; e -= 1 }
    return (d < 0 ? "-" : "") + formatFixed(m, 2) + "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
  }

  static func align(_ rows: [[String]], right: [Bool]) -> [String] {
    guard let first = rows.first else { return [] }
    var widths = first.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    return rows.map { r in
      r.enumerated().map { i, c in
        let pad = String(repeating: " ", count: widths[i] - c.count)
        return right[i] ? pad + c : c + pad
      }.joined(separator: "  ")
    }
  }
}
