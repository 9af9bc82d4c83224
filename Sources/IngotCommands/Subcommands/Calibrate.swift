import ArgumentParser
import IngotCore
import IngotPipeline

extension IngotCommand {
  struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the forward pass on a text and store, for every linear layer's input, E[x²] per input channel (llama.cpp's importance matrix) in a stats container whose provenance names the model and the text.")

    @OptionGroup var model: ContainerArgument

    @Option(help: "The calibration text, UTF-8.")
    var file: String

    @Option(help: "Tokens per sequence (decoders: chunks of this many, BOS first; encoders: at most this many per line).")
    var ctx = 512

    @Option(help: "Stop after this many tokens (whole sequences).")
    var maxTokens = 65_536

    @OptionGroup var out: OutputOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    func run() throws {
      var action = CalibrateAction(model: model.path, textPath: file, output: out.output)
      action.ctx = ctx
      action.maxTokens = maxTokens
      action.force = out.force
      action.verify = check.verify
      let r = try action.run(progress: ProgressBar.make("calibrate"))
      if format.json {
        printJSON(["output": .string(r.outcome.path), "tokens": .int(Int64(r.tokens)), "sequences": .int(Int64(r.sequences)),
                   "layers": .int(Int64(r.layers)), "model_digest": .string(r.outcome.header.modelDigest)])
      } else {
        print("wrote \(r.outcome.path): E[x²] of \(r.layers) linear-layer inputs over \(r.tokens) tokens (\(r.sequences) sequences)")
      }
    }
  }
}
