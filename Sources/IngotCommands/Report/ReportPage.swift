import IngotCore

/// The HTML of `ingot report`: one self-contained page (inline CSS and SVG,
/// no script, no external request) in five sections.
enum ReportPage {
  static func render(_ d: ReportData) -> String {
    let sections = [identity(d), provenance(d), quantization(d), validation(d), lineage(d)]
    return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      + "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
      + "<title>\(HTML.text("ingot report: " + baseName(d.file)))</title><style>\(css)</style></head><body>"
      + "<h1>\(HTML.text(baseName(d.file)))</h1>" + sections.joined() + "</body></html>\n"
  }

  static let css = """
    body{font:14px/1.45 system-ui,sans-serif;color:#1d1d1f;max-width:1200px;margin:24px auto;padding:0 16px;background:#fff}
    h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
    code{font:12px ui-monospace,monospace;word-break:break-all}table{border-collapse:collapse}
    table.facts th{text-align:left;font-weight:600;padding:2px 14px 2px 0;vertical-align:top}table.facts td{padding:2px 0}
    table.list td,table.list th{border-bottom:1px solid #eee;padding:2px 10px 2px 0;text-align:left;vertical-align:top}
    .timeline{display:flex;flex-wrap:wrap;gap:10px;align-items:stretch}
    .step{border:1px solid #ccc;border-radius:6px;padding:8px 10px;flex:1 1 300px;background:#fafafa}
    .step h3{font-size:15px;margin:0 0 6px}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
    .chart{display:block;margin:6px 0 12px;overflow:visible}.chart .axis{font:10px system-ui,sans-serif;fill:#555}
    .chart .grid{stroke:#ddd;stroke-width:1}.legend span{display:inline-block;margin-right:14px}
    .swatch{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
    .scroll{overflow-x:auto}.muted{color:#666}ul.meta{margin:0;padding-left:18px}
    """

  static func status(_ ok: Bool, _ text: String) -> String { "<span class=\"\(ok ? "ok" : "bad")\">\(HTML.text(text))</span>" }

  // MARK: identity

  static func identity(_ d: ReportData) -> String {
    let (state, detail) = d.signature
    let signature = (state == "verified" || state.hasPrefix("valid") ? status(true, state) : state == "unsigned" ? HTML.text(state) : status(false, state))
      + " <span class=\"muted\">\(HTML.text(detail))</span>"
    return "<section id=\"identity\"><h2>Identity</h2>" + HTML.facts([
      ("model digest", HTML.element("code", [("id", "model-digest")], HTML.text(d.header.modelDigest))),
      ("provenance head", HTML.element("code", [("id", "provenance-head")], HTML.text(d.header.provenanceHead))),
      ("signature", HTML.element("span", [("id", "signature"), ("data-status", state)], signature)),
      ("file", HTML.text(d.file) + " · " + HTML.element("span", [("id", "file-size"), ("data-value", String(d.fileSize))], HTML.text(formatBytes(d.fileSize)))),
      ("tensors", HTML.element("span", [("id", "tensor-count")], String(d.header.tensors.count)) + " · \(d.elements) weights"),
      ("bits per weight", HTML.element("span", [("id", "bpw-overall"), ("data-value", HTML.exact(d.overallBitsPerWeight))], HTML.number(d.overallBitsPerWeight, 3))
        + " <span class=\"muted\">payload bits ÷ elements, every tensor</span>"),
    ] + modelFacts(d)) + "</section>"
  }

