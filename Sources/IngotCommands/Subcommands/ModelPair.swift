import ArgumentParser

/// The two models validate and diff compare: the reference first, then
/// the one checked against it.
struct ModelPair: ParsableArguments {
  @Argument(help: "The reference model (BASE, or A).")
  var base: String

  @Argument(help: "The model compared with it (CANDIDATE, or B).")
  var candidate: String
}
