import IngotCore
import ArgumentParser
import IngotContainer
import IngotPipeline

extension IngotCommand {
  struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compress every tensor losslessly with zstd (floats split into byte planes first); digests do not change.")

    @OptionGroup var inputs: InputsArgument

    @OptionGroup var out: OutputOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    @Option(help: "zstd level, 1 (fastest; the default, and the smallest on float weights after the byte-plane split) to 19.")
    var level: Int32 = 1

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: "Chunk size in bytes (4 KiB to 64 MiB); each chunk can be read alone.")
    var chunkSize: Int = 1 << 20

    func run() throws {
      guard (1...19).contains(level) else { throw PipelineError.usage("--level must be 1 to 19") }
      guard (ChunkTable.minChunkSize...ChunkTable.maxChunkSize).contains(chunkSize) else {
        throw PipelineError.usage("--chunk-size must be from 4096 to 67108864")
      }
      guard threads.map({ $0 >= 1 }) ?? true else { throw PipelineError.usage("--threads must be at least 1") }
      let compression = Compression(level: level, chunkSize: chunkSize, threads: threads)
      var action = CompressAction(sources: inputs.sources, output: out.output, compression: compression, force: out.force)
      action.verify = check.verify
      let outcome = try action.run(progress: ProgressBar.make("compress"))
      let report = CompressAction.report(outcome)
      if format.json { printJSON(report) } else { print(CompressAction.table(report)) }
    }
  }

  struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a container with every tensor stored uncompressed.")

    @OptionGroup var inputs: InputsArgument

    @OptionGroup var out: OutputOptions
    @OptionGroup var format: JSONOption
    @OptionGroup var check: VerifyOption

    func run() throws {
      var action = CompressAction(sources: inputs.sources, output: out.output, compression: nil, force: out.force)
      action.verify = check.verify
      let outcome = try action.run(progress: ProgressBar.make("decompress"))
      let report = CompressAction.report(outcome)
      if format.json { printJSON(report) } else { print("wrote \(outcome.path): \(formatBytes(Int(report["bytes"]?.intValue ?? 0))), model digest \(outcome.header.modelDigest)") }
    }
  }
}
