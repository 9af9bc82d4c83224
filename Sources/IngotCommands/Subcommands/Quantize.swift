import ArgumentParser
import Foundation
import IngotCore
import IngotPipeline
import IngotQuant

extension IngotCommand {
  struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Quantize to int8 or int4, measuring every tensor's error against its original values.")

    @OptionGroup var inputs: InputsArgument

    @OptionGroup var out: OutputOptions
    @OptionGroup var provenance: ProvenanceOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    @Option(help: "int8 (per output channel; with --group-size 32: blocks of 32), int4 (groups) or mlx (MLX's affine layout, --bits wide).")
    var scheme: SchemeChoice?

    @Option(name: .customLong("for"), help: "A runtime's defaults: mlx (--scheme mlx, 4 bits, groups of 64, embeddings and lm_head quantized, as mlx_lm.convert -q).")
    var target: QuantTarget?

    @Option(help: "int8: 32 for block-32 scales; int4: 32, 64 or 128 (default 32); mlx: 32, 64 or 128 (default 64).")
    var groupSize: Int?

    @Option(help: "mlx: bits per code, 1, 2, 3, 4, 5, 6 or 8 (default 4).")
    var bits: Int?

    @Option(help: "A named mix in llama.cpp's layer pattern (v_proj and down_proj of the first and last eighth and every third layer between get more bits): q4_k_m or q5_k_m as llama-quantize makes them (no --scheme needed; embeddings and output head quantized too), or with --scheme mlx mlx-lm's mixed_2_6, mixed_3_4, mixed_3_6 or mixed_4_6.")
    var recipe: String?

    @Option(help: "A stats container from `ingot calibrate` on this model: each column's error in the scale search is weighed by its input's E[x²] (ggml types), and the report adds the error so weighted.")
    var calibration: String?

    @Option(help: "With --calibration: imatrix (default: each column's error in the scale search weighed by its input's E[x²]) or gptq (also each rounding error compensated through the input's Gram matrix, column by column; needs stats from `ingot calibrate --hessian` and a ggml type); awq (pre-norm decoders: per-channel scales searched on the output error through the Gram matrix, folded into the norm before q/k/v and gate/up; needs --hessian stats); or, without --calibration, hqq (HQQ's data-free zero-point fit, for q4_1, q5_1, q4_k and q5_k).")
    var method: CalibrationMethodChoice = .imatrix

    @Option(help: "--method gptq: damping added to the Gram matrix's diagonal, as a fraction of its mean (default 0.01).")
    var damping: Double = GPTQ.defaultDamping

    @Option(help: "A size budget in bits per weight over the quantized tensors: each tensor's ggml type (or keeping it) chosen by its measured effect on the output (needs --calibration).")
    var targetBpw: Double?

    @Option(help: "A size budget for all tensor bytes (20MB, 20MiB, 20000000), chosen as --target-bpw chooses.")
    var targetSize: String?

    @Option(help: "--target-bpw/--target-size: the ggml types tried, comma-separated (default iq4_xs,iq4_nl,q5_0,q5_k,q6_k,q8_0; keeping a tensor is always tried).")
    var candidates: String?

    @Option(help: "--target-bpw/--target-size: calibration sequences the sensitivity is measured on (default 32; the first ones, within --sensitivity-tokens).")
    var sensitivitySequences = 32

    @Option(help: "--target-bpw/--target-size: at most this many tokens of them (default 4096; at least one sequence).")
    var sensitivityTokens = 4096

    @Flag(help: "int4 codes: symmetric (−8…7, f16 scale) or asymmetric (0…15, scale and minimum; default).")
    var mode: Mode = .asymmetric

    @Option(help: "int4 scale storage: f16 (default: scale, and minimum when asymmetric, per group) or q6 (6-bit scale and minimum per group of 32 under f16 super-scales: ≤ 4.5 bits per weight; asymmetric only). mlx: f16, bf16 or f32 (default: each tensor's own dtype, as mlx-lm stores them).")
    var scales: ScalesChoice?

    @Flag(inversion: .prefixedNo, help: "Error-minimizing scale search (default on); --no-search gives plain round-to-nearest.")
    var search = true

    @Option(help: "Keep tensors whose names match this glob (* and ?) at original precision. Repeatable.")
    var keep: [String] = []

    @Option(help: "Embedding tables: keep (default; quantize with --for mlx) or quantize.")
    var embeddings: KeepOrQuantize?

    @Option(help: "Output head (lm_head): keep (default; quantize with --for mlx) or quantize.")
    var outputHead: KeepOrQuantize?

    @Option(help: "Write the report as JSON to this file.")
    var report: String?

