import ArgumentParser

/// `--json`: one JSON document on stdout instead of the text report.
struct JSONOption: ParsableArguments {
  @Flag(help: "Print the result as one JSON document.")
  var json = false
}
