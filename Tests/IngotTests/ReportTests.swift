import CZlib
import Foundation
import IngotCommands
import IngotContainer
import IngotCore
import IngotTestSupport
import Testing

/// `ingot report`, rendered by the real thing: headless Chromium (Debian's
/// `chromium`, which tools/test installs). Without it, the browser checks
/// are skipped and say so; the HTML checks still run.
@Suite struct ReportTests {
  static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

  /// tiny-llama converted, quantized (int4), validated (recorded), signed;
  /// its diff against the base as JSON.
  func fixture(_ tmp: TempDir) throws -> (model: String, base: String, diff: String, key: String) {
    _ = try convertFixture("models/tiny-llama", into: tmp, as: "base.ingot")
    _ = try QuantizeAction(sources: [tmp.file("base.ingot")], output: tmp.file("q.ingot"), scheme: .int4()).run()
    let v = ValidateAction(base: tmp.file("base.ingot"), candidate: tmp.file("q.ingot"))
    _ = try v.record(try v.run())
    _ = try KeyFiles.generate(to: tmp.file("key"), force: false)
    _ = try SignAction(path: tmp.file("q.ingot"), keyPath: tmp.file("key")).run()
    let diff = try DiffAction(a: [tmp.file("base.ingot")], b: [tmp.file("q.ingot")]).run()
    try writeFile(tmp.file("diff.json"), CanonicalJSON.encode(diff))
    return (tmp.file("q.ingot"), tmp.file("base.ingot"), tmp.file("diff.json"), tmp.file("key.pub"))
  }

  /// (data-tensor, data-value) of every mark of class `cls`.
  func marks(_ html: String, _ cls: String) -> [(String, Double)] {
    let pattern = try! NSRegularExpression(pattern: "class=\"\(cls)\"[^>]*?data-tensor=\"([^\"]*)\" data-value=\"([^\"]*)\"")  // audited: a literal pattern
    let ns = html as NSString
    return pattern.matches(in: html, range: NSRange(location: 0, length: ns.length)).map {
      (unescape(ns.substring(with: $0.range(at: 1))), Double(ns.substring(with: $0.range(at: 2))) ?? .nan)
    }
  }

  func unescape(_ s: String) -> String {
    s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
      .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
  }

  func attribute(_ html: String, id: String, _ name: String = "data-value") -> String? {
    guard let r = html.range(of: "id=\"\(id)\"") else { return nil }
    let tail = html[r.upperBound...].prefix(400)
    guard let a = tail.range(of: "\(name)=\"") else { return nil }
    return String(tail[a.upperBound...].prefix { $0 != "\"" })
  }

  func text(_ html: String, id: String) -> String? {
    guard let r = html.range(of: "id=\"\(id)\"") , let close = html[r.upperBound...].firstIndex(of: ">") else { return nil }
    return String(html[html.index(after: close)...].prefix { $0 != "<" })
  }

