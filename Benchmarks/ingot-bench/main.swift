import IngotContainer
import IngotCore
import IngotQuant
import IngotRuntime

// Benchmark entry points for tools/bench*.py, kept out of the shipping
// `ingot` binary. Each prints one line of key=value pairs.
//   ingot-bench quantize FILE --scheme int8|int4 [--group-size N] [--symmetric] [--scales q6] [--no-search] [--one-thread]
//   ingot-bench codec FILE [--threads N] [--dtype bf16]
//   ingot-bench forward FILE --sequences N [--tokens N] [--no-verify]

#if canImport(Glibc)
  import Glibc
#endif

BLASThreads.park()
nonisolated(unsafe) var args = Array(CommandLine.arguments.dropFirst())
func flag(_ name: String) -> Bool {
  guard let i = args.firstIndex(of: name) else { return false }
  args.remove(at: i)
  return true
}
func option(_ name: String) -> String? {
  guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
  defer { args.removeSubrange(i...(i + 1)) }
  return args[i + 1]
}
func fixed(_ v: Double, _ d: Int) -> String {
  var scale = 1.0
  for _ in 0..<d { scale *= 10 }
  return String(Double(Int((v * scale).rounded())) / scale)
}

do {
  guard args.count >= 2 else { throw PipelineUsage.message("usage: ingot-bench quantize|codec|forward FILE [options]") }
  let command = args.removeFirst()
  switch command {
  case "quantize":
    let family = option("--scheme") ?? "int8"
    let options = QuantOptions(groupSize: option("--group-size").flatMap { Int($0) }, symmetric: flag("--symmetric"), scales: option("--scales"))
    let search = !flag("--no-search"), one = flag("--one-thread")
    let scheme = try QuantScheme(family: family, options: options, search: search)
    let r = try QuantBench(sources: [args[0]], scheme: scheme, parallel: !one).run()
    print("kernel \(scheme.name) threads=\(one ? 1 : 0) tensors=\(r.tensors) bytes=\(r.bytes) MBps=\(fixed(r.bytesPerSecond / 1e6, 1))")
  case "codec":
    let threads = option("--threads").flatMap { Int($0) }
    let dtype = option("--dtype").flatMap(DType.init(rawValue:))
    let r = try CodecBench.run(sources: [args[0]], compression: Compression(threads: threads), dtype: dtype)
    print("codec ratio=\(fixed(r.ratio, 4)) compressMBps=\(fixed(r.compress / 1e6, 1)) decompressMBps=\(fixed(r.decompress / 1e6, 1))")
  case "forward":
    let n = option("--sequences").flatMap { Int($0) } ?? 8
    let tokens = option("--tokens").flatMap { Int($0) } ?? 128
    let verify = !flag("--no-verify")
    let r = try ForwardBench.run(path: args[0], sequences: n, tokens: tokens, verify: verify)
    print("forward tokens=\(r.tokens) seconds=\(fixed(r.seconds, 3)) tokens_per_s=\(fixed(Double(r.tokens) / r.seconds, 1)) gflops=\(fixed(r.gflops, 1)) sgemm_gflops=\(fixed(r.sgemmGflops, 1)) matmul_params=\(r.matmulParams)")
  default:
    throw PipelineUsage.message("unknown benchmark '\(command)'")
  }
} catch {
  print("error: \(error)")
  exit(1)
}

enum PipelineUsage: Error { case message(String) }
