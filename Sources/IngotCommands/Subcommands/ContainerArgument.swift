import ArgumentParser

/// The one `.ingot` file export, forward, verify and sign work on.
struct ContainerArgument: ParsableArguments {
  @Argument(help: "An .ingot file.")
  var path: String
}
