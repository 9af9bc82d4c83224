import ArgumentParser

/// Free text recorded in the provenance step, only when given (a default run
/// is reproducible byte for byte).
struct ProvenanceOptions: ParsableArguments {
  @Option(help: "A note recorded in the provenance step.")
  var note: String?

  @Option(help: "A timestamp recorded in the provenance step (none by default, for reproducible output).")
  var timestamp: String?
}
