import IngotCore
import IngotPipeline
import IngotContainer
import IngotFormats

/// `ingot inspect`: what a file holds. Works on `.ingot` and on any foreign
/// format a TensorSource reads, without converting it.
public struct InspectAction: Sendable {
  public var paths: [String]
  public init(paths: [String]) { self.paths = paths }

  public func json() throws -> JSONValue {
    let source = try Inputs.open(paths)
    if let reader = source as? ContainerReader {
      return [
        "file": .string(reader.path), "format": "ingot", "size": .int(Int64(reader.file.size)),
        "format_version": .ints([Int(reader.preamble.major), Int(reader.preamble.minor)]),
        "header": reader.header.json,
      ]
    }
    return [
      "file": .string(paths.joined(separator: " ")), "format": .string(source.format),
      "metadata": .object(source.metadata.mapValues { .string($0) }),
      "tensors": .array(source.tensors.map {
        ["name": .string($0.name), "dtype": .string($0.dtype.rawValue), "shape": .ints($0.shape), "bytes": .int(Int64($0.byteCount))]
      }),
      "files": .array(source.files.map { ["path": .string($0.recordedPath), "format": .string($0.format), "size": .int(Int64($0.size))] }),
    ]
  }

  public func text() throws -> String {
    let source = try Inputs.open(paths)
    var out: [String] = []
    let tensors = source.tensors
    let total = tensors.reduce(0) { $0 + $1.byteCount }
    if let reader = source as? ContainerReader {
      let h = reader.header
      out.append("file             \(reader.path) (.ingot \(reader.preamble.major).\(reader.preamble.minor), \(formatBytes(reader.file.size)))")
      out.append("model digest     \(h.modelDigest)")
      out.append("provenance head  \(h.provenanceHead)")
      if !h.requiredFeatures.isEmpty { out.append("features         \(h.requiredFeatures.joined(separator: ", "))") }
    } else {
      out.append("file             \(paths.joined(separator: " ")) (\(source.format), not converted)")
    }
    let entries = (source as? ContainerReader)?.header.tensors
    let stored = entries?.reduce(0) { $0 + $1.storage.length } ?? total
    out.append("tensors          \(tensors.count), \(formatBytes(total))" + (stored != total ? " (\(formatBytes(stored)) stored, zstd)" : ""))
    if !source.metadata.isEmpty {
      out.append("metadata")
      for (k, v) in source.metadata.sorted(by: { $0.key < $1.key }) {
        let shown = k.hasPrefix("files/") ? "(\(formatBytes(v.utf8.count)) of text)" : String(v.prefix(60))
        out.append("  \(terminalSafe(k))  \(terminalSafe(shown))")
      }
    }
    let compressed = entries?.contains { $0.storage.chunks != nil } ?? false
    var rows = [["NAME", "DTYPE", "SHAPE", "ENCODING", "BYTES"] + (compressed ? ["STORED"] : []) + ["DIGEST"]]
    for (i, t) in tensors.enumerated() {
      let shape: String = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
      // A ggml tensor shows its block type (ggml Q4_K), the rest their kind.
      let encoding = t.encoding.parameters["type"]?.stringValue.map { "\(t.encoding.kind) \($0)" } ?? t.encoding.kind
      var row: [String] = [terminalSafe(t.name), t.dtype.rawValue, shape, terminalSafe(encoding), String(t.byteCount)]
      if compressed { row.append(entries.map { String($0[i].storage.length) } ?? "-") }
      row.append(entries.map { String($0[i].digest.prefix(16)) } ?? "-")
      rows.append(row)
    }
    out.append(contentsOf: alignedTable(rows).map { "  " + $0 })
    if !source.provenance.isEmpty {
      out.append("provenance")
      for (i, step) in source.provenance.enumerated() {
        let params = CanonicalJSON.string(.object(step.parameters))
        out.append("  \(i + 1). \(step.operation) by \(step.tool) \(step.toolVersion) \(params)")
        for input in step.inputs {
          out.append("       input \(input.path) (\(input.format), \(input.size) B) sha256 \(input.sha256)")
        }
        out.append("       produced model digest \(step.modelDigest)")
        if let note = step.note { out.append("       note: \(note)") }
        if let ts = step.timestamp { out.append("       timestamp: \(ts)") }
      }
    }
    // Each line escaped on its own: a newline inside a name stays inside its line.
    return out.map { terminalSafe($0) }.joined(separator: "\n")
  }
}

/// Left-aligned columns separated by two spaces.
func alignedTable(_ rows: [[String]]) -> [String] {
  guard let width = rows.first?.count else { return [] }
  var widths = Array(repeating: 0, count: width)
  for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
  return rows.map { row in
    row.enumerated().map { i, cell in
      i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
    }.joined(separator: "  ")
  }
}
