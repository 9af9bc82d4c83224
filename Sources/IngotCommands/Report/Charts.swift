import IngotArchitectures

#if canImport(Glibc)
  import Glibc
#endif

/// Inline SVG charts: no script, no external request. Each mark carries its
/// value in a `data-` attribute (exactly as the report holds it) and a
/// `<title>` the browser shows on hover.
enum Charts {
  /// One bar of a grouped bar chart.
  struct Bar {
    var name: String
    var group: String
    var label: String
    var value: Double
    var colour: String
    var tooltip: String
  }

  /// Short labels for the block roles, in the order bars are drawn.
  static let roleOrder: [TensorRole] = [.attnQ, .attnK, .attnV, .attnQKV, .attnOutput, .ffnGate, .ffnUp, .ffnDown]
  static func roleLabel(_ r: TensorRole) -> String {
    switch r {
    case .attnQ: "q"
    case .attnK: "k"
    case .attnV: "v"
    case .attnQKV: "qkv"
    case .attnOutput: "o"
    case .ffnGate: "gate"
    case .ffnUp: "up"
    case .ffnDown: "down"
    default: r.rawValue
    }
  }

  /// Where a tensor goes on a chart: its block ("layer 3", or "other") and
  /// a sort key that puts roles in `roleOrder`.
  static func place(_ name: String) -> (group: String, layer: Int, order: Int, label: String) {
    if let r = Architectures.role(of: name) {
      let order = roleOrder.firstIndex(of: r.role) ?? roleOrder.count
      if let layer = r.layer { return ("layer \(layer)", layer, order, roleLabel(r.role)) }
      return ("other", -1, order, roleLabel(r.role))
    }
    if let (layer, rest) = Architectures.block(name) { return ("layer \(layer)", layer, roleOrder.count + 1, rest) }
    return ("other", -1, roleOrder.count + 1, name)
  }

  /// Vertical bars grouped left to right, a gap between groups, the group
  /// name under each; `cls` names the marks (tests count them).
  static func bars(_ bars: [Bar], cls: String, unit: String, height: Int = 180) -> String {
    guard !bars.isEmpty else { return "" }
    let top = max(bars.map(\.value).filter(\.isFinite).max() ?? 1, 1e-9)
    let (w, gap, left, bottom) = (7, 10, 46, 34)
    var x = left
    var marks = "", labels = ""
    var lastGroup: String? = nil
    var groupStart = left
    func closeGroup(_ g: String, _ end: Int) {
      let mid = (groupStart + end) / 2
      labels += "<text class=\"axis\" x=\"\(mid)\" y=\"\(height + 14)\" text-anchor=\"middle\">\(HTML.text(g))</text>"
    }
    for b in bars {
      if let g = lastGroup, g != b.group {
        closeGroup(g, x)
        x += gap
        groupStart = x
      }
      lastGroup = b.group
      let v = b.value.isFinite ? max(b.value, 0) : 0
      let h = Int((v / top * Double(height - 10)).rounded())
      marks += "<rect class=\(HTML.attribute(cls)) x=\"\(x)\" y=\"\(height - h)\" width=\"\(w - 1)\" height=\"\(h)\" fill=\"\(b.colour)\""
        + " data-tensor=\(HTML.attribute(b.name)) data-value=\"\(HTML.exact(b.value))\"><title>\(HTML.text(b.tooltip))</title></rect>"
      x += w
    }
    if let g = lastGroup { closeGroup(g, x) }
    let width = x + 10
    let ticks = [0.0, 0.5, 1.0].map { f in
      let y = Double(height) - f * Double(height - 10)
      return "<line class=\"grid\" x1=\"\(left - 4)\" x2=\"\(width)\" y1=\"\(HTML.number(y, 1))\" y2=\"\(HTML.number(y, 1))\"/>"
        + "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(HTML.number(y + 4, 1))\" text-anchor=\"end\">\(HTML.number(f * top, 1))</text>"
    }.joined()
    return "<svg class=\"chart\" width=\"\(width)\" height=\"\(height + bottom)\" viewBox=\"0 0 \(width) \(height + bottom)\" role=\"img\" aria-label=\(HTML.attribute(cls + " in " + unit))>"
      + ticks + marks + labels + "<text class=\"axis\" x=\"2\" y=\"\(height + 28)\">\(HTML.text(unit))</text></svg>"
  }