  @Test func theNumbersShownAreTheContainersAndTheReports() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let f = try fixture(tmp)
    let html = try ReportAction(model: f.model, output: tmp.file("r.html"), diffJSON: f.diff, publicKey: f.key).html()
    let inspect = try run(ingotBinary(), ["inspect", "--json", f.model])
    let header = try JSONParser.parse(Array(inspect.stdout.utf8))["header"]
    #expect(text(html, id: "model-digest") == header?["model_digest"]?.stringValue)
    #expect(text(html, id: "provenance-head") == header?["provenance_head"]?.stringValue)
    #expect(text(html, id: "tensor-count") == header?["tensors"]?.arrayValue.map { String($0.count) })
    #expect(attribute(html, id: "signature", "data-status") == "verified")
    #expect(attribute(html, id: "file-size") == String(try ContainerReader(path: f.model).file.size))
    // Every quantized tensor's SQNR, bit for bit from the quantization report.
    let steps = header?["provenance"]?.arrayValue ?? []
    let quant = steps.first { $0["operation"]?.stringValue == "quantize" }?["metrics"]?["quantize"]
    var expected: [String: Double] = [:]
    for t in quant?["tensors"]?.arrayValue ?? [] { if let n = t["name"]?.stringValue, let s = t["sqnr_db"]?.doubleValue { expected[n] = s } }
    let shown = marks(html, "sqnr")
    #expect(shown.count == expected.count && !expected.isEmpty)
    for (name, value) in shown { #expect(expected[name] == value, "\(name)") }
    #expect(Double(attribute(html, id: "sqnr-median") ?? "") == quant?["summary"]?["sqnr_db_median"]?.doubleValue)
    // Bits per weight per tensor: payload bits over elements.
    let reader = try ContainerReader(path: f.model)
    let bpw = Dictionary(uniqueKeysWithValues: marks(html, "bpw"))
    #expect(bpw.count == reader.header.tensors.count)
    for t in reader.header.tensors {
      let n = t.shape.reduce(1, *)
      #expect(bpw[t.name] == Double(t.storage.length * 8) / Double(n), "\(t.name)")
    }
    // The recorded validation and the diff's similarities.
    let validate = steps.last { $0["operation"]?.stringValue == "validate" }?["metrics"]?["validate"]?["metrics"]
    for key in ["kld_mean", "kld_p99", "top1_agreement_pct"] {
      let pattern = "data-metric=\"\(key)\" data-value=\""
      let value = html.range(of: pattern).map { String(html[$0.upperBound...].prefix { $0 != "\"" }) }
      #expect(value.flatMap(Double.init) == validate?[key]?.doubleValue, "\(key)")
    }
    let diff = try JSONParser.parse(try readFile(f.diff))
    let pearson = Dictionary(uniqueKeysWithValues: (diff["pairs"]?.arrayValue ?? []).compactMap { p in p["name"]?.stringValue.flatMap { n in p["pearson"]?.doubleValue.map { (n, $0) } } })
    let cells = marks(html, "cell")
    #expect(cells.count == 14)  // 2 layers × q, k, v, o, gate, up, down
    for (name, v) in cells { #expect(pearson[name] == v, "\(name)") }
    #expect(text(html, id: "verdict") == diff["verdict"]?.stringValue)
  }

  @Test func namesFromTheModelRunNothing() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let evilName = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>"
    let header = CanonicalJSON.encode(["__metadata__": ["note": .string("\"><img src=x onerror=alert(3)>")], evilName: ["dtype": "F32", "shape": .ints([2, 2]), "data_offsets": .ints([0, 16])]])
    try writeFile(tmp.file("e.safetensors"), withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + [UInt8](repeating: 0, count: 16))
    _ = try ConvertAction(sources: [tmp.file("e.safetensors")], output: tmp.file("e.ingot")).run()
    let html = try ReportAction(model: tmp.file("e.ingot"), output: tmp.file("e.html")).html()
    #expect(!html.contains("<script") && !html.contains("<img"))
    #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    guard let chromium = Self.chromium else {
      print("skipped: chromium is not installed (tools/test installs it)")
      return
    }
    try writeFile(tmp.file("e.html"), Array(html.utf8))
    let dom = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + tmp.file("e.html")])
    #expect(dom.status == 0)
    #expect(!dom.stdout.contains("<script") && !dom.stdout.contains("<img"))
  }

  @Test func chromiumRendersTheChartsAndThePageIsNotBlank() throws {
    guard let chromium = Self.chromium else {
      print("skipped: chromium is not installed (tools/test installs it)")
      return
    }
    let tmp = TempDir()
    defer { tmp.cleanup() }
    let f = try fixture(tmp)
    var action = ReportAction(model: f.model, output: tmp.file("r.html"), diffJSON: f.diff, publicKey: f.key)
    action.force = true
    _ = try action.run()
    let dom = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + tmp.file("r.html")])
    try #require(dom.status == 0, "\(dom.stderr)")
    func count(_ s: String) -> Int { dom.stdout.components(separatedBy: s).count - 1 }
    #expect(count("<svg") == 4)  // SQNR bars, bits-per-weight bars, KLD strip, similarity heatmap
    #expect(count("class=\"sqnr\"") == 14)
    #expect(count("class=\"bpw\"") == 21)
    #expect(count("class=\"kld\"") == 4)
    #expect(count("class=\"cell\"") == 14)
    #expect(count("class=\"step\"") == 3)  // convert, quantize, validate (signing adds no step)
    let shot = tmp.file("r.png")
    let r = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2400", "--screenshot=" + shot, "file://" + tmp.file("r.html")])
    try #require(r.status == 0, "\(r.stderr)")
    let (w, h, pixels) = try PNG.decode(try readFile(shot))
    #expect(w == 1280 && h == 2400)
    let background = pixels.filter { $0 == 0xFFFFFF }.count
    let colours = Set(pixels).count
    #expect(Double(pixels.count - background) / Double(pixels.count) > 0.02, "the page is (nearly) blank")
    #expect(colours > 20)
  }

  /// A 300-tensor Llama-shaped model (42 blocks of seven matrices, six
  /// more), quantized: the page stays under 2 MB, and Chromium renders it in
  /// under 2 s beyond what it takes for an empty page.
  @Test func aThreeHundredTensorReportIsSmallAndFast() throws {
    let tmp = TempDir()
    defer { tmp.cleanup() }
    var header: [String: JSONValue] = [:], data: [UInt8] = []
    var names = ["model.norm.weight", "model.embed_tokens.weight", "lm_head.weight", "x.a.weight", "x.b.weight", "x.c.weight"]
    for l in 0..<42 {
      for p in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"] {
        names.append("model.layers.\(l).\(p).weight")
      }
    }
    var rng = SplitMix64(seed: 300)
    for n in names {
      let vector = n.hasSuffix("norm.weight") || n.hasPrefix("x.")
      let count = vector ? 32 : 32 * 32
      let bytes = (0..<count).flatMap { _ in withUnsafeBytes(of: (Float(Int(rng.next() % 2001)) / 1000 - 1).bitPattern.littleEndian) { Array($0) } }
      header[n] = ["dtype": "F32", "shape": .ints(vector ? [32] : [32, 32]), "data_offsets": .ints([data.count, data.count + bytes.count])]
      data += bytes
    }
    #expect(names.count == 300)
    let h = CanonicalJSON.encode(.object(header))
    try writeFile(tmp.file("m.safetensors"), withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + data)
    _ = try ConvertAction(sources: [tmp.file("m.safetensors")], output: tmp.file("m.ingot")).run()
    _ = try QuantizeAction(sources: [tmp.file("m.ingot")], output: tmp.file("q.ingot"), scheme: .int4()).run()
    var action = ReportAction(model: tmp.file("q.ingot"), output: tmp.file("r.html"))
    action.force = true
    let r = try action.run()
    #expect(r.bytes < 2 << 20, "\(r.bytes) bytes")
    guard let chromium = Self.chromium else {
      print("skipped: chromium is not installed (tools/test installs it)")
      return
    }
    try writeFile(tmp.file("empty.html"), Array("<!DOCTYPE html><title>x</title>".utf8))
    func seconds(_ page: String) throws -> Double {
      let start = DispatchTime.now().uptimeNanoseconds
      let out = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400", "--screenshot=" + tmp.file("s.png"), "file://" + page])
      #expect(out.status == 0)
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    _ = try seconds(tmp.file("empty.html"))  // the first start warms the caches
    let empty = try seconds(tmp.file("empty.html")), report = try seconds(tmp.file("r.html"))
    print("report of 300 tensors: \(r.bytes) bytes, rendered in \(report) s (an empty page: \(empty) s)")
    #expect(report - empty < 2, "rendering took \(report - empty) s beyond an empty page")
  }
}

