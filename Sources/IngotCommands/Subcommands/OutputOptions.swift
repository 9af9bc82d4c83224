import ArgumentParser

/// The options every command that writes a file shares.
struct OutputOptions: ParsableArguments {
  @Option(name: .shortAndLong, help: "Output path.")
  var output: String

  @Flag(help: "Replace an existing output file.")
  var force = false
}

/// Free text recorded in the provenance step, only when given (a default run
/// is reproducible byte for byte).
struct ProvenanceOptions: ParsableArguments {
  @Option(help: "A note recorded in the provenance step.")
  var note: String?

  @Option(help: "A timestamp recorded in the provenance step (none by default, for reproducible output).")
  var timestamp: String?
}

struct JSONOption: ParsableArguments {
  @Flag(help: "Print the result as one JSON document.")
  var json = false
}