  /// What the config says the model is, and the metadata keys.
  static func modelFacts(_ d: ReportData) -> [(String, String)] {
    var rows: [(String, String)] = []
    if let text = d.header.metadata["files/config.json"], let c = try? JSONParser.parse(Array(text.utf8)) {
      let type = c["model_type"]?.stringValue ?? "?"
      let arch = c["architectures"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? ""
      rows.append(("model type", HTML.element("span", [("id", "model-type")], HTML.text(type)) + (arch.isEmpty ? "" : " · " + HTML.text(arch))))
    } else if let arch = d.header.metadata["gguf/general.architecture"] {
      rows.append(("model type", HTML.element("span", [("id", "model-type")], HTML.text(arch)) + " <span class=\"muted\">(GGUF)</span>"))
    }
    let meta = d.header.metadata.sorted { $0.key < $1.key }.map { k, v in
      "<li>" + HTML.code(k) + " " + HTML.text(k.hasPrefix("files/") ? "(\(formatBytes(v.utf8.count)) of text)" : String(v.prefix(80))) + "</li>"
    }
    if !meta.isEmpty { rows.append(("metadata", "<ul class=\"meta\">" + meta.joined() + "</ul>")) }
    return rows
  }

  // MARK: provenance

  static func provenance(_ d: ReportData) -> String {
    let steps = d.header.provenance
    var cards = ""
    for (i, s) in steps.enumerated() {
      var rows: [(String, String)] = [("tool", HTML.text("\(s.tool) \(s.toolVersion)"))]
      for (k, v) in s.parameters.sorted(by: { $0.key < $1.key }) { rows.append((k, HTML.text(v.stringValue ?? CanonicalJSON.string(v)))) }
      for input in s.inputs {
        rows.append(("input", HTML.text("\(input.path) (\(input.format), \(formatBytes(input.size)))") + "<br>" + HTML.code("sha256 " + input.sha256)))
      }
      rows += metricsSummary(s.metrics)
      let from = s.inputModelDigest.map { digest in
        i > 0 ? "<a href=\"#step-\(i)\">" + HTML.code(String(digest.prefix(16)) + "…") + "</a>" : HTML.code(String(digest.prefix(16)) + "…")
      } ?? "<span class=\"muted\">a foreign format</span>"
      rows.append(("from", from))
      let to = i + 1 < steps.count ? "<a href=\"#step-\(i + 2)\">" + HTML.code(s.modelDigest) + "</a>" : HTML.code(s.modelDigest)
      rows.append(("model digest", to))
      if let note = s.note { rows.append(("note", HTML.text(note))) }
      if let ts = s.timestamp { rows.append(("timestamp", HTML.text(ts))) }
      cards += HTML.element("div", [("class", "step"), ("id", "step-\(i + 1)"), ("data-operation", s.operation)],
        "<h3>\(i + 1). \(HTML.text(s.operation))</h3>" + HTML.facts(rows))
    }
    return "<section id=\"provenance\"><h2>Provenance</h2><div class=\"timeline\">\(cards)</div></section>"
  }

  /// The scalars of a step's metrics, one level down (quantize's summary,
  /// validate's verdict), so a card stays a card.
  static func metricsSummary(_ m: JSONValue) -> [(String, String)] {
    var rows: [(String, String)] = []
    let groups = (m.objectValue ?? [:]).sorted(by: { $0.key < $1.key })
    for (op, v) in groups {
      let inner = v["summary"]?.objectValue ?? v.objectValue ?? [:]
      // One group (the usual case): its keys alone; several: prefixed.
      func label(_ k: String) -> String { groups.count == 1 ? k : "\(op) \(k)" }
      for (k, x) in inner.sorted(by: { $0.key < $1.key }) {
        switch x {
        case .int(let n): rows.append((label(k), String(n)))
        case .double(let f): rows.append((label(k), HTML.number(f, 4)))
        case .bool(let b): rows.append((label(k), status(b, b ? "yes" : "no")))
        case .string(let s): rows.append((label(k), HTML.text(s)))
        default: continue
        }
      }
    }
    return rows
  }

  // MARK: quantization

  static func quantization(_ d: ReportData) -> String {
    var out = "<section id=\"quantization\"><h2>Quantization</h2>"
    let encodingOf = Dictionary(d.header.tensors.map { ($0.name, $0.encoding.kind) }, uniquingKeysWith: { a, _ in a })
    func ordered<T>(_ items: [T], _ name: (T) -> String) -> [T] {
      items.sorted {
        let a = Charts.place(name($0)), b = Charts.place(name($1))
        return (a.layer, a.order, name($0)) < (b.layer, b.order, name($1))
      }
    }
    if let q = d.quantize, let tensors = q["tensors"]?.arrayValue {
      let scheme = q["scheme"]?.stringValue ?? "?"
      let bars = ordered(tensors.compactMap { t -> Charts.Bar? in
        guard let name = t["name"]?.stringValue, let sqnr = t["sqnr_db"]?.doubleValue else { return nil }
        let p = Charts.place(name), enc = encodingOf[name] ?? "?"
        return Charts.Bar(name: name, group: p.group, label: p.label, value: sqnr, colour: Charts.colour(enc),
          tooltip: "\(name): \(HTML.number(sqnr, 2)) dB, \(t["scheme"]?.stringValue ?? enc)")
      }, \.name)
      out += "<p>Scheme <code>\(HTML.text(scheme))</code>: \(bars.count) tensors quantized"
      if let s = q["summary"] {
        out += ", SQNR median " + HTML.element("span", [("id", "sqnr-median"), ("data-value", HTML.exact(s["sqnr_db_median"]?.doubleValue ?? .nan))], HTML.number(s["sqnr_db_median"]?.doubleValue ?? .nan, 2))
          + " dB, min " + HTML.element("span", [("id", "sqnr-min"), ("data-value", HTML.exact(s["sqnr_db_min"]?.doubleValue ?? .nan))], HTML.number(s["sqnr_db_min"]?.doubleValue ?? .nan, 2)) + " dB"
      }
      out += ". Bars by block, in the order q, k, v, o, gate, up, down; hover for the value.</p>"
      out += "<h3>SQNR per tensor (dB)</h3><div class=\"scroll\">" + Charts.bars(bars, cls: "sqnr", unit: "dB") + "</div>"
      let kept = q["kept"]?.arrayValue ?? []
      if !kept.isEmpty {
        out += "<h3>Kept at their precision</h3><table class=\"list\" id=\"kept\"><tr><th>tensor</th><th>reason</th></tr>"
          + kept.map { "<tr><td>\(HTML.code($0["name"]?.stringValue ?? "?"))</td><td>\(HTML.text($0["reason"]?.stringValue ?? ""))</td></tr>" }.joined() + "</table>"
      }
    } else {
      out += "<p class=\"muted\">No quantize step in this file's provenance.</p>"
    }
    let bpw = ordered(d.bitsPerWeight, \.name).map { t in
      let p = Charts.place(t.name)
      return Charts.Bar(name: t.name, group: p.group, label: p.label, value: t.bits, colour: Charts.colour(t.encoding), tooltip: "\(t.name): \(HTML.number(t.bits, 3)) bits per weight, \(t.encoding)")
    }
    let encodings = Set(d.bitsPerWeight.map(\.encoding)).sorted()
    out += "<h3>Bits per weight per tensor</h3><div class=\"legend\">" + encodings.map { "<span><i class=\"swatch\" style=\"background:\(Charts.colour($0))\"></i>\(HTML.text($0))</span>" }.joined() + "</div>"
    out += "<div class=\"scroll\">" + Charts.bars(bpw, cls: "bpw", unit: "bits/weight", height: 120) + "</div>"
    return out + "</section>"
  }

  // MARK: validation

  static func validation(_ d: ReportData) -> String {
    var out = "<section id=\"validation\"><h2>Validation</h2>"
    guard let (source, v) = d.validation else {
      return out + "<p class=\"muted\">Not validated: pass --validate-json (from <code>ingot validate --json</code>), --base, or record a validation with <code>ingot validate --record</code>.</p></section>"
    }
    let m = v["metrics"]?.objectValue ?? [:]
    let passed = v["passed"]?.boolValue ?? false
    out += "<p>" + HTML.element("span", [("id", "validation-verdict"), ("data-passed", passed ? "true" : "false")], status(passed, passed ? "passed" : "failed"))
      + " <span class=\"muted\">(\(HTML.text(source)); \(v["sequences"]?.intValue ?? 0) sequences, \(v["tokens"]?.intValue ?? 0) tokens)</span></p>"
    for f in v["failures"]?.arrayValue ?? [] { out += "<p class=\"bad\">\(HTML.text(f.stringValue ?? ""))</p>" }
    var rows: [(String, String)] = []
    for (k, x) in m.sorted(by: { $0.key < $1.key }) {
      guard let f = x.doubleValue else { continue }
      rows.append((k, HTML.element("span", [("class", "metric"), ("data-metric", k), ("data-value", HTML.exact(f))], HTML.number(f, 6))))
    }
    rows.append(("perplexity", "<span class=\"muted\">not measured: validate reports KLD and agreement, not perplexity</span>"))
    out += HTML.facts(rows)
    let points = [("median", "kld_median"), ("mean", "kld_mean"), ("p99", "kld_p99"), ("max", "kld_max")].compactMap { label, key in
      m[key]?.doubleValue.map { (label: label, value: $0) }
    }
    out += "<h3>KLD per token (nats), percentiles</h3>" + Charts.strip(points, cls: "kld")
    return out + "</section>"
  }

  // MARK: lineage

  static func lineage(_ d: ReportData) -> String {
    var out = "<section id=\"lineage\"><h2>Lineage</h2>"
    guard let (source, r) = d.diff else {
      return out + "<p class=\"muted\">No diff: pass --diff-json (from <code>ingot diff A B --json</code>) or --base.</p></section>"
    }
    let verdict = r["verdict"]?.stringValue ?? "?"
    out += "<p>Verdict: " + HTML.element("strong", [("id", "verdict")], HTML.text(verdict)) + " <span class=\"muted\">(\(HTML.text(source)))</span></p>"
    for reason in r["decided_by"]?.arrayValue ?? [] { out += "<p>decided by: \(HTML.text(reason.stringValue ?? ""))</p>" }
    if let reason = r["reason"]?.stringValue { out += "<p>\(HTML.text(reason))</p>" }
    if let b = r["baselines"]?.objectValue {
      var rows: [(String, String)] = []
      for (k, v) in b.sorted(by: { $0.key < $1.key }) {
        switch v {
        case .int(let n): rows.append((k, String(n)))
        case .double(let f): rows.append((k, HTML.element("span", [("class", "baseline"), ("data-key", k), ("data-value", HTML.exact(f))], HTML.number(f, 4))))
        default: continue
        }
      }
      out += "<h3>Baselines</h3>" + HTML.facts(rows)
    }
    // Centred similarity (Pearson) of matched block matrices, layer × role.
    var cells: [String: (Double, String)] = [:]
    var layers = Set<Int>(), roles: [String: Int] = [:]
    for p in r["pairs"]?.arrayValue ?? [] {
      guard let name = p["name"]?.stringValue, let v = p["pearson"]?.doubleValue else { continue }
      let place = Charts.place(name)
      // Block matrices only: norm gains correlate for any two models.
      guard place.layer >= 0, place.order < Charts.roleOrder.count else { continue }
      layers.insert(place.layer)
      roles[place.label] = min(roles[place.label] ?? Int.max, place.order)
      cells["\(place.layer)/\(place.label)"] = (v, name)
    }
    if !cells.isEmpty {
      let rows = layers.sorted(), columns = roles.keys.sorted { (roles[$0] ?? 0, $0) < (roles[$1] ?? 0, $1) }
      out += "<h3>Centred similarity of matched layers</h3><p class=\"muted\">Pearson correlation of each block matrix with its counterpart; blue −1, white 0, red 1.</p>"
      out += Charts.heatmap(rows: rows.map { "layer \($0)" }, columns: columns, value: { i, j in cells["\(rows[i])/\(columns[j])"] }, cls: "cell")
    }
    for c in r["caveats"]?.arrayValue ?? [] { out += "<p class=\"muted\">caveat: \(HTML.text(c.stringValue ?? ""))</p>" }
    return out + "</section>"
  }
}
