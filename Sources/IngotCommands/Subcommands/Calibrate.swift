import ArgumentParser
import IngotCore
import IngotPipeline

extension IngotCommand {
  struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the forward pass on a text and store, for every linear layer's input, E[x²] per input channel (llama.cpp's importance matrix) and with --hessian its Gram matrix, in a stats container whose provenance names the model and the text.")

    @OptionGroup var model: ContainerArgument

    @Option(help: "The calibration text, UTF-8.")
    var file: String

    @Option(help: "Tokens per sequence (decoders: chunks of this many, BOS first; encoders: at most this many per line).")
    var ctx = 512

    @Option(help: "Stop after this many tokens (whole sequences).")
    var maxTokens = 65_536

    @Flag(help: "Also store each linear layer input's Gram matrix E[xxᵀ] ([in, in], f32; what --method gptq needs), collected one layer per pass over the text so that memory holds one layer's Grams (16 bytes per entry while collected).")
    var hessian = false

    @OptionGroup var out: OutputOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    func run() throws {
      var action = CalibrateAction(model: model.path, textPath: file, output: out.output)
      action.ctx = ctx
      action.maxTokens = maxTokens
      action.force = out.force
      action.verify = check.verify
      action.hessian = hessian
      let r = try action.run(progress: ProgressBar.make("calibrate"))
      if format.json {
        printJSON(["output": .string(r.outcome.path), "tokens": .int(Int64(r.tokens)), "sequences": .int(Int64(r.sequences)),
                   "layers": .int(Int64(r.layers)), "grams": .int(Int64(r.grams)), "gram_bytes_per_layer": .int(Int64(r.gramBytes)), "model_digest": .string(r.outcome.header.modelDigest)])
      } else {
        print("wrote \(r.outcome.path): E[x²] of \(r.layers) linear-layer inputs over \(r.tokens) tokens (\(r.sequences) sequences)")
        if hessian { print("  and \(r.grams) Gram matrices, one layer at a time: at most \(formatBytes(r.gramBytes)) of them in memory") }
      }
    }
  }
}
