import ArgumentParser

extension IngotCommand {
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write an .ingot file back out as safetensors (a folder OUT/ also gets config and tokenizer files).")

    @Argument(help: "The .ingot file.")
    var input: String

    @Option(help: "Output format: safetensors.")
    var to: String = "safetensors"

    @Option(name: .shortAndLong, help: "Output file, or a folder (ending in / or existing).")
    var output: String

    @Option(help: "Cast f32/f16/bf16 tensors on the way out: keep, f32, f16 or bf16.")
    var dtype: DTypeChoice = .keep

    @Flag(help: "Replace existing output files.")
    var force = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
      let r = try ExportAction(input: input, output: output, format: to, dtype: dtype.dtype, force: force).run()
      if json {
        printJSON(["files": .array(r.files.map { .string($0) }), "tensors": .int(Int64(r.tensors)), "bytes": .int(Int64(r.bytes))])
      } else {
        print("wrote \(r.files.joined(separator: ", ")): \(r.tensors) tensors, \(formatBytes(r.bytes))")
      }
    }
  }
}
