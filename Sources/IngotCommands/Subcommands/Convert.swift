import ArgumentParser
import IngotContainer
import IngotCore
import IngotFormats
import IngotPipeline
import IngotQuant

extension IngotCommand {
  struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Convert safetensors (files, a sharded index, a model folder), GGUF, PyTorch, NumPy or ONNX input, or an .ingot file, to .ingot.")

    @OptionGroup var inputs: InputsArgument

    @OptionGroup var out: OutputOptions
    @OptionGroup var provenance: ProvenanceOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    @Option(help: "Cast f32/f16/bf16 tensors (round to nearest even).")
    var dtype: DTypeChoice = .keep

    @Option(help: "Quantize in the same pass, with the defaults of `ingot quantize --scheme` (see `ingot quantize --help` for finer control).")
    var quantize: SchemeChoice?

    @Option(help: "GGUF input: hf (Hugging Face names, q/k rows un-permuted; default for mapped architectures) or gguf (llama.cpp names as stored).")
    var names: GGUFNames?

    @Option(help: "GGUF input: native (block-quantized matrices kept in ggml's own bytes, the `ggml` encoding; the default) or dequantize (to f32).")
    var ggufQuant: GGUFQuantChoice = .native

    @Option(help: "Store tensors compressed, lossless (digests unchanged).")
    var compress: CompressChoice?

    func run() throws {
      var action = ConvertAction(sources: inputs.sources, output: out.output, dtype: dtype.dtype, force: out.force, note: provenance.note, timestamp: provenance.timestamp)
      if let quantize { action.quantize = try QuantScheme(family: quantize.family, options: QuantOptions(), search: true) }
      action.ggufNames = names
      action.verify = check.verify
      action.ggufNative = ggufQuant == .native
      if let compress { action.compression = Compression(level: compress.level) }
      let result = try action.run(progress: ProgressBar.make("convert"))
      if format.json {
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
