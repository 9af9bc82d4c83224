/// Numbers for people: sizes in binary units, decimals without Foundation.
public func formatBytes(_ n: Int) -> String {
  if n < 1024 { return "\(n) B" }
  let units = ["KiB", "MiB", "GiB", "TiB"]
  var v = Double(n) / 1024
  var u = 0
  while v >= 1024 && u < units.count - 1 {
    v /= 1024
    u += 1
  }
  return formatFixed(v, 1) + " " + units[u]
}

/// `value` with `digits` decimals, without Foundation's String(format:).
public func formatFixed(_ value: Double, _ digits: Int) -> String {
  guard value.isFinite else { return value.description }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let r = (abs(value) * scale).rounded()
  let whole = Int(r / scale)
  let frac = Int(r - Double(whole) * scale)
  let sign = value < 0 && r != 0 ? "-" : ""
  if digits == 0 { return sign + String(whole) }
  let f = String(frac)
  return sign + String(whole) + "." + String(repeating: "0", count: digits - f.count) + f
}

/// Text from a file, made safe to show on a terminal: control characters
/// (C0 but tab, DEL, C1), and the bidirectional overrides that reorder what
/// a reader sees, are written as `\u{…}` escapes, so a tensor name cannot
/// move the cursor, clear a line or draw a fake "ok" over a failure.
/// - Parameter newlines: keep line feeds (multi-line reports whose lines
///   were built from already-escaped parts); an error line escapes them too.
public func terminalSafe(_ text: String, newlines: Bool = false) -> String {
  guard text.unicodeScalars.contains(where: { isTerminalUnsafe($0, newlines: newlines) }) else { return text }
  var out = ""
  for s in text.unicodeScalars {
    if isTerminalUnsafe(s, newlines: newlines) { out += "\\u{" + String(s.value, radix: 16) + "}" } else { out.unicodeScalars.append(s) }
  }
  return out
}

/// What terminalSafe escapes.
public func isTerminalUnsafe(_ s: Unicode.Scalar, newlines: Bool = false) -> Bool {
  let v = s.value
  return (v < 0x20 && v != 0x09 && !(newlines && v == 0x0A)) || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
    || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
}
