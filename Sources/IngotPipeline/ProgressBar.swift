#if canImport(Glibc)
  import Glibc
#endif

/// A one-line progress bar on stderr, drawn only when stderr is a terminal
/// and at most ten times a second (DESIGN.md CLI contract).
public final class ProgressBar {
  let label: String
  var lastDraw: Double = 0
  var drawn = false

  /// Nil when stderr is not a TTY, so callers can just use `progress?.update`.
  public static func make(_ label: String) -> ProgressBar? {
    isatty(2) != 0 ? ProgressBar(label: label) : nil
  }

  init(label: String) { self.label = label }

  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  public func update(done: Int, total: Int) {
    let t = Self.now()
    guard t - lastDraw >= 0.1 || done == total else { return }
    lastDraw = t
    let fraction = total > 0 ? Double(done) / Double(total) : 1
    let width = 30
    let filled = Int(fraction * Double(width))
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    let line = "\r\u{1B}[2K\(label) [\(bar)] \(Int(fraction * 100))%"
    writeStderr(line)
    drawn = true
  }

  public func finish() {
    if drawn { writeStderr("\r\u{1B}[2K") }
  }
}

/// Writes straight to fd 2; the C `stderr` global is not concurrency-safe.
public func writeStderr(_ s: String) {
  var bytes = Array(s.utf8)
  var done = 0
  while done < bytes.count {
    let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + done, $0.count - done) }  // audited: count > done >= 0
    if n <= 0 { return }
    done += n
  }
}
