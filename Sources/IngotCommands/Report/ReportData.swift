import IngotContainer
import IngotCore

/// What the page shows, gathered from the container and the JSON reports:
/// every number here is read, none is made up for the page.
struct ReportData {
  var file: String
  var fileSize: Int
  var header: ContainerHeader
  /// "verified", "valid, key not checked", "invalid: …" or "unsigned".
  var signature: (status: String, detail: String)
  /// Per tensor: payload bits per element, from the container.
  var bitsPerWeight: [(name: String, encoding: String, bits: Double)]
  var overallBitsPerWeight: Double
  var elements: Int
  /// The last quantize step's report (metrics.quantize), if any.
  var quantize: JSONValue?
  /// `validate --json`, or the last recorded validate step.
  var validation: (source: String, report: JSONValue)?
  /// `diff --json`.
  var diff: (source: String, report: JSONValue)?

  init(reader: ContainerReader, publicKey: [UInt8]?, validation: (String, JSONValue)?, diff: (String, JSONValue)?) {
    file = reader.path
    fileSize = reader.file.size
    header = reader.header
    if let json = header.signature {
      if let s = Signature(json: json) {
        if let problem = s.check(header, file: reader.path, expectedKey: publicKey) {
          signature = ("invalid", problem.description)
        } else {
          let who = "Ed25519 key " + Base64.encode(s.publicKey) + ", steps 1–\(s.signedSteps)"
          signature = publicKey != nil ? ("verified", who + " (the key given)") : ("valid, key not checked", who + " (no --public-key given)")
        }
      } else {
        signature = ("invalid", "the signature object is malformed")
      }
    } else {
      signature = ("unsigned", "no signature in the file")
    }
    var rows: [(String, String, Double)] = []
    var bits = 0, elements = 0
    for t in header.tensors {
      let n = elementCount(t.shape) ?? 0  // the reader proved it fits
      let payload = t.storage.chunks?.encodedLength ?? t.storage.length
      rows.append((t.name, t.encoding.kind, n > 0 ? Double(payload) * 8 / Double(n) : 0))
      bits += payload * 8
      elements += n
    }
    bitsPerWeight = rows.map { (name: $0.0, encoding: $0.1, bits: $0.2) }
    overallBitsPerWeight = elements > 0 ? Double(bits) / Double(elements) : 0
    self.elements = elements
    quantize = header.provenance.last { $0.operation == "quantize" }?.metrics["quantize"]
    if let validation {
      self.validation = validation
    } else if let i = header.provenance.lastIndex(where: { $0.operation == "validate" }), let v = header.provenance[i].metrics["validate"] {
      self.validation = ("recorded in step \(i + 1)", v)
    }
    self.diff = diff
  }
}
