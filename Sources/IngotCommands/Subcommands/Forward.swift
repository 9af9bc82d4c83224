import IngotCore
import ArgumentParser
import Foundation
import IngotPipeline
import IngotRuntime

extension IngotCommand {
  struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the reference forward pass (f32, OpenBLAS) and write logits or the last hidden state as .npy.")

    @Argument(help: "An .ingot file converted from a model folder (it carries config.json).")
    var input: String

    @Option(help: "Token ids, comma-separated.")
    var tokens: String?

    @Option(help: "A 1-D int64/int32 .npy of token ids.")
    var tokenFile: String?

    @Option(name: .shortAndLong, help: "Output .npy: float32 [tokens, dim].")
    var output: String = ""

    func run() throws {
      guard !output.isEmpty else { throw PipelineError.usage("missing -o OUT.npy") }
      guard (tokens == nil) != (tokenFile == nil) else { throw PipelineError.usage("give exactly one of --tokens and --token-file") }
      let ids = try tokens.map(ForwardAction.parse) ?? ForwardAction.load(tokenFile!)  // audited: one of the two is set
      let r = try ForwardAction(input: input, tokens: ids).run()
      try Data(NpyWriter.float32(r.values, shape: [ids.count, r.dim])).write(to: URL(fileURLWithPath: output))
      print("wrote \(output): \(r.kind) [\(ids.count), \(r.dim)] float32")
    }
  }
}
