import IngotCore

/// What calibration keeps of each linear layer's input, by the weight's
/// name: Σx² per input channel (in f64, rows added in order, so the same
/// text gives the same bits) and the number of rows (tokens) seen.
/// E[x²] is llama.cpp's importance matrix for the layer.
public final class ActivationStats: @unchecked Sendable {
  // @unchecked: a forward pass calls `record` from one thread at a time
  // (layers run in order); the lock makes any other use safe too.
  public struct Entry: Sendable {
    public var sumSquares: [Double]
    public var tokens: Int
    /// E[x²] per input channel.
    public var meanSquares: [Float] { sumSquares.map { tokens > 0 ? Float($0 / Double(tokens)) : 0 } }
  }

  let lock = Lock()
  var table: [String: Entry] = [:]

  public init() {}

  public var entries: [String: Entry] { lock.locked { table } }

  func record(_ name: String, _ x: [Float], rows: Int, cols: Int) {
    lock.locked {
      var e = table[name] ?? Entry(sumSquares: [Double](repeating: 0, count: cols), tokens: 0)
      guard e.sumSquares.count == cols else { return }
      x.withUnsafeBufferPointer { p in
        e.sumSquares.withUnsafeMutableBufferPointer { s in
          for r in 0..<rows {
            let row = p.baseAddress! + r * cols  // audited: x holds rows × cols values
            for c in 0..<cols { s[c] += Double(row[c]) * Double(row[c]) }
          }
        }
      }
      e.tokens += rows
      table[name] = e
    }
  }
}
