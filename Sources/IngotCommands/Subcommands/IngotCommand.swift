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
    subcommands: [Convert.self, Quantize.self, Calibrate.self, Compress.self, Decompress.self, Tokenize.self, Forward.self, Validate.self, Perplexity.self, Diff.self, Inspect.self, Verify.self, Keygen.self, Sign.self, Export.self, Report.self, Demo.self])

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

/// Canonical JSON already escapes C0 controls; the C1 controls and
/// bidirectional overrides it leaves raw are written as JSON's own `\uXXXX`
/// escapes (the same string to a parser, inert on a terminal). The terminal
/// escaping of `print` would make invalid JSON of them.
func printJSON(_ value: JSONValue) {
  Swift.print(jsonTerminalSafe(CanonicalJSON.string(value)))
}

func jsonTerminalSafe(_ json: String) -> String {
  guard json.unicodeScalars.contains(where: { isTerminalUnsafe($0) }) else { return json }
  var out = ""
  for s in json.unicodeScalars {
    if isTerminalUnsafe(s) {
      let hex = String(s.value, radix: 16)
      out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    } else {
      out.unicodeScalars.append(s)
    }
  }
  return out
}
