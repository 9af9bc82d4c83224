import IngotCore
import IngotContainer
import IngotFormats
import IngotPipeline
import IngotQuant
import IngotRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// `ingot demo`: the pipeline end to end on the embedded default model, with
/// each claim checked rather than asserted: verify passes, a second
/// conversion is byte-identical, and the safetensors export matches the
/// original tensors bit for bit.
public struct DemoAction: Sendable {
  public var directory: String?
  public init(directory: String? = nil) { self.directory = directory }

  public func run(log: (String) -> Void) throws {
    let dir: String
    if let directory {
      _ = mkdir(directory, 0o755)
      dir = directory
    } else {
      var template = Array("/tmp/ingot-demo-XXXXXX".utf8CString)
      guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {  // audited: non-empty buffer
        throw FileError.io(file: "/tmp/ingot-demo-XXXXXX", operation: "mkdtemp", errno: errno)
      }
      dir = String(cString: made)
    }
    let modelDir = dir + "/default-model"
    _ = mkdir(modelDir, 0o755)
    try DemoModel.write(to: modelDir)
    log("1. embedded default model (tiny Llama, 2 layers, fixed seed) written to \(modelDir)")

    let out = dir + "/model.ingot"
    let converted = try ConvertAction(sources: [modelDir], output: out, force: true).run()
    log("2. convert  " + ConvertAction.summary(converted, dtype: nil).replacingNewlines("\n           "))

    let report = try VerifyAction(path: out).run()
    guard report.ok else { throw PipelineError.failed("demo: verify failed:\n" + VerifyAction.summary(report)) }
    log("3. verify   ok: \(report.tensorCount) tensor digests, model digest and provenance chain")

    let again = dir + "/model-again.ingot"
    _ = try ConvertAction(sources: [modelDir], output: again, force: true).run()
    let (a, b) = (try FileHasher.sha256(path: out), try FileHasher.sha256(path: again))
    guard a == b else { throw PipelineError.failed("demo: two conversions differ (\(a) vs \(b))") }
    log("4. reproducible: a second conversion is byte-identical (file sha256 \(a))")

    let exported = dir + "/exported.safetensors"
    _ = try ExportAction(input: out, output: exported, force: true).run()
    let original = try SafetensorsSource(path: modelDir + "/model.safetensors")
    let back = try SafetensorsSource(path: exported)
    guard original.tensors.map(\.name) == back.tensors.map(\.name) else {
      throw PipelineError.failed("demo: exported tensor names differ")
    }
    for i in original.tensors.indices {
      let same = try original.withPayload(i) { x in try back.withPayload(i) { y in x.elementsEqual(y) } }
      guard same else { throw PipelineError.failed("demo: \(original.tensors[i].name) changed in the round trip") }
    }
    log("5. export   \(exported): all \(original.tensors.count) tensors bit-identical to the original")

    let half = dir + "/model-bf16.ingot"
    let cast = try ConvertAction(sources: [out], output: half, dtype: .bf16, force: true).run()
    let steps = cast.header.provenance.map(\.operation).joined(separator: " → ")
    log("6. cast     \(half): \(formatBytes(cast.bytesOut)) (from \(formatBytes(cast.bytesIn))), provenance: \(steps)")

    // Quantize: int8 per channel and int4 (q6 scales), each with its error table,
    // then check that export dequantizes and that the file verifies.
    for (k, scheme) in [QuantScheme.int8Channel(), .int4()].enumerated() {
      let q = dir + "/model-\(scheme.kind == Int8ChannelCodec.kind ? "int8" : "int4").ingot"
      let outcome = try QuantizeAction(sources: [out], output: q, scheme: scheme, force: true).run()
      guard try VerifyAction(path: q).run().ok else { throw PipelineError.failed("demo: \(q) does not verify") }
      _ = try ExportAction(input: q, output: q + ".safetensors", force: true).run()
      log("\(7 + k). quantize \(q)  (provenance: \(outcome.header.provenance.map(\.operation).joined(separator: " → ")))")
      log("   " + QuantizeAction.table(QuantizeAction.report(outcome)).replacingNewlines("\n   "))
    }

    // Compress losslessly; the digests (and so the model) do not change.
    let zipped = dir + "/model-zstd.ingot"
    let z = try CompressAction(sources: [out], output: zipped, compression: Compression(), force: true).run()
    guard z.header.modelDigest == converted.header.modelDigest, try VerifyAction(path: zipped).run().ok else {
      throw PipelineError.failed("demo: compression changed the model")
    }
    let sizes = CompressAction.report(z)
    log("9. compress \(zipped): \(formatBytes(Int(sizes["bytes"]?.intValue ?? 0))) → \(formatBytes(Int(sizes["stored"]?.intValue ?? 0))) "
      + "(ratio \(formatFixed(sizes["ratio"]?.doubleValue ?? 1, 3))), same model digest, verified")

    // Validate: run the original and each quantized model on the same inputs.
    for (k, name) in ["int8", "int4"].enumerated() {
      let v = try ValidateAction(base: out, candidate: dir + "/model-\(name).ingot").run()
      log("\(10 + k). validate \(name) against the original: " + ValidateAction.summary(v).replacingNewlines("\n   "))
      if !v.passed {
        log("   (expected for \(name) on this tiny random model: 4 bits move its outputs more than the default gates allow; on all-MiniLM-L6-v2 int4 keeps a pooled cosine above 0.95, see BENCHMARKS.md)")
      }
    }
    // GGUF: Q8_0 blocks out to a file llama.cpp runs, and back in: the
    // GGUF-born container holds the same values, bit for bit.
    let q8 = dir + "/model-q8_0.ingot", gguf = dir + "/model-q8_0.gguf", fromGGUF = dir + "/model-from-gguf.ingot"
    _ = try QuantizeAction(sources: [out], output: q8, scheme: try QuantScheme(family: "q8_0", options: QuantOptions(), search: true), force: true).run()
    var export = ExportAction(input: q8, output: gguf, format: "gguf", force: true)
    export.verify = true
    _ = try export.run()
    _ = try ConvertAction(sources: [gguf], output: fromGGUF, force: true).run()
    let w1 = Weights(try ContainerReader(path: q8)), w2 = Weights(try ContainerReader(path: fromGGUF))
    for t in w1.source.tensors {
      guard try w1.load(t.name).map(\.bitPattern) == w2.load(t.name).map(\.bitPattern) else {
        throw PipelineError.failed("demo: \(t.name) changed through GGUF")
      }
    }
    log("12. gguf     \(gguf): Q8_0 blocks under llama.cpp's names; converted back, all \(w1.source.tensors.count) tensors hold the same values bit for bit")
    // Calibration: E[x²] and Gram matrices on a text, then Q4_0 with the
    // weighted search and with GPTQ, each measured against the original on
    // the same text (mean KL per token).
    let textPath = dir + "/calibration.txt"
    let text = String(repeating: "Every claim the tool makes must be checkable by someone else, and every byte it writes reproducible. ", count: 24)
    let file = try AtomicFile(path: textPath, inputs: [], force: true)
    try file.write(Array(text.utf8), at: 0)
    try file.commit()
    var calibrate = CalibrateAction(model: out, textPath: textPath, output: dir + "/stats.ingot")
    calibrate.ctx = 128
    calibrate.hessian = true
    calibrate.force = true
    let c = try calibrate.run()
    log("13. calibrate \(dir)/stats.ingot: E[x²] of \(c.layers) linear-layer inputs and \(c.grams) Gram matrices over \(c.tokens) tokens")
    for (k, method) in [CalibrationMethod.imatrix, .gptq].enumerated() {
      let q = dir + "/model-q4_0-\(method.rawValue).ingot"
      var action = QuantizeAction(sources: [out], output: q, scheme: try QuantScheme(family: "q4_0", options: QuantOptions(), search: true), force: true)
      action.calibration = dir + "/stats.ingot"
      action.method = method
      _ = try action.run()
      var v = ValidateAction(base: out, candidate: q)
      v.text = Array(text.utf8)
      v.ctx = 128
      let result = try v.run()
      log("\(14 + k). quantize Q4_0 --method \(method.rawValue): mean KL per token on the text \(QuantizeAction.sci(.number(result.metrics["kld_mean"] ?? 0)))")
    }
    log("done. files are in \(dir)")
  }
}

extension String {
  func replacingNewlines(_ with: String) -> String {
    split(separator: "\n", omittingEmptySubsequences: false).joined(separator: with)
  }
}
