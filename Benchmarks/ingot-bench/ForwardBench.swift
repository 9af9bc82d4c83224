import COpenBLAS
import Dispatch
import IngotArchitectures
import IngotContainer
import IngotRuntime

/// Forward-pass throughput against this machine's sgemm rate (tools/bench).
enum ForwardBench {
  static func run(path: String, sequences: Int, tokens: Int, verify: Bool = true) throws -> (tokens: Int, seconds: Double, gflops: Double, sgemmGflops: Double, matmulParams: Int) {
    let weights = Weights(try ContainerReader(path: path))
    weights.verifyDigests = verify
    let model = try Models.load(weights)
    let length = min(tokens, model.positionLimit ?? tokens)
    var state: UInt64 = 7
    let inputs = (0..<sequences).map { _ in
      (0..<length).map { _ -> Int in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(model.vocabSize))
      }
    }
    let start = DispatchTime.now().uptimeNanoseconds
    _ = try model.run(inputs)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    // Parameters that go through a matrix product per token: 2-D weights
    // other than embedding tables (looked up, not multiplied); a tied head counts once.
    var params = 0
    let tensors = weights.source.tensors
    for t in tensors where t.shape.count == 2 && !Architectures.isEmbedding(t.name) {
      params += t.shape[0] * t.shape[1]
    }
    let embedding = tensors.first { Architectures.role(of: $0.name)?.role == .tokenEmbedding }
    if !tensors.contains(where: { Architectures.isOutputHead($0.name) }) && model.outputKind == "logits" { params += model.vocabSize * (embedding?.shape.last ?? 0) }
    let flops = 2 * Double(params) * Double(sequences * length)
    return (sequences * length, seconds, flops / seconds / 1e9, sgemmRate(), params)
  }

  /// GFLOP/s of a 1024³ sgemm, best of three, on as many OpenBLAS threads
  /// as the forward pass used (it runs OpenBLAS single-threaded and splits
  /// products itself; see BLASThreads.computeThreads).
  static func sgemmRate() -> Double {
    openblas_set_num_threads(Int32(BLASThreads.computeThreads))
    defer { openblas_set_num_threads(1) }
    let n = 1024
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    var best = Double.infinity
    for _ in 0..<3 {
      let t0 = DispatchTime.now().uptimeNanoseconds
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return 2 * Double(n * n * n) / best / 1e9
  }
}
