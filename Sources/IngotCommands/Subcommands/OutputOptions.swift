import ArgumentParser

/// The options every command that writes a file shares.
struct OutputOptions: ParsableArguments {
  @Option(name: .shortAndLong, help: "Output path.")
  var output: String

  @Flag(help: "Replace an existing output file.")
  var force = false
}
