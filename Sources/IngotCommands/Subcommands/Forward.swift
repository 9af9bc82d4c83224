import IngotCore
import ArgumentParser
import IngotPipeline
import IngotRuntime

extension IngotCommand {
  struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the reference forward pass (f32, OpenBLAS) and write logits or the last hidden state as .npy.")

    /// Converted from a model folder (it carries config.json) or a mapped GGUF.
    @OptionGroup var file: ContainerArgument

    @OptionGroup var tokenInput: TokenOptions
    /// Output .npy: float32 [tokens, dim]; written atomically, never over an existing file without --force.
    @OptionGroup var out: OutputOptions
    @OptionGroup var check: VerifyOption

    func run() throws {
      guard let ids = try tokenInput.sequences()?.first else { throw PipelineError.usage("give one of --tokens and --token-file") }
      var action = ForwardAction(input: file.path, tokens: ids)
      action.verify = check.verify
      let r = try action.run()
      let file = try AtomicFile(path: out.output, inputs: [file.path], force: out.force)
      try file.write(NpyWriter.float32(r.values, shape: [ids.count, r.dim]), at: 0)
      try file.commit()
      print("wrote \(out.output): \(r.kind) [\(ids.count), \(r.dim)] float32")
    }
  }
}
