import IngotCore
import ArgumentParser

extension IngotCommand {
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write an .ingot file back out: safetensors (a folder OUT/ also gets config and tokenizer files), an mlx-lm folder (--to mlx), or a GGUF file llama.cpp runs (--to gguf); mlx and gguf keep quantized layers as they are.")

    @OptionGroup var file: ContainerArgument

    @Option(help: "Output format.")
    var to: ExportFormat = .safetensors

    @OptionGroup var out: OutputOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    @Option(help: "Cast f32/f16/bf16 tensors on the way out: keep, f32, f16 or bf16.")
    var dtype: DTypeChoice = .keep

    @Flag(help: "mlx and gguf: write a sliding-window model whose window the runtime's model class cannot express (mlx-lm; llama.cpp outside Gemma); it then attends over the whole context (the same model only for sequences up to the window).")
    var fullAttention = false

    @Flag(help: "mlx: quantize again, from its dequantized values, any tensor whose encoding has no exact MLX form (each one is measured and named in the output and in the weights' metadata), instead of refusing it.")
    var requantize = false

    func run() throws {
      var action = ExportAction(input: file.path, output: out.output, format: to.rawValue, dtype: dtype.dtype, force: out.force)
      action.verify = check.verify
      action.fullAttention = fullAttention
      action.requantize = requantize
      let r = try action.run()
      if format.json {
        var o: [String: JSONValue] = ["files": .array(r.files.map { .string($0) }), "tensors": .int(Int64(r.tensors)), "bytes": .int(Int64(r.bytes))]
        if !r.skipped.isEmpty { o["skipped"] = .array(r.skipped.map { .string($0) }) }
        if !r.droppedTensors.isEmpty { o["dropped_tensors"] = .array(r.droppedTensors.map { .string($0) }) }
        if !r.requantized.isEmpty { o["requantized"] = .array(r.requantized) }
        printJSON(.object(o))
      } else {
        print("wrote \(r.files.joined(separator: ", ")): \(r.tensors) tensors, \(formatBytes(r.bytes))")
        for name in r.skipped { print("not written: files/\(name) (not a companion file export writes)") }
        for name in r.droppedTensors { print("not written: \(name) (llama.cpp's layout has no place for it; its converter drops it too)") }
        for t in r.requantized {
          let sqnr = t["sqnr_db"]?.doubleValue.map { String(format: "%.2f dB", $0) } ?? "?"
          print("requantized \(t["name"]?.stringValue ?? "?"): \(t["from"]?.stringValue ?? "?") → MLX \(t["bits"]?.intValue ?? 0)-bit g\(t["group_size"]?.intValue ?? 0), SQNR \(sqnr) against its container values (\(t["reason"]?.stringValue ?? ""))")
        }
      }
    }
  }
}
