import ArgumentParser

/// `--no-verify`: skip checking each payload read from an `.ingot` file
/// against its tensor digest (faster; a damaged file then goes unnoticed).
struct VerifyOption: ParsableArguments {
  @Flag(name: .customLong("no-verify"), help: "Do not check payloads read from an .ingot input against their digests.")
  var skip = false

  var verify: Bool { !skip }
}