/// Just enough PNG (8-bit RGB or RGBA, no interlace) to look at a screenshot.
enum PNG {
  struct Failure: Error {}

  static func decode(_ bytes: [UInt8]) throws -> (Int, Int, [UInt32]) {
    func be(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
    var at = 8, width = 0, height = 0, channels = 0, idat: [UInt8] = []
    while at + 8 <= bytes.count {
      let n = be(at), type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
      let data = Array(bytes[(at + 8)..<(at + 8 + n)])
      if type == "IHDR" {
        (width, height) = (be(at + 8), be(at + 12))
        guard data[8] == 8, data[12] == 0 else { throw Failure() }
        channels = data[9] == 6 ? 4 : data[9] == 2 ? 3 : 0
      }
      if type == "IDAT" { idat += data }
      at += 12 + n
    }
    guard channels > 0 else { throw Failure() }
    let stride = width * channels
    var raw = [UInt8](repeating: 0, count: (stride + 1) * height)
    var size = uLongf(raw.count)
    guard uncompress(&raw, &size, idat, uLong(idat.count)) == Z_OK else { throw Failure() }
    var pixels = [UInt32](), prev = [UInt8](repeating: 0, count: stride)
    pixels.reserveCapacity(width * height)
    for y in 0..<height {
      let filter = raw[y * (stride + 1)]
      var line = Array(raw[(y * (stride + 1) + 1)..<((y + 1) * (stride + 1))])
      for x in 0..<stride {
        let a = x >= channels ? Int(line[x - channels]) : 0, b = Int(prev[x]), c = x >= channels ? Int(prev[x - channels]) : 0
        let add: Int
        switch filter {
        case 1: add = a
        case 2: add = b
        case 3: add = (a + b) / 2
        case 4:
          let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
          add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
        default: add = 0
        }
        line[x] = UInt8(truncatingIfNeeded: Int(line[x]) + add)
      }
      for x in 0..<width { pixels.append(UInt32(line[x * channels]) << 16 | UInt32(line[x * channels + 1]) << 8 | UInt32(line[x * channels + 2])) }
      prev = line
    }
    return (width, height, pixels)
  }
}
