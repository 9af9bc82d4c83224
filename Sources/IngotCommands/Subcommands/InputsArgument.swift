import ArgumentParser

/// What convert, quantize, compress and inspect read: files or a model
/// folder of any format Ingot reads, detected from content.
struct InputsArgument: ParsableArguments {
  @Argument(help: "Input file(s) or model folder (safetensors, GGUF, PyTorch, NumPy, ONNX or .ingot).")
  var sources: [String]
}
