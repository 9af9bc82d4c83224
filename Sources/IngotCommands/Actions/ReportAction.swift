import IngotContainer
import IngotCore

/// `ingot report`: one self-contained HTML page of a container (identity,
/// provenance, quantization error, validation, lineage), from the file and
/// the JSON reports it is given. With `base`, validate and diff run against
/// it for the sections no JSON was given for.
public struct ReportAction: Sendable {
  public var model: String
  public var output: String
  public var base: String?
  public var validateJSON: String?
  public var diffJSON: String?
  public var publicKey: String?
  public var force = false
  public var verify = true

  public init(model: String, output: String, base: String? = nil, validateJSON: String? = nil, diffJSON: String? = nil, publicKey: String? = nil) {
    self.model = model
    self.output = output
    self.base = base
    self.validateJSON = validateJSON
    self.diffJSON = diffJSON
    self.publicKey = publicKey
  }

  static func readJSON(_ path: String) throws -> JSONValue {
    let file = try MappedFile(path: path)
    do { return try JSONParser.parse(file.all) } catch { throw ReportError.notJSON(file: path, reason: error.description) }
  }

  /// The page, without writing it.
  public func html() throws -> String {
    let reader = try ContainerReader(path: model)
    var validation = try validateJSON.map { ("from \(baseName($0))", try Self.readJSON($0)) }
    var diff = try diffJSON.map { ("from \(baseName($0))", try Self.readJSON($0)) }
    if let base {
      if validation == nil {
        var v = ValidateAction(base: base, candidate: model)
        v.verify = verify
        validation = ("validated against \(baseName(base))", try v.run().json)
      }
      if diff == nil {
        var a = DiffAction(a: [base], b: [model])
        a.verify = verify
        diff = ("diffed against \(baseName(base))", try a.run())
      }
    }
    let key = try publicKey.map(KeyFiles.publicKey)
    return ReportPage.render(ReportData(reader: reader, publicKey: key, validation: validation, diff: diff))
  }

  public func run() throws -> (path: String, bytes: Int) {
    let page = Array(try html().utf8)
    let file = try AtomicFile(path: output, inputs: [model] + [base, validateJSON, diffJSON].compactMap { $0 }, force: force)
    try file.write(page, at: 0)
    try file.commit()
    return (output, page.count)
  }
}
