import ArgumentParser
import IngotFormats
import IngotPipeline
import IngotQuant

extension IngotCommand {
  struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Convert safetensors (files, a sharded index, a model folder), GGUF, PyTorch, NumPy or ONNX input, or an .ingot file, to .ingot.")

    @Argument(help: "Input file(s) or model folder. The format is detected from content.")
    var sources: [String]

    @Option(name: .shortAndLong, help: "Output .ingot path.")
    var output: String

    @Option(help: "Cast f32/f16/bf16 tensors: keep, f32, f16 or bf16 (round to nearest even).")
    var dtype: DTypeChoice = .keep

    @Option(help: "Quantize in the same pass: int8 or int4 (the defaults of `ingot quantize --scheme`; see `ingot quantize --help` for finer control).")
    var quantize: String?

    @Option(help: "GGUF input: hf (Hugging Face names, q/k rows un-permuted; default for llama) or gguf (llama.cpp names as stored).")
    var names: String?

    @Option(help: "GGUF input: dequantize (Q8_0/Q4_0/k-quants to f32; the default) or native (Q8_0, Q4_0 and Q4_1 matrices kept as int8_block / int4_group: the same values, the size of the GGUF blocks).")
    var ggufQuant: String?

    @Option(help: "Store tensors compressed: zstd or zstd:LEVEL (lossless; digests unchanged).")
    var compress: String?

    @Flag(help: "Replace an existing output file.")
    var force = false

    @Option(help: "A note recorded in the provenance step.")
    var note: String?

    @Option(help: "A timestamp recorded in the provenance step (none by default, for reproducible output).")
    var timestamp: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
      var action = ConvertAction(sources: sources, output: output, dtype: dtype.dtype, force: force, note: note, timestamp: timestamp)
      switch quantize {
      case nil: break
      case "int8": action.quantize = .int8Channel()
      case "int4": action.quantize = .int4()
      default: throw PipelineError.usage("--quantize must be int8 or int4")
      }
      if let names {
        guard let n = GGUFNames(rawValue: names) else { throw PipelineError.usage("--names must be hf or gguf") }
        action.ggufNames = n
      }
      switch ggufQuant {
      case nil, "dequantize": break
      case "native": action.ggufNative = true
      default: throw PipelineError.usage("--gguf-quant must be dequantize or native")
      }
      if let compress {
        let parts = compress.split(separator: ":", maxSplits: 1)
        guard parts.first == "zstd", let level = parts.count == 2 ? Int32(parts[1]) : 1, (1...19).contains(level) else {
          throw PipelineError.usage("--compress must be zstd or zstd:LEVEL with LEVEL 1 to 19")
        }
        action.compression = Compression(level: level)
      }
      let result = try action.run(progress: ProgressBar.make("convert"))
      if json {
        printJSON([
          "output": .string(result.path), "tensors": .int(Int64(result.header.tensors.count)),
          "bytes_in": .int(Int64(result.bytesIn)), "bytes_out": .int(Int64(result.bytesOut)),
          "model_digest": .string(result.header.modelDigest),
          "cast": .array((result.changed["cast"] ?? []).map { .string($0) }),
          "quantize": result.metrics["quantize"] ?? .null,
        ])
      } else {
        print(ConvertAction.summary(result, dtype: dtype.dtype))
        if let report = result.metrics["quantize"] { print(QuantizeAction.table(report)) }
      }
    }
  }
}
