import IngotCore
import ArgumentParser
import IngotRuntime
import IngotContainer
import IngotFormats
import IngotPipeline

#if canImport(Glibc)
  import Glibc
#endif

/// The `ingot` root command. Subcommands parse flags and call an action.
public struct IngotCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "ingot",
    abstract: "Convert model checkpoints into the auditable .ingot container.",
    version: IngotVersion.string,
    subcommands: [Convert.self, Quantize.self, Compress.self, Decompress.self, Forward.self, Validate.self, Diff.self, Inspect.self, Verify.self, Keygen.self, Sign.self, Export.self, Demo.self])

  public init() {}

  /// Runs with DESIGN.md's exit codes: 0 ok, 1 failure, 64 usage, and one
  /// `error: ...` line on stderr.
  public static func runMain() -> Never {
    BLASThreads.park()
    do {
      var command = try parseAsRoot()
      try command.run()
      Glibc.exit(0)
    } catch let error as PipelineError where error.isUsage {
      writeStderr("error: \(terminalSafe(error.description))\n")
      Glibc.exit(64)
    } catch let error as ExitCode {
      Glibc.exit(error.rawValue)
    } catch let error as any ReportableError {
      fail(error)
    } catch {
      exit(withError: error)
    }
  }

  static func fail(_ error: CustomStringConvertible) -> Never {
    // One line whatever the file put in its names: newlines escaped too.
    writeStderr("error: \(terminalSafe(error.description))\n")
    Glibc.exit(1)
  }
}

func printJSON(_ value: JSONValue) {
  print(CanonicalJSON.string(value))
}
