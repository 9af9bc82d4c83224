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
