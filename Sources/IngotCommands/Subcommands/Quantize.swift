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

    @Option(help: "With --calibration: imatrix (default: each column's error in the scale search weighed by its input's E[x²]) or gptq (also each rounding error compensated through the input's Gram matrix, column by column; needs stats from `ingot calibrate --hessian` and a ggml type).")
    var method: CalibrationMethodChoice = .imatrix

    @Option(help: "--method gptq: damping added to the Gram matrix's diagonal, as a fraction of its mean (default 0.01).")
    var damping: Double = GPTQ.defaultDamping

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

    enum CalibrationMethodChoice: String, ExpressibleByArgument, CaseIterable {
      case imatrix, gptq
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
      action.method = method.method
      action.damping = damping
      action.verify = check.verify
      let outcome = try action.run(progress: ProgressBar.make("quantize"))
      let report = QuantizeAction.report(outcome)
      if let path = self.report {
        try Data(CanonicalJSON.encode(report) + [0x0A]).write(to: URL(fileURLWithPath: path))
      }
      if format.json {
        printJSON(report)
      } else {
        print(QuantizeAction.table(report))
        print("wrote \(outcome.path): model digest \(outcome.header.modelDigest)")
      }
    }
  }
}
