import IngotContainer
import IngotFormats
import IngotPipeline

#if canImport(Glibc)
  import Glibc
#endif

/// `ingot export --to safetensors`: streams tensors back out, optionally cast.
/// When OUT is a folder, writes `model.safetensors` plus the companion files
/// (config.json, tokenizer files) the container carries, so the folder loads
/// as a model again.
public struct ExportAction: Sendable {
  public var input: String
  public var output: String
  public var format: String
  public var dtype: DType?
  public var force = false

  public init(input: String, output: String, format: String = "safetensors", dtype: DType? = nil, force: Bool = false) {
    self.input = input
    self.output = output
    self.format = format
    self.dtype = dtype
    self.force = force
  }

  public struct Outcome: Sendable {
    public var files: [String]
    public var tensors: Int
    public var bytes: Int
  }

  public func run() throws -> Outcome {
    guard format == "safetensors" else { throw PipelineError.usage("--to must be safetensors (GGUF export is not implemented yet)") }
    let reader = try ContainerReader(path: input)
    let cast = try dtype.map { try CastStage(target: $0) }
    var folder: String? = nil
    var target = output
    var st = stat()
    if output.hasSuffix("/") || (stat(output, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR) {
      let dir = output.hasSuffix("/") ? String(output.dropLast()) : output
      if stat(dir, &st) != 0 { _ = mkdir(dir, 0o755) }
      folder = dir
      target = dir + "/model.safetensors"
    }
    let tensors = reader.tensors
    // Quantized tensors are dequantized; then the optional cast.
    let stages: [any TensorStage] = [DequantizeStage()] + (cast.map { [$0] } ?? [])
    let chains = try tensors.map { t in
      try stages.reduce(into: [t]) { chain, stage in chain.append(try stage.plan(chain[chain.count - 1])) }
    }
    let planned = chains.map { $0[$0.count - 1] }
    var meta: [String: String] = [:]
    for (k, v) in reader.metadata where k.hasPrefix("safetensors/") && k != "safetensors/format" {
      meta[String(k.dropFirst("safetensors/".count))] = v
    }
    meta["ingot.model_digest"] = reader.header.modelDigest
    let writer = try SafetensorsWriter(
      path: target, inputs: [input], force: force,
      tensors: planned.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteCount: $0.byteCount) },
      metadata: meta)
    var bytes = 0
    // Every payload is checked against its digest on the way out, so a
    // damaged container can never be exported as if it were sound.
    for i in tensors.indices {
      var digest = StreamingDigest()
      if planned[i] != tensors[i] {
        try reader.withPayload(i) { payload in
          digest.update(payload)
          var current = payload
          var buffers: [UnsafeMutableRawBufferPointer] = []
          defer { buffers.forEach { $0.deallocate() } }
          for (k, stage) in stages.enumerated() where chains[i][k + 1] != chains[i][k] {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chains[i][k + 1].byteCount, 1), alignment: 64)
            buffers.append(buffer)
            let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chains[i][k + 1].byteCount])
            _ = try stage.apply(from: chains[i][k], to: chains[i][k + 1], input: current, output: out)
            current = UnsafeRawBufferPointer(out)
          }
          try writer.append(current)
        }
        reader.release(i)
      } else {
        try reader.forEachSlice(i, size: 8 << 20) { part, _ in
          digest.update(part)
          try writer.append(part)
        }
      }
      let entry = reader.header.tensors[i]
      let actual = digest.finalizeHex()
      guard actual == entry.digest else {
        throw ContainerError.digestMismatch(file: input, tensor: entry.name, expected: entry.digest, actual: actual)
      }
      bytes += planned[i].byteCount
    }
    try writer.finish()
    var written = [target]
    if let folder {
      for (k, text) in reader.metadata.sorted(by: { $0.key < $1.key }) where k.hasPrefix("files/") {
        let name = String(k.dropFirst("files/".count))
        guard !name.contains("/"), name != "..", !name.isEmpty else { continue }
        let file = try AtomicFile(path: folder + "/" + name, inputs: [input], force: force)
        try file.write(Array(text.utf8), at: 0)
        try file.commit()
        written.append(folder + "/" + name)
      }
    }
    return Outcome(files: written, tensors: tensors.count, bytes: bytes)
  }
}