  /// Values on one logarithmic axis (KLD percentiles): a dot and a label each.
  static func strip(_ points: [(label: String, value: Double)], cls: String) -> String {
    let positive = points.filter { $0.value > 0 && $0.value.isFinite }
    guard !positive.isEmpty else { return "" }
    let lo = (positive.map(\.value).min() ?? 1e-6).log10Floor, hi = (positive.map(\.value).max() ?? 1).log10Ceil
    let span = max(hi - lo, 1)
    let (width, left) = (640, 30)
    func x(_ v: Double) -> Double { Double(left) + (log10(v) - Double(lo)) / Double(span) * Double(width - 2 * left) }
    var out = "<svg class=\"chart\" width=\"\(width)\" height=\"86\" viewBox=\"0 0 \(width) 86\" role=\"img\" aria-label=\(HTML.attribute(cls))>"
    out += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width - left)\" y1=\"40\" y2=\"40\"/>"
    for e in lo...(lo + span) {
      let tx = HTML.number(x(pow(10, Double(e))), 1)
      out += "<line class=\"grid\" x1=\"\(tx)\" x2=\"\(tx)\" y1=\"35\" y2=\"45\"/><text class=\"axis\" x=\"\(tx)\" y=\"60\" text-anchor=\"middle\">1e\(e)</text>"
    }
    for (i, p) in positive.enumerated() {
      let px = HTML.number(x(p.value), 1)
      out += "<circle class=\(HTML.attribute(cls)) cx=\"\(px)\" cy=\"40\" r=\"5\" data-label=\(HTML.attribute(p.label)) data-value=\"\(HTML.exact(p.value))\"><title>\(HTML.text(p.label)): \(HTML.exact(p.value))</title></circle>"
      out += "<text class=\"axis\" x=\"\(px)\" y=\"\(i % 2 == 0 ? 24 : 78)\" text-anchor=\"middle\">\(HTML.text(p.label))</text>"
    }
    return out + "</svg>"
  }

  /// Rows × columns of cells coloured by a value in [-1, 1].
  static func heatmap(rows: [String], columns: [String], value: (Int, Int) -> (Double, String)?, cls: String) -> String {
    let (cell, left, top) = (22, 70, 22)
    let width = left + columns.count * cell + 10, height = top + rows.count * cell + 10
    var out = "<svg class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\(HTML.attribute(cls))>"
    for (j, c) in columns.enumerated() {
      out += "<text class=\"axis\" x=\"\(left + j * cell + cell / 2)\" y=\"14\" text-anchor=\"middle\">\(HTML.text(c))</text>"
    }
    for (i, r) in rows.enumerated() {
      out += "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(top + i * cell + 15)\" text-anchor=\"end\">\(HTML.text(r))</text>"
      for j in columns.indices {
        guard let (v, name) = value(i, j) else { continue }
        out += "<rect class=\(HTML.attribute(cls)) x=\"\(left + j * cell)\" y=\"\(top + i * cell)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"\(diverging(v))\""
          + " data-tensor=\(HTML.attribute(name)) data-value=\"\(HTML.exact(v))\"><title>\(HTML.text(name)): \(HTML.number(v, 4))</title></rect>"
      }
    }
    return out + "</svg>"
  }

  /// Blue for -1, white for 0, red for 1.
  static func diverging(_ v: Double) -> String {
    let t = max(-1, min(1, v.isFinite ? v : 0))
    func hex(_ x: Double) -> String {
      let n = Int((x * 255).rounded())
      return (n < 16 ? "0" : "") + String(n, radix: 16)
    }
    let (r, g, b) = t >= 0 ? (1.0, 1 - t * 0.8, 1 - t * 0.8) : (1 + t * 0.8, 1 + t * 0.8, 1.0)
    return "#" + hex(r) + hex(g) + hex(b)
  }

  /// A colour per encoding, stable across reports.
  static func colour(_ encoding: String) -> String {
    let palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d"]
    let known = ["raw", "int8_channel", "int8_block", "int4_group"]
    if let i = known.firstIndex(of: encoding) { return palette[i] }
    let h = encoding.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF }
    return palette[h % palette.count]
  }
}

extension Double {
  var log10Floor: Int { Int(log10(self).rounded(.down)) }
  var log10Ceil: Int { Int(log10(self).rounded(.up)) }
}
