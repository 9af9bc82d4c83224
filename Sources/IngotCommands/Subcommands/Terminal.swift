import IngotCore

/// Every line the commands print goes through here: names, metadata and
/// messages come from untrusted files, so control characters are escaped
/// (terminalSafe) on the way out. Shadows Swift's print inside this module.
func print(_ text: String) {
  Swift.print(terminalSafe(text, newlines: true))
}