    func budget() throws -> SizeBudget? {
      let target: SizeBudget.Target
      switch (targetBpw, targetSize) {
      case (nil, nil): return nil
      case (let b?, nil):
        guard b > 0, b.isFinite else { throw PipelineError.usage("--target-bpw must be positive") }
        target = .bitsPerWeight(b)
      case (nil, let s?):
        guard let bytes = Self.parseSize(s) else { throw PipelineError.usage("--target-size: '\(s)' is not a size (20MB, 20MiB, 20000000)") }
        target = .bytes(bytes)
      default: throw PipelineError.usage("give --target-bpw or --target-size, not both")
      }
      var budget = SizeBudget(target: target)
      guard sensitivitySequences > 0 else { throw PipelineError.usage("--sensitivity-sequences must be positive") }
      guard sensitivityTokens > 0 else { throw PipelineError.usage("--sensitivity-tokens must be positive") }
      budget.sequences = sensitivitySequences
      budget.tokens = sensitivityTokens
      if let candidates {
        budget.candidates = try candidates.split(separator: ",").map { name in
          let families = GGMLBlockCodec.families
          guard families.contains(name.lowercased()), let t = GGMLType.allCases.first(where: { $0.description.lowercased() == name.lowercased() }) else {
            throw PipelineError.usage("--candidates: '\(name)' is not one of \(families.joined(separator: ", "))")
          }
          return t
        }
      }
      return budget
    }

    /// 20MB (10⁶), 20MiB (2²⁰), 20KB, 1.5GB or plain bytes.
    static func parseSize(_ s: String) -> Int? {
      let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
      for (u, f) in units where s.hasSuffix(u) {
        guard let v = Double(s.dropLast(u.count).trimmingCharacters(in: .whitespaces)), v > 0 else { return nil }
        return Int(v * f)
      }
      return Int(s).flatMap { $0 > 0 ? $0 : nil }
    }

    enum CalibrationMethodChoice: String, ExpressibleByArgument, CaseIterable {
      case imatrix, gptq, hqq, awq
      var method: CalibrationMethod { CalibrationMethod(rawValue: rawValue)! }  // audited: the same raw values
    }

    enum Mode: EnumerableFlag {
      case symmetric, asymmetric
    }

    func run() throws {
      let family: String
      let ggmlRecipe = self.recipe.flatMap(QuantRecipe.named).map { r -> String? in
        if case .ggml(let base, _) = r.mix { return base.description.lowercased() }
        return nil
      } ?? nil
      switch (scheme, target) {
      case (nil, nil) where ggmlRecipe != nil: family = ggmlRecipe!  // audited: checked in the pattern
      case (nil, nil) where targetBpw != nil || targetSize != nil: family = "iq4_nl"
      case (let s?, nil): family = s.family
      case (nil, .mlx?), (.some(SchemeChoice.mlx), .mlx?): family = MLXAffineCodec.family
      case (let s?, .mlx?): throw PipelineError.usage("--for mlx quantizes with --scheme mlx, not \(s.family)")
      case (nil, nil): throw PipelineError.usage("give --scheme (int8, int4 or mlx) or --for mlx")
      }
      guard bits == nil || family == MLXAffineCodec.family else { throw PipelineError.usage("--bits is for --scheme mlx; int8 and int4 have fixed widths") }
      let recipe = try self.recipe.map { name in
        guard let r = QuantRecipe.named(name) else {
          throw PipelineError.usage("--recipe must be one of \(QuantRecipe.all.map(\.name).joined(separator: ", "))")
        }
        return r
      }
      let options = QuantOptions(groupSize: groupSize, symmetric: mode == .symmetric, scales: scales?.rawValue, bits: bits)
      let quantScheme: QuantScheme
      do { quantScheme = try QuantScheme(family: family, options: options, search: search) } catch { throw PipelineError.usage(error.description) }
      // mlx-lm quantizes every Linear and Embedding, lm_head included.
      let quantizeAll = target == .mlx
      var action = QuantizeAction(
        sources: inputs.sources, output: out.output, scheme: quantScheme,
        policy: QuantPolicy(keepPatterns: keep, quantizeEmbeddings: (embeddings ?? (quantizeAll ? .quantize : .keep)) == .quantize,
                            quantizeOutputHead: (outputHead ?? (quantizeAll ? .quantize : .keep)) == .quantize),
        force: out.force, note: provenance.note, timestamp: provenance.timestamp)
      action.recipe = recipe
      action.calibration = calibration
      action.budget = try budget()
      action.method = method.method
      action.damping = damping
      action.verify = check.verify
      let planned = try action.runPlanned(progress: ProgressBar.make("quantize"))
      let outcome = planned.outcome
      let report = QuantizeAction.report(outcome)
      if let path = self.report {
        try Data(CanonicalJSON.encode(report) + [0x0A]).write(to: URL(fileURLWithPath: path))
      }
      if format.json {
        printJSON(report)
      } else {
        print(QuantizeAction.table(report))
        if let plan = planned.plan, let measured = planned.measured {
          print(plan.table)
          print("predicted \(plan.metric) \(QuantizeAction.sci(.number(plan.predicted))); measured on the file \(QuantizeAction.sci(.number(measured))) (recorded as a validate step)")
        }
        print("wrote \(outcome.path): model digest \(outcome.header.modelDigest)")
      }
    }
  }
}
