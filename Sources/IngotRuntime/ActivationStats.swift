import COpenBLAS
import IngotCore

/// What calibration keeps of each linear layer's input, by the weight's
/// name: Σx² per input channel (in f64, rows added in order, so the same
/// text gives the same bits) and the number of rows (tokens) seen; and,
/// for the one layer `gramLayer` names, the Gram matrix Σxxᵀ.
/// E[x²] is llama.cpp's importance matrix for the layer; E[xxᵀ] is GPTQ's
/// Hessian. Weights that read the same input (q, k and v) share one Gram.
public final class ActivationStats: @unchecked Sendable {
  // @unchecked: a forward pass calls `record` from one thread at a time
  // (layers run in order); the lock makes any other use safe too.
  public struct Entry: Sendable {
    public var sumSquares: [Double]
    public var tokens: Int
    /// E[x²] per input channel.
    public var meanSquares: [Float] { sumSquares.map { tokens > 0 ? Float($0 / Double(tokens)) : 0 } }
  }

  /// Thrown by `record` once the pass is past `gramLayer` and no longer
  /// needs to run (`stopsAfterGrams`).
  public struct Enough: Error {}

  let lock = Lock()
  var table: [String: Entry] = [:]
  /// Σxxᵀ (upper triangle, f64) per distinct input, and the weights that read each.
  var grams: [(names: [String], cols: Int, tokens: Int, sum: [Double])] = []
  /// The last input seen, and the Gram it went to.
  var lastInput: [Float] = []
  var lastGram = -1

  /// Record E[x²] (the first pass does; later passes collect Grams only).
  public var recordsSquares = true
  /// The layer whose inputs' Gram matrices are collected; nil for none.
  public var gramLayer: Int? = nil
  /// Stop the pass (throw `Enough`) at the first input past `gramLayer`.
  public var stopsAfterGrams = false

  /// Layers seen so far (one more than the largest index recorded).
  public private(set) var layersSeen = 0

  public init() {}

  public var entries: [String: Entry] { lock.locked { table } }

  /// The Grams collected since the last call, each as E[xxᵀ] (full, f32,
  /// row-major) with the weights that read it; then forgets them.
  public func takeGrams() -> [(names: [String], cols: Int, mean: [Float])] {
    lock.locked {
      let out = grams.map { g -> (names: [String], cols: Int, mean: [Float]) in
        let n = g.cols, scale = g.tokens > 0 ? 1 / Double(g.tokens) : 0
        var m = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
          for j in i..<n {
            let v = Float(g.sum[i * n + j] * scale)
            m[i * n + j] = v
            m[j * n + i] = v
          }
        }
        return (g.names, n, m)
      }
      grams = []
      lastInput = []
      lastGram = -1
      return out
    }
  }

  func record(_ name: String, layer: Int?, _ x: [Float], rows: Int, cols: Int) throws {
    if stopsAfterGrams, let g = gramLayer, let layer, layer > g { throw Enough() }
    lock.locked {
      if let layer { layersSeen = max(layersSeen, layer + 1) }
      if recordsSquares { squares(name, x, rows: rows, cols: cols) }
      if let g = gramLayer, layer == g { gram(name, x, rows: rows, cols: cols) }
    }
  }

  func squares(_ name: String, _ x: [Float], rows: Int, cols: Int) {
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

  /// Adds xᵀx (one single-threaded ssyrk per call, summed in f64) to the
  /// Gram of this input; an input equal to the last one (q, k, v) adds
  /// its name to that Gram instead.
  func gram(_ name: String, _ x: [Float], rows: Int, cols: Int) {
    if lastGram >= 0, grams[lastGram].cols == cols, x == lastInput {
      if !grams[lastGram].names.contains(name) { grams[lastGram].names.append(name) }
      return
    }
    let k = grams.firstIndex { $0.names.contains(name) } ?? {
      grams.append(([name], cols, 0, [Double](repeating: 0, count: cols * cols)))
      return grams.count - 1
    }()
    guard grams[k].cols == cols, rows > 0 else { return }
    lastInput = x
    lastGram = k
    var batch = [Float](repeating: 0, count: cols * cols)
    x.withUnsafeBufferPointer { xp in
      batch.withUnsafeMutableBufferPointer { b in
        // C = XᵀX, upper triangle (row-major).
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(cols), Int32(rows), 1, xp.baseAddress, Int32(cols), 0, b.baseAddress, Int32(cols))
      }
    }
    grams[k].sum.withUnsafeMutableBufferPointer { s in
      for i in 0..<cols { for j in i..<cols { s[i * cols + j] += Double(batch[i * cols + j]) } }
    }
    grams[k].tokens += rows
  }
}
